"""Damaged EVTX files: every record the file's headers promise is an event or a dead letter.

Copies of a clean shared sample (636 records in chunks 0-5: 1-114, 115-213, 214-318, 319-425,
426-533, 534-636) are damaged in a tmp dir; before the fix each case lost records with no trace."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from logwarden.cli import main
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.windows import iter_file
from logwarden.shippers.windows.evtx_layout import CHUNK_SIZE, FILE_HEADER_SIZE
from tests.support.paths import need_shared

SAMPLE = "evtx/evtx-rs-samples/samples/Security_with_size_t.evtx"
RECORDS = 636
pytestmark = pytest.mark.shared


def chunk(n: int) -> int:
    return FILE_HEADER_SIZE + n * CHUNK_SIZE


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    path = tmp_path / "damaged.evtx"
    shutil.copyfile(need_shared(SAMPLE), path)
    path.chmod(0o644)
    return path


def damage(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def outcome(path: Path) -> tuple[int, Counter[str], list[DeadLetter]]:
    items = list(iter_file(path))
    assert [i.position for i in items] == list(range(1, len(items) + 1))
    dead = [i for i in items if isinstance(i, DeadLetter)]
    return sum(isinstance(i, Event) for i in items), Counter(d.reason for d in dead), dead


def test_clean_copy_has_no_dead_letter(copy: Path) -> None:
    assert outcome(copy)[:2] == (RECORDS, Counter())


def test_zeroed_chunk_counts_its_records(copy: Path) -> None:
    damage(copy, chunk(1), bytes(CHUNK_SIZE))
    events, reasons, dead = outcome(copy)
    assert events == RECORDS - 99
    assert reasons == Counter({"chunk 1 unreadable (zeroed): records 115-213 lost": 99})
    assert dead[0].raw == f"{copy}: record 115 lost".encode() and dead[-1].raw.endswith(b"record 213 lost")


def test_bad_chunk_magic_counts_its_records(copy: Path) -> None:
    damage(copy, chunk(2), b"XXXXXXXX")
    events, reasons, _ = outcome(copy)
    assert events == RECORDS - 105
    ((reason, n),) = reasons.items()
    assert n == 105 and reason.startswith("chunk 2 unreadable (bad header magic): records 214-318 lost; EVTX parser:")
    assert "Failed to parse chunk number 2" in reason


@pytest.mark.parametrize("keep", [100, 30_000], ids=["in-header", "in-records"])
def test_truncated_last_chunk_counts_its_records(copy: Path, keep: int) -> None:
    with open(copy, "r+b") as fh:
        fh.truncate(chunk(5) + keep)
    events, reasons, _ = outcome(copy)
    assert events + sum(reasons.values()) == RECORDS
    assert reasons == Counter({f"chunk 5 unreadable (truncated ({keep} of 65536 bytes)): records 534-636 lost":
                               RECORDS - events})


def test_header_checksum_mismatch_alone_loses_nothing(copy: Path) -> None:
    with open(copy, "rb") as fh:
        fh.seek(chunk(3) + 60)
        byte = fh.read(1)
    damage(copy, chunk(3) + 60, bytes([byte[0] ^ 0xFF]))  # a header byte the parser does not need
    assert outcome(copy)[:2] == (RECORDS, Counter())


def test_zeroed_first_chunk_is_a_dead_letter_of_unknown_size(copy: Path) -> None:
    damage(copy, chunk(0), bytes(CHUNK_SIZE))
    events, reasons, _ = outcome(copy)
    assert events == RECORDS - 114
    assert reasons == Counter({"chunk 0 unreadable (zeroed): records before record 115 lost, how many is unknown": 1})


def test_zeroed_unused_space_is_not_a_loss(copy: Path) -> None:
    damage(copy, chunk(6), bytes(CHUNK_SIZE))  # the sample's chunks 6-16 are preallocated, all zeros
    assert outcome(copy)[:2] == (RECORDS, Counter())


def test_parse_command_reports_the_lost_records(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    damage(copy, chunk(1), bytes(CHUNK_SIZE))
    assert main(["parse", "--source", "windows", str(copy)]) == 1
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == RECORDS - 99
    assert err.count("chunk 1 unreadable (zeroed): records 115-213 lost") == 99


def test_file_cut_after_its_header_counts_the_chunks_it_promised(copy: Path) -> None:
    """Found by test_windows_fuzz: no chunk at all gave no record and no dead letter."""
    with open(copy, "r+b") as fh:
        fh.truncate(FILE_HEADER_SIZE)
    assert outcome(copy)[:2] == (0, Counter({
        "chunks 0-5 unreadable (missing: the file ends at 4096 bytes): records before record 637 lost, "
        "how many is unknown": 1}))


def test_file_cut_after_a_damaged_header_is_still_a_dead_letter(copy: Path) -> None:
    """Found by test_windows_fuzz: the header's checksum fails, so its counts are not trusted."""
    with open(copy, "r+b") as fh:
        fh.truncate(FILE_HEADER_SIZE)
    damage(copy, 8, b"\x01")
    assert outcome(copy)[:2] == (0, Counter({
        "chunk 0 unreadable (missing: the file ends at 4096 bytes; next record id from a file header whose "
        "checksum fails): records before record 637 lost, how many is unknown": 1}))


