"""`detect --interval`: correlation state is carried from pass to pass, so the alerts (ids
included) are the same whatever the pass boundaries: two passes split inside a correlation
episode give the same alert as one pass, the second pass's version replacing the first's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from logwarden.detection.engine import Detector
from tests.support.namespaces import es_namespace

pytestmark = pytest.mark.servers

T0 = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)
N, EVERY = 300, 2  # 300 failed logons from one address, one every 2 s (brute force: 20 in 5 min)


def _docs() -> list[tuple[str, dict]]:
    out = []
    for i in range(N):
        ts = (T0 + timedelta(seconds=i * EVERY)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        eid = f"interval-{i:04d}"
        out.append((eid, {
            "@timestamp": ts,
            "winlog": {"channel": "Security", "event_id": "4625", "computer_name": "TAX-PROD",
                       "event_data": {"TargetUserName": "Administrator", "LogonType": "3",
                                      "IpAddress": "203.0.113.7"}},
            "event": {"code": "4625", "id": eid},
            "source": {"ip": "203.0.113.7"},
            "host": {"name": "TAX-PROD"},
        }))
    return out


@pytest.fixture(scope="module")
def namespace(lab):
    with es_namespace(lab.cfg, "lwint", _docs(), "2026.03.01") as (cfg, es):
        yield cfg, es


def _ids(alerts: list[dict]) -> set[tuple[str, str]]:
    return {(a["rule"]["id"], a["event"]["id"]) for a in alerts if a["sigma"]["type"] != "rule"}


def test_two_passes_split_inside_a_window_equal_one_pass(namespace, ruleset) -> None:
    from logwarden.detection.es import EsDetector

    cfg, es = namespace
    start = T0 - timedelta(minutes=10)
    end = T0 + timedelta(seconds=N * EVERY + 60)
    one = EsDetector(cfg, es, Detector(ruleset)).run_once(start, end)
    assert len(_ids(one)) == 1  # one attacker, one episode: one alert for all 300 failures
    assert [a["sigma"]["count"] for a in one if a["sigma"]["type"] != "rule"] == [N]

    # pass 1 ends inside the episode; pass 2 starts (with overlap) so late that its correlation
    # look-back (start - 5 min) begins in the middle of the failures, not at their beginning
    runner = EsDetector(cfg, es, Detector(ruleset))
    mid = T0 + timedelta(seconds=401)
    first = runner.run_once(start, mid)
    second = runner.run_once(mid - timedelta(seconds=11), end)
    assert _ids(first) == _ids(second) == _ids(one)  # the same alert, updated (replaces it by _id)
    assert [a["sigma"]["count"] for a in second if a["sigma"]["type"] != "rule"] == [N]
    base = {a["event"]["id"] for a in one if a["sigma"]["type"] == "rule"}
    assert {a["event"]["id"] for a in first + second if a["sigma"]["type"] == "rule"} == base


def test_catch_up_steps_shorter_than_a_correlation_give_the_one_pass_alert(namespace, ruleset) -> None:
    """Catch-up windows of 200 s (logwarden/detection/schedule.py `Windows.window`) across an
    episode of 600 s whose correlation spans 5 min: a step boundary is a pass boundary (the search
    reaches back by the longest timespan, correlation state is carried), so the steps give the
    alert one window gives, with every event counted."""
    from logwarden.detection.es import EsDetector
    from logwarden.detection.schedule import Windows

    cfg, es = namespace
    start = T0 - timedelta(minutes=10)
    end = T0 + timedelta(seconds=N * EVERY + 60)
    one = EsDetector(cfg, es, Detector(ruleset)).run_once(start, end)
    assert max(c.timespan for c in ruleset.correlations) > 200.0  # the steps are shorter than a correlation

    windows = Windows(lookback=60.0, overlap=30.0, step=200.0)
    windows.resume(start + timedelta(seconds=30))  # the first window starts where the one pass did
    runner = EsDetector(cfg, es, Detector(ruleset))
    latest: dict[str, dict] = {}
    steps = []
    while True:
        s, e = windows.window(end)
        steps.append((s, e))
        for alert in runner.run_once(s, e):
            latest[alert["event"]["id"]] = alert  # written by id: a later version replaces the earlier
        windows.searched(e)
        if e >= end:
            break
    assert len(steps) >= 5 and steps[0][0] == start
    assert all((e - s).total_seconds() <= 200.0 for s, e in steps if s is not None)
    stepped = list(latest.values())
    assert _ids(stepped) == _ids(one)
    assert [a["sigma"]["count"] for a in stepped if a["sigma"]["type"] != "rule"] == [N]
    assert {a["event"]["id"] for a in stepped} == {a["event"]["id"] for a in one}
