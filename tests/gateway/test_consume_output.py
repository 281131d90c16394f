"""Where the reference consumer writes: a file made durable, or a device that cannot be."""

from __future__ import annotations

from pathlib import Path

from gateway.central.output import JsonLinesOutput


def test_lines_reach_a_regular_file_and_sync_makes_them_durable(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    out = JsonLinesOutput(path)
    out.write_line(b'{"id":"a"}')
    out.write_line(b'{"id":"b"}')
    out.sync()
    out.close()
    assert path.read_bytes() == b'{"id":"a"}\n{"id":"b"}\n'


def test_dev_null_is_accepted_though_it_cannot_be_fsynced() -> None:
    # `--out /dev/null` (the bench, a throughput test) once died at start: fsync gives EINVAL.
    out = JsonLinesOutput(Path("/dev/null"))
    out.write_line(b'{"id":"a"}')
    out.sync()
    out.close()
