"""`detect --interval`'s passes on fakes (no servers, logwarden/detection/schedule.py): the window
a failed pass could not search is searched by the next pass that succeeds; a refusal is one ERROR
line and an outage one WARNING line, each ended by one INFO line; alerts found but not written are
written by the next pass; `--once` raises the failure (exit 3). Catch-up: a window is at most
the step long, steps run back to back until a window reaches now, a stop between steps stops
there, a failed step is retried like a failed pass. The real-server tests are
tests/security/test_detect_midrun_servers.py and tests/services/test_detect_restart_servers.py."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, ConnectionError, HttpHeaders, NodeConfig
from elasticsearch import ApiError, AuthenticationException, BadRequestError

from logwarden.config import Config
from logwarden.consume import Outage, StopFlag
from logwarden.detection.schedule import PassRunner, Windows, failure, merge_alerts
from logwarden.errors import ServerError
from tests.support.log_lines import messages

pytestmark = pytest.mark.usefixtures("no_backoff")

CFG = Config(elasticsearch="https://detect:s3cr3t-pw@127.0.0.1:9")
T0 = datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC)


def _meta(status: int) -> ApiResponseMeta:
    return ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                           node=NodeConfig("https", "127.0.0.1", 9))


def _unauthorized() -> ApiError:
    body = {"error": {"type": "security_exception", "reason": "unable to authenticate user [detect]"}}
    return AuthenticationException(message="security_exception", meta=_meta(401), body=body)


def _alert(eid: str, version: int = 1) -> dict[str, Any]:
    return {"event": {"id": eid}, "version": version}


class Scripted:
    """`search` answers each call with the next step of `script` (an exception is raised);
    records the windows asked for. `write` fails while `write_failures` lasts."""

    def __init__(self, script: list[Any], write_failures: int = 0) -> None:
        self.script = script
        self.windows: list[tuple[datetime | None, datetime]] = []
        self.written: list[list[dict[str, Any]]] = []
        self.write_failures = write_failures

    def search(self, start: datetime | None, end: datetime) -> list[dict[str, Any]]:
        self.windows.append((start, end))
        step = self.script.pop(0) if self.script else []
        if isinstance(step, BaseException):
            raise step
        return list(step)

    def write(self, alerts: list[dict[str, Any]]) -> None:
        if self.write_failures:
            self.write_failures -= 1
            raise ConnectionError("connection refused")
        self.written.append(list(alerts))


def _runner(fake: Scripted, once: bool = False, lookback: float | None = 120.0) -> PassRunner:
    outage = Outage("Elasticsearch at https://127.0.0.1:9", StopFlag(), logging.getLogger("logwarden.test"))
    return PassRunner(CFG, Windows(lookback, 60.0), outage, once, fake.search, fake.write, lambda now: None)


def test_the_window_never_starts_after_what_was_searched() -> None:
    windows = Windows(lookback=120.0, overlap=60.0)
    assert windows.start(T0) == T0 - timedelta(seconds=180)
    windows.searched(T0)
    assert windows.start(T0 + timedelta(seconds=60)) == T0 - timedelta(seconds=120)  # the plain lookback
    later = T0 + timedelta(hours=2)  # two hours without a successful pass
    assert windows.start(later) == T0 - timedelta(seconds=60)  # from the last searched end, less the overlap
    assert Windows(lookback=None, overlap=60.0).start(later) is None


def test_a_refusal_is_one_error_then_one_recovery_and_the_missed_window_is_searched(
        records: pytest.LogCaptureFixture) -> None:
    fake = Scripted([[_alert("a")], _unauthorized(), _unauthorized(), _unauthorized(), [_alert("b")]])
    runner = _runner(fake)
    assert runner.attempt(T0) == "done"
    outcomes = [runner.attempt(T0 + timedelta(minutes=10 + i)) for i in range(4)]
    assert outcomes == ["retry", "retry", "retry", "done"]
    errors = messages(records, logging.ERROR)
    assert len(errors) == 1, errors
    assert "Elasticsearch at https://127.0.0.1:9 refused the credentials (401" in errors[0]
    assert f"the rules' window from {(T0 - timedelta(seconds=60)).isoformat()} on waits" in errors[0]
    assert len([line for line in messages(records, logging.INFO) if "accepts the requests again" in line]) == 1
    assert not [line for line in messages(records, logging.WARNING) if "unreachable" in line]
    # the pass that succeeded 13 minutes later searched from the first pass's end, not 3 minutes back
    assert fake.windows[-1][0] == T0 - timedelta(seconds=60)
    assert fake.written == [[_alert("a")], [_alert("b")]]
    assert all("s3cr3t-pw" not in r.getMessage() for r in records.records)


def test_an_outage_is_one_warning_then_one_recovery(records: pytest.LogCaptureFixture) -> None:
    fake = Scripted([ConnectionError("connection refused"), ApiError("busy", _meta(503), {}), [_alert("c")]])
    runner = _runner(fake)
    assert [runner.attempt(T0 + timedelta(seconds=i)) for i in range(3)] == ["retry", "retry", "done"]
    warnings = [line for line in messages(records, logging.WARNING) if "unreachable (" in line]
    assert len(warnings) == 1 and "the window from" in warnings[0], warnings
    assert len([line for line in messages(records, logging.INFO) if "reachable again after" in line]) == 1
    assert not messages(records, logging.ERROR)


def test_alerts_found_but_not_written_are_written_by_the_next_pass() -> None:
    fake = Scripted([[_alert("x"), _alert("corr", 1)], [_alert("corr", 2), _alert("y")]], write_failures=1)
    runner = _runner(fake)
    assert runner.attempt(T0) == "retry"
    assert runner.windows.searched_to is None  # not written: not searched
    assert runner.attempt(T0 + timedelta(seconds=5)) == "done"
    assert fake.written == [[_alert("x"), _alert("corr", 2), _alert("y")]]  # the later version, once
    assert fake.windows[1][0] == fake.windows[0][0]  # the second pass searched from the same start


def test_another_failure_waits_for_the_interval_without_losing_the_window(records: pytest.LogCaptureFixture) -> None:
    fake = Scripted([BadRequestError("bad query", _meta(400), {}), []])
    runner = _runner(fake)
    assert runner.attempt(T0) == "next"
    assert [line for line in messages(records, logging.WARNING) if "pass failed" in line]
    assert runner.attempt(T0 + timedelta(hours=1)) == "done"
    assert fake.windows[1][0] == fake.windows[0][0]


def test_once_raises_the_failure_in_its_own_words() -> None:
    with pytest.raises(ServerError) as refused:
        _runner(Scripted([_unauthorized()]), once=True, lookback=None).attempt(T0)
    assert "refused the credentials (401" in str(refused.value) and "s3cr3t-pw" not in str(refused.value)
    with pytest.raises(ServerError) as away:
        _runner(Scripted([ConnectionError("connection refused")]), once=True).attempt(T0)
    assert "Elasticsearch at" in str(away.value)


def test_failure_kinds() -> None:
    assert failure(_unauthorized(), CFG)[0] == "refused"
    assert failure(ApiError("busy", _meta(429), {}), CFG)[0] == "unreachable"
    assert failure(ConnectionError("connection refused"), CFG)[0] == "unreachable"
    assert failure(BadRequestError("bad", _meta(400), {}), CFG)[0] == "failed"
    assert "s3cr3t-pw" not in failure(ConnectionError("https://detect:s3cr3t-pw@127.0.0.1:9 refused"), CFG)[1]


def test_merge_alerts_keeps_one_version_per_id_the_latest() -> None:
    merged = merge_alerts([_alert("a"), _alert("b", 1)], [_alert("b", 2), _alert("c")])
    assert merged == [_alert("a"), _alert("b", 2), _alert("c")]


STEP = 3600.0


class Clock:
    """`now` for the runner's loop: advances `tick` seconds at each reading."""

    def __init__(self, start: datetime, tick: float = 0.0) -> None:
        self.now, self.tick = start, tick

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=self.tick)
        return self.now


