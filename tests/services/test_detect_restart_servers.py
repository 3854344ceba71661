"""`detect --interval` stopped and started again, on the real secured Elasticsearch: an event
dated in the time no `detect` ran, older than the restarted pass's own lookback, still raises its
alert, once, because the restart reaches back to where the last run's passes had searched
(logwarden/detection/searched_mark.py). The state folder is the test namespace's own."""

from __future__ import annotations

import time

import pytest

from logwarden.config import Config
from logwarden.detection.searched_mark import mark_path
from tests.security.test_detect_midrun_servers import KEPT_OUT, LOOKBACK, RULE, _cleared, _hosts, _wait
from tests.services.helpers import Service

pytestmark = pytest.mark.servers


def _detect(cfg: Config) -> Service:
    return Service(cfg, "detect", "--interval", f"{LOOKBACK:g}s", "--lookback", f"{LOOKBACK:g}s", "--overlap", "1s",
                   "--rules", RULE, "--no-silence", "--json")


def test_a_restarted_detect_searches_the_time_it_was_stopped(ns: Config) -> None:
    first = _detect(ns)
    _cleared(ns, "before")
    _wait(lambda: _hosts(ns) == ["before"], "the first run's alert written")
    code, _ = first.stop()
    assert code == 0, "\n".join(first.lines[-30:])
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
        code, _ = second.stop()
    lines = "\n".join(second.lines)
    assert code == 0, lines[-3000:]
    assert "Traceback" not in lines, lines[-3000:]
    assert not [line for line in second.lines if " warning logwarden" in line], lines[-3000:]  # the mark read cleanly
