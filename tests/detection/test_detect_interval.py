"""`detect --interval`: correlation state is carried from pass to pass, so the alerts (ids
included) are the same whatever the pass boundaries: two passes split inside a correlation
window give exactly what one pass gives."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from logwarden.detection.engine import Detector

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
    from logwarden.es_io import client, templates
    from logwarden.shippers.base import dumps

    tag = f"lwint{uuid.uuid4().hex[:8]}"
    cfg = dataclasses.replace(lab.cfg, index_prefix=f"logwarden-{tag}-")
    es = client(cfg)
    es.indices.put_index_template(name=tag, index_patterns=[f"{cfg.index_prefix}*"], priority=500,
                                  template=templates()["logwarden"]["template"])
    try:
        body = b"".join(dumps({"create": {"_index": f"{cfg.index_prefix}windows-2026.03.01", "_id": eid}}) + b"\n"
                        + dumps(d) + b"\n" for eid, d in _docs())
        assert not es.bulk(body=body, refresh="wait_for")["errors"]
        yield cfg, es
    finally:
        names = list(es.indices.get(index=f"{cfg.index_prefix}*", allow_no_indices=True, ignore_unavailable=True))
        if names:
            es.indices.delete(index=",".join(names))
        es.indices.delete_index_template(name=tag)


def _ids(alerts: list[dict]) -> set[tuple[str, str]]:
    return {(a["rule"]["id"], a["event"]["id"]) for a in alerts if a["sigma"]["type"] != "rule"}


def test_two_passes_split_inside_a_window_equal_one_pass(namespace, ruleset) -> None:
    from logwarden.detection.es import EsDetector

    cfg, es = namespace
    start = T0 - timedelta(minutes=10)
    end = T0 + timedelta(seconds=N * EVERY + 60)
    one = EsDetector(cfg, es, Detector(ruleset)).run_once(start, end)
    assert len(_ids(one)) == N // 20  # fires every 20 failures (the window restarts after an alert)

    # pass 1 ends inside a window; pass 2 starts (with overlap) so late that its correlation
    # look-back (start - 5 min) begins in the middle of the failures, not at their beginning
    runner = EsDetector(cfg, es, Detector(ruleset))
    mid = T0 + timedelta(seconds=401)
    first = runner.run_once(start, mid)
    second = runner.run_once(mid - timedelta(seconds=11), end)
    assert _ids(first) & _ids(second) == set()  # nothing fired twice
    assert _ids(first) | _ids(second) == _ids(one)
    base = {a["event"]["id"] for a in one if a["sigma"]["type"] == "rule"}
    assert {a["event"]["id"] for a in first + second if a["sigma"]["type"] == "rule"} == base