def _stepping(fake: Scripted, stop: StopFlag | None = None) -> tuple[PassRunner, list[datetime], list[datetime]]:
    """A runner three hours behind (a resumed mark), catch-up steps of an hour; returns it with
    the ends `after` (the mark) and `current` (the silence pass) were called with."""
    stop = stop or StopFlag()
    outage = Outage("Elasticsearch at https://127.0.0.1:9", stop, logging.getLogger("logwarden.test"))
    windows = Windows(120.0, 60.0, STEP)
    windows.resume(T0 - timedelta(hours=3))
    marked: list[datetime] = []
    current: list[datetime] = []
    return PassRunner(CFG, windows, outage, False, fake.search, fake.write, marked.append, current.append), \
        marked, current


def test_a_window_is_at_most_the_step_and_steps_overlap_by_the_overlap() -> None:
    windows = Windows(120.0, 60.0, STEP)
    windows.resume(T0 - timedelta(hours=3))
    seen = []
    while True:
        start, end = windows.window(T0)
        assert start is not None
        seen.append((start, end))
        windows.searched(end)
        if end == T0:
            break
    assert seen[0] == (T0 - timedelta(hours=3, seconds=60), T0 - timedelta(hours=2, seconds=60))
    assert all((end - start).total_seconds() <= STEP for start, end in seen)
    assert all(later[0] == earlier[1] - timedelta(seconds=60) for earlier, later in zip(seen, seen[1:], strict=False))
    assert len(seen) == 4 == windows.steps_to(T0 - timedelta(hours=3, seconds=60), T0)
    # not behind: the plain window, one step; no cap: one window however far behind
    assert windows.window(T0 + timedelta(seconds=60)) == (T0 - timedelta(seconds=120), T0 + timedelta(seconds=60))
    uncapped = Windows(120.0, 60.0)
    uncapped.resume(T0 - timedelta(days=3))
    assert uncapped.window(T0) == (T0 - timedelta(days=3, seconds=60), T0)
    with pytest.raises(ValueError):
        Windows(120.0, 60.0, 60.0)  # a step that does not pass the overlap never moves forward


