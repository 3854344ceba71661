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
