"""`detect --interval` stopped and started again, on the real secured Elasticsearch: an event
dated in the time no `detect` ran, older than the restarted pass's own lookback, still raises its
alert, once, because the restart reaches back to where the last run's passes had searched its
rules (logwarden/detection/searched_mark.py). Two detects with different rule sets on one index
prefix keep their own ends; a detect far behind catches up in steps of `--catch-up-step`. The
state folder is the test namespace's own."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from logwarden.config import Config
from logwarden.detection.searched_mark import SearchedMark, mark_path
from logwarden.es_io import client
from tests.security.test_detect_midrun_servers import KEPT_OUT, LOOKBACK, RULE, RULE_ID, _cleared, _hosts, _wait
from tests.services.helpers import Service
from tests.support.es_reads import while_shards_start

pytestmark = pytest.mark.servers

SYSTEM_RULE = "sigma_rules/windows/win_system_log_cleared.yml"  # System 104: the other detect's own rule
SYSTEM_RULE_ID = "c0d11478-4c45-4ec0-bf28-0b54a64bd476"
STEP = 10.0  # --catch-up-step of the catch-up test: a pass alone spans 3 s, a step 10 s


_STARTED: list[Service] = []


@pytest.fixture(autouse=True)
def _no_detect_left_running() -> Iterator[None]:
    """A test that fails while a detect runs still stops it (SIGTERM): none outlives its test."""
    yield
    while _STARTED:
        service = _STARTED.pop()
        if service.proc.poll() is None:
            service.stop()


def _detect(cfg: Config, *rules: str, extra: tuple[str, ...] = (), env: dict[str, str] | None = None) -> Service:
    args = [arg for rule in (rules or (RULE,)) for arg in ("--rules", rule)]
    service = Service(cfg, "detect", "--interval", f"{LOOKBACK:g}s", "--lookback", f"{LOOKBACK:g}s", "--overlap", "1s",
                      *args, *extra, "--no-silence", "--json", env=env)
    _STARTED.append(service)
    return service


def _index(cfg: Config, eid: str, host: str, when: datetime, code: str = "1102", channel: str = "Security") -> None:
    """A log-cleared event (Security 1102 or System 104) dated `when`."""
    doc = {"@timestamp": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
           "event": {"code": code, "kind": "event", "id": eid}, "host": {"name": host},
           "winlog": {"channel": channel, "event_id": code, "provider_name": "Microsoft-Windows-Eventlog",
                      "computer_name": host}}
    client(cfg).index(index=f"{cfg.index_prefix}windows-{when:%Y.%m.%d}", id=eid, document=doc, refresh=True)


def _alert_hosts(cfg: Config, rule_id: str) -> list[str]:
    """The hosts of `rule_id`'s alerts, one entry per alert document."""
    es = client(cfg)
    index = f"{cfg.index_prefix}alerts-*"  # polled while detect may be creating it: its 503 waited out
    while_shards_start(es.indices.refresh, index=index, ignore_unavailable=True, allow_no_indices=True)
    found = while_shards_start(es.search, index=index, ignore_unavailable=True, allow_no_indices=True,
                               size=100, query={"term": {"rule.id": rule_id}})
    return sorted(hit["_source"]["host"]["name"] for hit in found["hits"]["hits"])


def _started(*services: Service) -> None:
    """Wait for each service's first pass: an event indexed before it, while the process still
    starts (seconds on a loaded box), would be older than its first window (3 s)."""
    for service in services:
        service.wait_for('{"rules": ')


def _counters(service: Service) -> list[dict[str, Any]]:
    return [json.loads(line) for line in service.lines if line.startswith("{")]


def _ended(service: Service) -> str:
    code, _ = service.stop()
    lines = "\n".join(service.lines)
    assert code == 0, lines[-3000:]
    assert "Traceback" not in lines, lines[-3000:]
    return lines


def test_a_restarted_detect_searches_the_time_it_was_stopped(ns: Config) -> None:
    first = _detect(ns)
    _started(first)
    _cleared(ns, "before")
    _wait(lambda: _hosts(ns) == ["before"], "the first run's alert written")
    _ended(first)
    mark = mark_path(ns.state_path, ns.index_prefix)
    assert mark.is_file(), f"no mark at {mark}"

    _cleared(ns, "stopped")  # dated while no detect runs
    time.sleep(KEPT_OUT)  # now older than any one pass's window (lookback + overlap: 3 s)
    second = _detect(ns)
    try:
        second.wait_for("longer ago than the lookback: the first pass searches from there")
        _wait(lambda: _hosts(ns) == ["before", "stopped"], "the stopped time searched")
        _cleared(ns, "after")
        _wait(lambda: _hosts(ns) == ["after", "before", "stopped"], "the next passes go on as before")
    finally:
        lines = _ended(second)
    assert not [line for line in second.lines if " warning logwarden" in line], lines[-3000:]  # the mark read cleanly