def test_file_cut_at_a_chunk_boundary_counts_the_missing_chunks(copy: Path) -> None:
    with open(copy, "r+b") as fh:
        fh.truncate(chunk(4))
    events, reasons, _ = outcome(copy)
    assert events == 425
    assert reasons == Counter({"chunks 4-5 unreadable (missing: the file ends at 266240 bytes): records 426-636 lost":
                               211})


def test_file_cut_inside_a_chunk_after_a_damaged_header_says_more_may_be_lost(copy: Path) -> None:
    """Found by test_windows_fuzz: only chunk 0's header survives, and the file header is damaged."""
    with open(copy, "r+b") as fh:
        fh.truncate(chunk(0) + 40)
    damage(copy, 8, b"\x01")
    assert outcome(copy)[:2] == (0, Counter({
        "chunk 0 unreadable (truncated (40 of 65536 bytes)): records 1-114 lost": 114,
        "chunk 1 unreadable (missing: the file ends at 4136 bytes; next record id from a file header whose "
        "checksum fails): records 115-636 lost": 522}))


def test_zeroed_last_chunk_after_a_damaged_header_is_counted(copy: Path) -> None:
    """Found by test_windows_fuzz (LOGWARDEN_FUZZ_EXAMPLES=1000): zeros after chunk 4 passed for unused space."""
    damage(copy, 8, b"\x01")
    damage(copy, chunk(5), bytes(CHUNK_SIZE))
    assert outcome(copy)[:2] == (533, Counter({
        "chunks 5-16 unreadable (zeroed; next record id from a file header whose checksum fails): "
        "records 534-636 lost": 103}))


def test_ledger_marks_ids_as_bisect_does_whatever_the_order() -> None:
    """The ledger remembers the span of the previous id; overlapping or out-of-order ids (a damaged
    file) must still be filed under the span bisect picks, so the lost records stay the same."""
    import bisect
    import random

    from logwarden.shippers.windows.evtx_layout import ChunkSpan
    from logwarden.shippers.windows.evtx_reader import _Ledger

    spans = [ChunkSpan(0, 0, 1, 100, ""), ChunkSpan(1, 1, 50, 150, ""), ChunkSpan(2, 2, 150, 160, ""),
             ChunkSpan(3, 3, 300, 310, "")]
    ids = [*range(1, 40), *range(45, 170), 5, 155, 60, *range(290, 320), 0, -3]
    random.Random(12).shuffle(ids[40:])
    ledger = _Ledger(spans)
    expected = [bytearray(len(s)) for s in ledger.seen]
    for rid in ids:
        ledger.saw(rid)
        i = bisect.bisect_right(ledger.firsts, rid) - 1
        if i >= 0 and rid - ledger.firsts[i] < len(expected[i]):
            expected[i][rid - ledger.firsts[i]] = 1
    assert ledger.seen == expected


def test_zero_test_of_chunks() -> None:
    from logwarden.shippers.windows.evtx_layout import _zeros

    assert _zeros(b"") and _zeros(bytes(512)) and _zeros(bytes(CHUNK_SIZE)) and _zeros(bytes(CHUNK_SIZE + 1))
    assert not _zeros(bytes(CHUNK_SIZE - 1) + b"\x01") and not _zeros(b"\x01" + bytes(511))
    assert not _zeros(bytes(CHUNK_SIZE) + b"\x01")