def test_catch_up_runs_steps_back_to_back_with_one_line_at_each_end(records: pytest.LogCaptureFixture) -> None:
    fake = Scripted([[_alert("one")], [], [_alert("three")], [_alert("now")]])
    runner, marked, current = _stepping(fake)
    stop = StopFlag()
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return True  # the first wait for the interval ends the run

    stop.wait = wait  # type: ignore[method-assign]
    passed: list[str] = []
    runner.run(stop, 60.0, lambda: passed.append("counters"), clock=Clock(T0, tick=1.0))
    assert len(fake.windows) == 4 and waits == [60.0]  # four searches, then the interval's wait, once
    assert all((end - start).total_seconds() <= STEP for start, end in fake.windows if start is not None)
    assert fake.windows[-1][1] == T0 + timedelta(seconds=4)  # the last window reached now
    assert marked == [end for _, end in fake.windows]  # every step's end recorded as searched
    assert current == [fake.windows[-1][1]]  # the silence pass: only for the window at now
    assert passed == ["counters"] * 4
    assert fake.written == [[_alert("one")], [], [_alert("three")], [_alert("now")]]
    infos = messages(records, logging.INFO)
    starts = [line for line in infos if line.startswith("catching up")]
    ends = [line for line in infos if line.startswith("caught up")]
    assert len(starts) == 1 and "about 4 steps of at most 3600 s" in starts[0] and "3:01:01 behind" in starts[0], infos
    assert len(ends) == 1 and ends[0].startswith("caught up: 4 steps searched from "), infos


def test_a_stop_between_steps_stops_and_the_mark_holds_the_last_step(records: pytest.LogCaptureFixture) -> None:
    stop = StopFlag()
    fake = Scripted([[], []])
    searched = fake.search

    def search_then_stop(start: datetime | None, end: datetime) -> list[dict[str, Any]]:
        if len(fake.windows) == 1:
            stop.set("SIGTERM")  # during the second step: it is finished, no third one
        return searched(start, end)

    fake.search = search_then_stop  # type: ignore[method-assign]
    runner, marked, current = _stepping(fake, stop)
    runner.run(stop, 60.0, lambda: None, clock=Clock(T0))
    assert len(fake.windows) == 2 and marked == [end for _, end in fake.windows] and current == []
    assert marked[-1] < T0
    lines = messages(records, logging.INFO)
    assert [line for line in lines if line.startswith("stopped while catching up, searched to "
                                                      f"{marked[-1].isoformat(timespec='seconds')}")], lines
    assert not [line for line in lines if line.startswith("caught up")]


def test_a_failed_step_is_retried_from_its_own_start(records: pytest.LogCaptureFixture) -> None:
    fake = Scripted([[], ConnectionError("connection refused"), _unauthorized(), [], []])
    runner, marked, _ = _stepping(fake)
    outcomes = [runner.attempt(T0 + timedelta(seconds=i)) for i in range(5)]
    assert outcomes == ["step", "retry", "retry", "step", "step"]
    assert fake.windows[1][0] == fake.windows[2][0] == fake.windows[3][0]  # the failed step searched again
    assert len(marked) == 3
    assert len([line for line in messages(records, logging.INFO) if line.startswith("catching up")]) == 1
    assert len([line for line in messages(records, logging.WARNING) if "unreachable (" in line]) == 1
    assert len(messages(records, logging.ERROR)) == 1


def test_a_pass_that_is_not_behind_says_nothing_about_catching_up(records: pytest.LogCaptureFixture) -> None:
    fake = Scripted([[], []])
    outage = Outage("Elasticsearch at https://127.0.0.1:9", StopFlag(), logging.getLogger("logwarden.test"))
    runner = PassRunner(CFG, Windows(120.0, 60.0, STEP), outage, False, fake.search, fake.write, lambda end: None)
    assert [runner.attempt(T0), runner.attempt(T0 + timedelta(seconds=60))] == ["done", "done"]
    assert not [line for line in messages(records, logging.INFO) if "catching up" in line or "caught up" in line]