def test_two_detects_on_one_prefix_each_search_the_time_they_were_stopped(ns: Config) -> None:
    """A runs the Security rule; B the System rule and the Security rule too. B is stopped while A
    runs on: A's passes record later ends for its rule, and B's restart still reaches back to
    B's own end (with one shared time it read A's and never searched its gap). The Security rule
    searched by both writes each alert once."""
    a = _detect(ns, RULE)
    b = _detect(ns, SYSTEM_RULE, RULE)
    try:
        _started(a, b)
        _index(ns, "two-a-before", "a-before", datetime.now(UTC))
        _index(ns, "two-b-before", "b-before", datetime.now(UTC), code="104", channel="System")
        _wait(lambda: _alert_hosts(ns, SYSTEM_RULE_ID) == ["b-before"], "B's first alert written")
        _wait(lambda: _alert_hosts(ns, RULE_ID) == ["a-before"], "A's first alert written")
        _ended(b)
        stopped = datetime.now(UTC)
        _index(ns, "two-b-gap", "b-gap", datetime.now(UTC), code="104", channel="System")  # B's, while B is stopped
        _index(ns, "two-a-gap", "a-gap", datetime.now(UTC))  # A's: alerted by A now, found again by B later
        _wait(lambda: _alert_hosts(ns, RULE_ID) == ["a-before", "a-gap"], "A's gap alert written by A")
        time.sleep(KEPT_OUT)  # the gap is older than any one pass's window
        mark = mark_path(ns.state_path, ns.index_prefix)
        ends = SearchedMark(mark, [RULE_ID, SYSTEM_RULE_ID]).ends(datetime.now(UTC))
        assert ends[RULE_ID] > stopped + timedelta(seconds=KEPT_OUT / 2), ends  # A ran on and recorded it
        assert ends[SYSTEM_RULE_ID] < stopped, ends  # B's own rule: where B stopped

        again = _detect(ns, SYSTEM_RULE, RULE)
        try:
            again.wait_for("longer ago than the lookback: the first pass searches from there")
            _wait(lambda: _alert_hosts(ns, SYSTEM_RULE_ID) == ["b-before", "b-gap"], "B's stopped time searched")
            _wait(lambda: bool(_counters(again)), "B's first counters")
        finally:
            again_lines = _ended(again)
    finally:
        a_lines = _ended(a)
    assert f"searched rule {SYSTEM_RULE_ID} to" in again_lines, again_lines[-3000:]
    assert _alert_hosts(ns, RULE_ID) == ["a-before", "a-gap"], "the Security rule's alerts, each once"
    assert _counters(again)[-1]["existing"] >= 1, again_lines[-3000:]  # a-gap found again, not written again
    for lines in (a_lines, again_lines):
        assert " warning logwarden" not in lines, lines[-3000:]
    saved = json.loads(mark.read_text(encoding="utf-8"))["rules"]
    assert set(saved) == {RULE_ID, SYSTEM_RULE_ID}, saved


_STEP_LINE = re.compile(r"catch-up step (\d+) searched (\S+) to (\S+)$")


def test_a_detect_far_behind_catches_up_in_steps(ns: Config) -> None:
    """The mark (the single-time form an older detect wrote) says 40 s ago; the steps are 10 s:
    every event of the gap raises its alert, the log shows the bounded steps back to back, and
    the mark reaches the time catch-up ended."""
    now = datetime.now(UTC)
    mark = mark_path(ns.state_path, ns.index_prefix)
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.write_text(json.dumps({"searched_to": (now - timedelta(seconds=40)).isoformat()}) + "\n", encoding="utf-8")
    gap = {f"gap-{age}": now - timedelta(seconds=age) for age in (35, 26, 17, 8)}
    for host, when in gap.items():
        _index(ns, f"behind-{host}", host, when)
    started = datetime.now(UTC)
    service = _detect(ns, RULE, extra=("--catch-up-step", f"{STEP:g}s"), env={"LOGWARDEN_LOG_LEVEL": "debug"})
    try:
        service.wait_for("caught up: ")
        _wait(lambda: _hosts(ns) == sorted(gap), "every event of the gap alerted")
        _cleared(ns, "after")
        _wait(lambda: _hosts(ns) == sorted([*gap, "after"]), "the passes after catch-up go on as before")
    finally:
        lines = _ended(service)
    starts = [line for line in service.lines if "catching up: the window from" in line]
    assert len(starts) == 1 and f"of at most {STEP:g} s, back to back" in starts[0], lines[-3000:]
    assert service.count("caught up: ") == 1, lines[-3000:]
    steps = [_STEP_LINE.search(line) for line in service.lines]
    windows = [(datetime.fromisoformat(m[2]), datetime.fromisoformat(m[3])) for m in steps if m]
    assert len(windows) >= 4, lines[-3000:]  # 40 s behind in 10 s steps moving 9 s each
    assert windows[0][0] == now - timedelta(seconds=41)  # the mark less the overlap
    assert all((end - start).total_seconds() <= STEP for start, end in windows), windows
    # a step that stops short of now starts where the one before ended less the overlap; the last
    # (it ends at now) starts there or earlier, where the plain lookback reaches further back
    pairs = list(zip(windows, windows[1:], strict=False))
    assert all(later[0] == earlier[1] - timedelta(seconds=1) for earlier, later in pairs[:-1]), windows
    assert all(later[0] <= earlier[1] - timedelta(seconds=1) for earlier, later in pairs[-1:]), windows
    caught_up = next(line for line in service.lines if "caught up: " in line)
    assert f"caught up: {len(windows)} steps searched" in caught_up, caught_up
    assert windows[-1][1] >= started  # the last step reached the time catch-up ended
    assert SearchedMark(mark, [RULE_ID]).load(datetime.now(UTC)) is not None
    assert SearchedMark(mark, [RULE_ID]).ends(datetime.now(UTC))[RULE_ID] >= windows[-1][1]  # and later passes on
    assert " warning logwarden" not in lines, lines[-3000:]
