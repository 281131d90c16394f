"""The reject archive: never blocks its caller, coalesces bursts, stays in budget, owner-only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.reject_records import read_records
from gateway.rejects import RejectArchive
from tests.e2e.harness import wait_for

KIB = 1024


def disk_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def test_keep_never_waits_for_the_writer(tmp_path: Path) -> None:
    # The writer thread not running is the worst case of a slow disk: every keep() must
    # still return at once, and what does not fit the queue is counted, not waited for.
    archive = RejectArchive(
        tmp_path / "rejected", budget_bytes=KIB * KIB, queue_size=8, start=False
    )
    noise = os.urandom(64 * KIB)
    for _ in range(10_000):
        archive.keep("astm-1", "bad checksum", noise)
    assert archive.unkept == 10_000 - 8
    archive.start()
    archive.close()
    (record,) = read_records(tmp_path / "rejected")
    assert record.rejects == 8
    assert record.header["rejected_bytes"] == 8 * 64 * KIB
    assert sum(len(sample) for _, sample in record.samples) == 16 * KIB  # first 16 KiB only
    assert record.samples[0] == ("bad checksum", noise[: 16 * KIB])


def test_a_burst_is_one_record_and_a_quiet_gap_starts_the_next(tmp_path: Path) -> None:
    archive = RejectArchive(
        tmp_path / "rejected", budget_bytes=KIB * KIB, quiet_s=2.0, queue_size=1000
    )
    for n in range(500):
        archive.keep("astm-1", "bad checksum" if n % 2 else "bad frame number", b"x%d" % n)
    wait_for(lambda: len(read_records(tmp_path / "rejected")) == 1, 10, "the first record")
    archive.keep("astm-1", "not ASTM E1394", b"H|later")
    archive.close()
    first, second = read_records(tmp_path / "rejected", "astm-1")
    assert first.rejects == 500
    assert first.header["reasons"] == {"bad frame number": 250, "bad checksum": 250}
    assert first.samples[:2] == [("bad frame number", b"x0"), ("bad checksum", b"x1")]
    assert len(first.samples) == 64  # bounded number of samples, counts complete
    assert second.rejects == 1
    assert second.samples == [("not ASTM E1394", b"H|later")]


def test_records_stay_within_the_budget_oldest_of_the_biggest_user_first(tmp_path: Path) -> None:
    budget = 60 * KIB
    archive = RejectArchive(tmp_path / "rejected", budget_bytes=budget, quiet_s=0.01)
    archive.keep("quiet-1", "bad checksum", b"q" * 100)
    wait_for(lambda: len(read_records(tmp_path / "rejected")) == 1, 10, "quiet device's record")
    for n in range(8):
        archive.keep("noisy-1", "bad checksum", bytes([n]) * 20 * KIB)
        first_byte = bytes([n])

        def written(first_byte: bytes = first_byte) -> bool:
            records = read_records(tmp_path / "rejected", "noisy-1")
            return any(r.samples[0][1][:1] == first_byte for r in records)

        wait_for(written, 10, f"noisy record {n}")
    archive.close()
    assert disk_bytes(tmp_path / "rejected") <= budget
    assert len(read_records(tmp_path / "rejected", "quiet-1")) == 1  # the noisy one paid
    noisy = read_records(tmp_path / "rejected", "noisy-1")
    assert noisy[-1].samples[0][1][:1] == bytes([7])  # the newest is kept

    # A restart with a smaller budget trims what earlier runs left, from one listing.
    RejectArchive(tmp_path / "rejected", budget_bytes=30 * KIB).close()
    assert disk_bytes(tmp_path / "rejected") <= 30 * KIB


def test_folders_and_records_are_owner_only_under_umask_022(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        archive = RejectArchive(tmp_path / "rejected", budget_bytes=KIB * KIB)
        archive.keep("astm-1", "bad checksum", b"PID|1||PT1||DOE^JANE")
        archive.close()
    finally:
        os.umask(previous)
    (record,) = read_records(tmp_path / "rejected")
    modes = {
        p.relative_to(tmp_path).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in [tmp_path / "rejected", record.path.parent, record.path]
    }
    assert modes == {
        "rejected": 0o700,
        "rejected/astm-1": 0o700,
        f"rejected/astm-1/{record.path.name}": 0o600,
    }


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rejects=st.lists(
        st.tuples(
            st.sampled_from(["dev-1", "dev-2", "dev-3"]),
            st.text(max_size=300),
            st.binary(max_size=3000),
        ),
        max_size=200,
    )
)
def test_any_rejects_are_counted_once_and_bounded(
    tmp_path_factory: object, rejects: list[tuple[str, str, bytes]]
) -> None:
    directory = tmp_path_factory.mktemp("rejected")  # type: ignore[attr-defined]
    archive = RejectArchive(
        directory, budget_bytes=KIB * KIB, record_bytes=4 * KIB, queue_size=1000
    )
    for device, reason, raw in rejects:
        archive.keep(device, reason, raw)
    archive.close()
    records = read_records(directory)
    assert archive.unkept == 0
    assert sum(r.rejects for r in records) == len(rejects)
    for record in records:
        sent = [
            (reason[:120], raw)
            for device, reason, raw in rejects
            if device == record.header["device"]
        ]
        assert len(record.samples) <= 64
        assert sum(len(sample) for _, sample in record.samples) <= 4 * KIB
        assert len(record.header["reasons"]) <= 21
        for (reason, sample), (sent_reason, raw) in zip(
            record.samples, [s for s in sent if s[1]], strict=False
        ):
            assert reason == sent_reason
            assert raw.startswith(sample)


def test_no_record_takes_the_disk_headroom_the_outbox_needs(tmp_path: Path) -> None:
    # More headroom asked for than this disk has free: the outbox would refuse results, so
    # rejects must not be the ones to use the space.
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    unkept: list[tuple[str, int]] = []
    archive = RejectArchive(
        tmp_path / "rejected",
        budget_bytes=KIB * KIB,
        min_free_bytes=free,
        on_unkept=lambda why, n: unkept.append((why, n)),
    )
    for _ in range(3):
        archive.keep("astm-1", "bad checksum", b"\x02noise")
    archive.close()
    assert read_records(tmp_path / "rejected") == []
    assert archive.unkept == 3
    assert unkept == [("disk", 3)]
