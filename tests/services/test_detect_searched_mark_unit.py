"""`detect --interval` across a restart (logwarden/detection/searched_mark.py): the end of the
last window written is kept on disk, read back by the next start, and the first window reaches
back to it; a mark that cannot be read or written is one warning, never a failure."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from logwarden.detection.schedule import Windows
from logwarden.detection.searched_mark import SearchedMark, mark_path
from tests.support.log_lines import messages

NOW = datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC)


def test_the_mark_is_named_after_the_index_prefix_with_nothing_a_path_could_use() -> None:
    state = Path("/var/lib/lw")
    assert mark_path(state, "logwarden-") == state / "detect-searched-logwarden.json"
    assert mark_path(state, "../../etc/x-") == state / "detect-searched-.._.._etc_x.json"
    assert mark_path(state, "-") == state / "detect-searched-default.json"


def test_a_saved_end_is_read_back_and_the_first_window_reaches_back_to_it(tmp_path: Path) -> None:
    mark = SearchedMark(tmp_path / "state" / "m.json")  # the state folder is made when missing
    mark.save(NOW - timedelta(hours=3))
    later = SearchedMark(mark.path)
    resumed = later.load(NOW)
    assert resumed == NOW - timedelta(hours=3)
    windows = Windows(lookback=120.0, overlap=60.0)
    windows.resume(resumed)
    assert windows.start(NOW) == NOW - timedelta(hours=3, seconds=60)


def test_a_recent_mark_leaves_the_plain_lookback() -> None:
    windows = Windows(lookback=120.0, overlap=60.0)
    windows.resume(NOW - timedelta(seconds=30))
    assert windows.start(NOW) == NOW - timedelta(seconds=180)


@pytest.mark.parametrize("text", ["", "{", "[]", '{"searched_to": 5}', '{"searched_to": "yesterday"}',
                                  '{"searched_to": "2026-12-05T11:00:00"}',  # no time zone
                                  '{"searched_to": "2026-12-06T12:00:00+00:00"}',  # after now
                                  '{"other": "2026-12-05T11:00:00+00:00"}'])
def test_a_mark_that_is_not_a_past_time_is_one_warning_and_no_resume(
        tmp_path: Path, text: str, records: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "m.json"
    path.write_text(text, encoding="utf-8")
    assert SearchedMark(path).load(NOW) is None
    warnings = messages(records, logging.WARNING)
    assert len(warnings) == 1 and "the first pass searches the plain lookback" in warnings[0], warnings


def test_no_mark_yet_is_silent(tmp_path: Path, records: pytest.LogCaptureFixture) -> None:
    assert SearchedMark(tmp_path / "m.json").load(NOW) is None
    assert not records.records


def test_a_mark_that_cannot_be_written_is_one_warning_for_the_run(
        tmp_path: Path, records: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state folder should be", encoding="utf-8")
    mark = SearchedMark(blocker / "m.json")
    for minutes in range(3):
        mark.save(NOW + timedelta(minutes=minutes))  # never raises
    warnings = messages(records, logging.WARNING)
    assert len(warnings) == 1 and "cannot record where detect searched to" in warnings[0], warnings
    blocker.unlink()
    mark.save(NOW + timedelta(minutes=5))
    assert [line for line in messages(records, logging.INFO) if "written again" in line]
    assert SearchedMark(mark.path).load(NOW + timedelta(hours=1)) == NOW + timedelta(minutes=5)
