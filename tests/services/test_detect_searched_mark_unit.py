"""`detect --interval` across a restart (logwarden/detection/searched_mark.py): the end of the
last window written is kept on disk per rule, read back by the next start for its own rules, and
the first window reaches back to the earliest of them; two rule sets on one file keep their own
ends, also when two processes save at once (flock); the old single-time form is read as every
rule's end; a mark that cannot be read or written is one warning, never a failure."""

from __future__ import annotations

import fcntl
import json
import logging
import multiprocessing
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from logwarden.commands.detect import CATCH_UP_STEP, catch_up_step, resume
from logwarden.detection import searched_mark
from logwarden.detection.schedule import Windows
from logwarden.detection.searched_mark import SearchedMark, mark_path
from logwarden.errors import UsageError
from tests.support.log_lines import messages

NOW = datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC)
X = ["rule-a", "rule-b"]  # one detect's rule set
Y = ["rule-c", "rule-d"]  # another's, on the same index prefix
HOSTILE = "evil\x1b]8;;http://x\x07\u202eid"


def _hours_ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def test_the_mark_is_named_after_the_index_prefix_with_nothing_a_path_could_use() -> None:
    state = Path("/var/lib/lw")
    assert mark_path(state, "logwarden-") == state / "detect-searched-logwarden.json"
    assert mark_path(state, "../../etc/x-") == state / "detect-searched-.._.._etc_x.json"
    assert mark_path(state, "-") == state / "detect-searched-default.json"


def test_a_saved_end_is_read_back_and_the_first_window_reaches_back_to_it(tmp_path: Path) -> None:
    mark = SearchedMark(tmp_path / "state" / "m.json", X)  # the state folder is made when missing
    mark.save(_hours_ago(3))
    assert json.loads(mark.path.read_text(encoding="utf-8")) == {
        "rules": {"rule-a": "2026-12-05T09:00:00+00:00", "rule-b": "2026-12-05T09:00:00+00:00"}}
    resumed = SearchedMark(mark.path, X).load(NOW)
    assert resumed == _hours_ago(3)
    windows = Windows(lookback=120.0, overlap=60.0)
    windows.resume(resumed)
    assert windows.start(NOW) == NOW - timedelta(hours=3, seconds=60)


def test_a_recent_mark_leaves_the_plain_lookback() -> None:
    windows = Windows(lookback=120.0, overlap=60.0)
    windows.resume(NOW - timedelta(seconds=30))
    assert windows.start(NOW) == NOW - timedelta(seconds=180)


def test_two_rule_sets_on_one_prefix_keep_their_own_ends(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    a, b = SearchedMark(path, X), SearchedMark(path, Y)
    b.save(_hours_ago(5))  # B stopped five hours ago
    for hours in (4, 2, 0.5):  # A ran on
        a.save(_hours_ago(hours))
    # on main B read A's later time and never searched the five hours for its own rules
    assert SearchedMark(path, Y).load(NOW) == _hours_ago(5)
    assert SearchedMark(path, X).load(NOW) == _hours_ago(0.5)


def test_rule_set_changes(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    SearchedMark(path, X).save(_hours_ago(2))
    SearchedMark(path, ["rule-a"]).save(_hours_ago(1))  # rule-b dropped from the set: its end stays
    assert SearchedMark(path, ["rule-b"]).load(NOW) == _hours_ago(2)
    # a rule added (no end yet) follows the others' earliest end
    upgraded = SearchedMark(path, [*X, "rule-new"])
    assert upgraded.ends(NOW) == {"rule-a": _hours_ago(1), "rule-b": _hours_ago(2)}
    assert upgraded.load(NOW) == _hours_ago(2)
    # a rule set none of whose rules has an end: the plain lookback, as for a first start
    assert SearchedMark(path, ["rule-new"]).load(NOW) is None
    upgraded.save(_hours_ago(0))
    assert SearchedMark(path, ["rule-new"]).load(NOW) == NOW


def test_the_old_single_time_form_is_every_rules_end_until_the_first_save(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"searched_to": _hours_ago(6).isoformat()}) + "\n", encoding="utf-8")
    assert SearchedMark(path, X).load(NOW) == _hours_ago(6)  # an upgraded detect loses nothing
    assert SearchedMark(path, Y).load(NOW) == _hours_ago(6)
    SearchedMark(path, X).save(_hours_ago(1))
    assert SearchedMark(path, X).load(NOW) == _hours_ago(1)
    assert SearchedMark(path, Y).load(NOW) is None  # the old form could not say which rules it covered


