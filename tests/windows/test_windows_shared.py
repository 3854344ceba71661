"""Every shared sample file parses with zero exceptions, and the counts reconcile:
events + dead letters = records numbered 1..N; raw records = events + normalisation dead letters;
parser warnings = parser dead letters."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from evtx import PyEvtxParser

from logwarden.shippers.base import DeadLetter
from logwarden.shippers.windows import iter_file, iter_paths
from tests.support.paths import need_shared


def raw_counts(path: Path) -> tuple[int, int]:
    """(records, skip warnings) straight from pyevtx-rs."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        n = sum(1 for _ in PyEvtxParser(str(path), skip_errors=True).records_json())
    return n, len(caught)


@pytest.mark.shared
def test_every_shared_file_parses_and_counts_reconcile() -> None:
    root = need_shared("evtx")
    files = list(iter_paths([root]))
    assert len(files) >= 300
    total_events = total_dead = 0
    for path in files:
        items = list(iter_file(path))  # must not raise
        assert [i.position for i in items] == list(range(1, len(items) + 1)), path
        dead = [i for i in items if isinstance(i, DeadLetter)]
        parser_dead = [d for d in dead if d.reason.startswith("EVTX parser")]
        record_dead = [d for d in dead if d.reason.startswith("record not normalised")]
        assert len(parser_dead) + len(record_dead) == len(dead), [d.reason for d in dead]
        records, skipped = raw_counts(path)
        events = len(items) - len(dead)
        assert events + len(record_dead) == records, path
        assert len(parser_dead) == skipped, path
        total_events += events
        total_dead += len(dead)
    assert total_events > 30_000
    assert total_dead < 50
