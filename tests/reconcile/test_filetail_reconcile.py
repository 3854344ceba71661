"""`ship file`'s reader (FileTail) on a FIFO, without servers: records in = events + dead letters
on the hostile corpus, positions are byte offsets counted by the reader, nothing is checkpointed,
and following a FIFO or reading one as a database is refused (usage, exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from logwarden.errors import UsageError
from logwarden.shippers.base import ListSink
from logwarden.shippers.filetail import FileTail

from . import corpus
from .modes import given_as


def test_fifo_records_in_equal_events_plus_dead_letters(tmp_path: Path) -> None:
    records = corpus.text_records(600, 500)
    body = corpus.text_file(records, 600)
    state = tmp_path / "state.json"
    sink = ListSink()
    with given_as("fifo", body, tmp_path) as (path, _):
        counts = FileTail(path, "auto", sink, state).run()
    assert counts["sent"] == len(records) == len(sink.events) + len(sink.dead) == counts["parsed"] + counts["dead"]
    positions = sorted([event.position for event in sink.events] + [letter.position for letter in sink.dead])
    assert all(body[p - 1:p] == b"\n" for p in positions if p)  # each one the start of a line
    assert not state.exists()  # a FIFO cannot be re-read: no checkpoint


def test_following_a_fifo_or_reading_a_database_from_one_is_refused(tmp_path: Path) -> None:
    with given_as("fifo", b"", tmp_path) as (path, _):
        with pytest.raises(UsageError, match="cannot be followed"):
            FileTail(path, "iptables", ListSink(), follow=True)
        with pytest.raises(UsageError, match="nor read as a database"):
            FileTail(path, "huorong", ListSink())