@pytest.mark.parametrize("text", ["", "{", "[]", '{"searched_to": 5}', '{"searched_to": "yesterday"}',
                                  '{"searched_to": "2026-12-05T11:00:00"}',  # no time zone
                                  '{"searched_to": "2026-12-06T12:00:00+00:00"}',  # after now
                                  '{"other": "2026-12-05T11:00:00+00:00"}',
                                  '{"rules": ["rule-a"]}', '{"rules": 7, "searched_to": "2026-12-05T11:00:00+00:00"}',
                                  '{"rules": {"rule-a": "2026-12-06T12:00:00+00:00"}}',  # after now
                                  '{"rules": {"rule-a": null, "rule-b": "2026-12-05T11:00:00"}}',
                                  "\x1b[2J\u202e not json"])
def test_a_mark_that_is_not_a_past_time_is_one_warning_and_no_resume(
        tmp_path: Path, text: str, records: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "m.json"
    path.write_text(text, encoding="utf-8")
    assert SearchedMark(path, X).load(NOW) is None
    warnings = messages(records, logging.WARNING)
    assert len(warnings) == 1 and "the first pass searches the plain lookback" in warnings[0], warnings
    assert "\x1b" not in warnings[0] and "\u202e" not in warnings[0]


def test_a_damaged_entry_is_named_printably_and_the_other_rules_ends_count(
        tmp_path: Path, records: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "m.json"
    rules = {"rule-a": _hours_ago(3).isoformat(), HOSTILE: "\x1b[2J", "foreign": "damaged"}
    path.write_text(json.dumps({"rules": rules}), encoding="utf-8")
    assert SearchedMark(path, ["rule-a", HOSTILE]).load(NOW) == _hours_ago(3)
    warnings = messages(records, logging.WARNING)
    assert len(warnings) == 1, warnings
    assert "evil\\x1b]8;;http://x\\x07\\u202eid" in warnings[0] and "follows the other rules' ends" in warnings[0]
    assert "foreign" not in warnings[0]  # another rule set's entry is none of this run's business
    SearchedMark(path, ["rule-a", HOSTILE]).save(_hours_ago(1))  # a damaged entry is not carried on
    assert json.loads(path.read_text(encoding="utf-8"))["rules"] == {
        "rule-a": _hours_ago(1).isoformat(), HOSTILE: _hours_ago(1).isoformat()}


def test_the_first_resume_names_the_earliest_rule_printably(tmp_path: Path, records: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "m.json"
    SearchedMark(path, ["rule-a"]).save(datetime.now(UTC) - timedelta(hours=2))
    SearchedMark(path, [HOSTILE]).save(datetime.now(UTC) - timedelta(hours=3))
    windows = Windows(lookback=120.0, overlap=60.0)
    resume(SearchedMark(path, ["rule-a", HOSTILE, "rule-new"]), windows, 120.0)
    assert windows.due_from is not None
    assert datetime.now(UTC) - windows.due_from > timedelta(hours=3)
    infos = messages(records, logging.INFO)
    assert len(infos) == 1 and "evil\\x1b]8;;http://x\\x07\\u202eid" in infos[0], infos
    assert "the earliest of 2 rules with an end, 1 without" in infos[0]
    assert "longer ago than the lookback: the first pass searches from there" in infos[0]


def test_no_mark_yet_is_silent(tmp_path: Path, records: pytest.LogCaptureFixture) -> None:
    assert SearchedMark(tmp_path / "m.json", X).load(NOW) is None
    assert not records.records


def test_a_file_too_large_to_be_a_mark_is_one_warning(tmp_path: Path, records: pytest.LogCaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(searched_mark, "MAX_BYTES", 100)
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"rules": {f"r{i}": NOW.isoformat() for i in range(10)}}), encoding="utf-8")
    assert SearchedMark(path, ["r1"]).load(NOW) is None
    warnings = messages(records, logging.WARNING)
    assert len(warnings) == 1 and "larger than 100 bytes" in warnings[0], warnings


def test_a_mark_that_cannot_be_written_is_one_warning_for_the_run(
        tmp_path: Path, records: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state folder should be", encoding="utf-8")
    mark = SearchedMark(blocker / "m.json", X)
    for minutes in range(3):
        mark.save(NOW + timedelta(minutes=minutes))  # never raises
    warnings = messages(records, logging.WARNING)
    assert len(warnings) == 1 and "cannot record where detect searched to" in warnings[0], warnings
    blocker.unlink()
    mark.save(NOW + timedelta(minutes=5))
    assert [line for line in messages(records, logging.INFO) if "written again" in line]
    assert SearchedMark(mark.path, X).load(NOW + timedelta(hours=1)) == NOW + timedelta(minutes=5)


def test_a_lock_held_by_another_process_is_waited_for_then_one_warning(
        tmp_path: Path, records: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(searched_mark, "LOCK_WAIT", 0.2)
    mark = SearchedMark(tmp_path / "m.json", X)
    mark.save(_hours_ago(2))
    fd = os.open(mark.lock_path, os.O_RDWR)  # another open file description: flock conflicts with it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        mark.save(_hours_ago(1))
        mark.save(_hours_ago(0.5))
    finally:
        os.close(fd)
    warnings = messages(records, logging.WARNING)
    assert len(warnings) == 1 and "held by another process" in warnings[0], warnings
    assert SearchedMark(mark.path, X).load(NOW) == _hours_ago(2)  # unchanged while locked
    mark.save(_hours_ago(0.25))
    assert SearchedMark(mark.path, X).load(NOW) == _hours_ago(0.25)


ROUNDS = 150


def _saver(path: str, rules: list[str], start: Any) -> None:
    """One detect's passes, as fast as they go: each round records the next minute."""
    start.wait(30)
    mark = SearchedMark(Path(path), rules)
    for i in range(1, ROUNDS + 1):
        mark.save(NOW + timedelta(minutes=i))
    if mark.write_failed:
        raise SystemExit(1)


def test_concurrent_saves_of_two_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    rule_sets = [[f"x{i}" for i in range(40)], [f"y{i}" for i in range(40)]]
    procs = [context.Process(target=_saver, args=(str(path), rules, start)) for rules in rule_sets]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    saved = json.loads(path.read_text(encoding="utf-8"))["rules"]
    last = (NOW + timedelta(minutes=ROUNDS)).isoformat()
    assert saved == dict.fromkeys(sorted(rule_sets[0] + rule_sets[1]), last)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.json.lock"]  # no temporary left


def test_the_catch_up_step_default_and_its_limits() -> None:
    assert catch_up_step(None, 120.0, 120.0) == CATCH_UP_STEP == 3600.0
    assert catch_up_step(None, 7200.0, 120.0) == 7320.0  # never shorter than a pass's own window
    assert catch_up_step(0.0, 120.0, 120.0) == 0.0  # no cap
    assert catch_up_step(600.0, 120.0, 120.0) == 600.0
    for bad in (239.0, 60.0):
        with pytest.raises(UsageError, match="shorter than a pass's window"):
            catch_up_step(bad, 120.0, 120.0)
    with pytest.raises(UsageError):
        catch_up_step(5.0, 0.0, 5.0)  # not past the overlap: no step would move forward
