"""The harness reads the consumer's output while the consumer is still writing it."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import GrowingJsonLines


def test_a_line_caught_mid_write_is_parsed_once_it_is_complete(tmp_path: Path) -> None:
    path = tmp_path / "central.jsonl"
    output = GrowingJsonLines(path)
    assert output.poll() == []
    with path.open("a", encoding="utf-8") as writer:
        writer.write('{"id": "a"}\n{"id": "b", "s')
        writer.flush()
        assert output.poll() == [{"id": "a"}]
        writer.write('eq": 2}\n')
        writer.flush()
        assert output.poll() == [{"id": "a"}, {"id": "b", "seq": 2}]
