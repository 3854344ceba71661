"""`Spool.append_many`: the messages of one TCP read go to the spool in one `write()` (one per
segment they touch), with the same bytes, segments, limit and counts as appending them one by
one; `SpoolingSink.send_many` while spooling uses it. No servers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from logwarden.config import Config
from logwarden.kafka_io import Message
from logwarden.shippers import spool as spool_module
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.spool import Spool, encode_record
from logwarden.shippers.spooling_sink import SpoolingSink
from tests.syslog.test_send_many import _unreachable

RECORD = len(encode_record(Message("lw.firewall", b"fw01", b"x" * 80, "m-000")))


def _messages(n: int) -> list[Message]:
    return [Message("lw.firewall", b"fw01", b"x" * 80, f"m-{i:03d}") for i in range(n)]


def _contents(directory: Path) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(directory.glob("*.spool"))]


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the spool module's `os.write` calls."""
    sizes: list[int] = []
    real = os.write

    def counted(fd: int, data: bytes | memoryview) -> int:
        sizes.append(len(data))
        return real(fd, data)

    monkeypatch.setattr(spool_module.os, "write", counted)
    return sizes


def test_a_batch_is_one_write_and_the_same_bytes_as_one_by_one(tmp_path: Path, writes: list[int]) -> None:
    one_by_one = Spool(tmp_path / "single", max_bytes=1 << 20)
    for message in _messages(50):
        assert one_by_one.append(message)
    one_by_one.close()
    writes.clear()
    batched = Spool(tmp_path / "batch", max_bytes=1 << 20)
    assert batched.append_many(_messages(50)) == 50
    assert writes == [50 * RECORD]
    assert (batched.records, batched.bytes) == (50, 50 * RECORD)
    batched.close()
    assert _contents(tmp_path / "batch") == _contents(tmp_path / "single")
    again = Spool(tmp_path / "batch", max_bytes=1 << 20)
    assert [m.id for m in again.read(again.oldest())] == [f"m-{i:03d}" for i in range(50)]  # type: ignore[arg-type]
    again.close()


def test_segments_split_where_one_by_one_splits_them(tmp_path: Path, writes: list[int]) -> None:
    segment = 7 * RECORD + RECORD // 2  # the 8th record crosses the size and stays in its segment
    one_by_one = Spool(tmp_path / "single", max_bytes=1 << 20, segment_bytes=segment)
    for message in _messages(20):
        one_by_one.append(message)
    one_by_one.close()
    writes.clear()
    batched = Spool(tmp_path / "batch", max_bytes=1 << 20, segment_bytes=segment)
    assert batched.append_many(_messages(13)) == 13
    assert batched.append_many(_messages(20)[13:]) == 7
    batched.close()
    assert writes == [8 * RECORD, 5 * RECORD, 3 * RECORD, 4 * RECORD]  # one write per segment touched
    assert _contents(tmp_path / "batch") == _contents(tmp_path / "single")
    assert len(_contents(tmp_path / "batch")) == 3


def test_the_limit_cuts_the_batch_at_the_first_record_that_does_not_fit(tmp_path: Path, writes: list[int]) -> None:
    spool = Spool(tmp_path, max_bytes=10 * RECORD + RECORD - 1)
    assert spool.append_many(_messages(4)) == 4
    assert spool.append_many(_messages(30)[4:]) == 6
    assert (spool.records, spool.bytes) == (10, 10 * RECORD)
    assert spool.append_many(_messages(2)) == 0
    assert writes == [4 * RECORD, 6 * RECORD], "a refused record is not written, nor anything after it"
    spool.close()


def test_nothing_fits_no_segment_is_created(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=RECORD - 1)
    assert spool.append_many(_messages(3)) == 0 and spool.oldest() is None
    spool.close()
    assert _contents(tmp_path) == []


def test_the_sink_spools_a_read_with_one_write(tmp_path: Path, writes: list[int]) -> None:
    sink = SpoolingSink(Config(topic_prefix="lw."), Spool(tmp_path, max_bytes=1 << 20),
                        connect=_unreachable)  # type: ignore[arg-type]
    items: list[Event | DeadLetter] = [Event(f"ev-{i}", "firewall", "fw01", {"n": i}, i) for i in range(40)]
    assert sink.send_many(items) is None
    assert len(writes) == 1 and sink.counters.spooled == 40
    counters = sink.close(grace=0.1)
    assert counters.left_in_spool == 40 and counters.spool_refused == 0
