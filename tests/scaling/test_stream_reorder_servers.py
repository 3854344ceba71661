"""`stream`'s reorder buffer on the real Kafka (issue 12, the engines agree): one source spraying
three hosts whose events are keyed to three different input partitions, produced one host after
the other, the last host's first (the group's hits reach the counting member out of time order,
all within the grace), counted by 2 members: the alert ids are hunt's. The group commits each
host's events before the next host's are produced, so the arrival order is the reverse of time
order by construction, whichever member reads which partition."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector, run_batch
from logwarden.kafka_io import ensure_topics
from logwarden.shippers.base import Event
from tests.services.helpers import Service, produce, read_topic
from tests.support.namespaces import cleanup

from .test_stream_members_servers import PARTITIONS, _alert_ids, _joined, _namespace, _stopped, _wait_committed
from .test_stream_reorder_unit import spray

pytestmark = pytest.mark.servers

HOSTS = ("SRV-00", "SRV-01", "SRV-05")  # keys the default (murmur2) partitioner puts in partitions 0, 1, 2 of 3

def _partitions_by_host(cfg, topic: str) -> dict[str, set[int]]:
    """Where each host's events landed (read back from the topic)."""
    found: dict[str, set[int]] = {}
    for m in read_topic(cfg, topic):
        found.setdefault(json.loads(m.value)["host"]["name"], set()).add(m.partition)
    return found


def test_a_group_spread_over_three_partitions_read_out_of_order_gives_hunt_alert_ids(lab, tmp_path: Path) -> None:
    docs = spray(HOSTS)
    hunt = run_batch(Detector(load_ruleset(None)), [(d["event"]["id"], d) for d in docs])
    assert {"event_count", "value_count", "temporal_ordered"} <= {a["sigma"]["type"] for a in hunt}
    cfg = dataclasses.replace(_namespace(lab.cfg, tmp_path, "reorder"), stream_reorder_grace="10m")
    try:
        ensure_topics(cfg)
        members = [Service(cfg, "stream", "--json"), Service(cfg, "stream", "--json")]
        _joined(cfg, members)
        for host in reversed(HOSTS):  # the last host's events first, each host's committed before the next
            produce(cfg, [Event(d["event"]["id"], "windows", host, d, i) for i, d in enumerate(docs)
                          if d["host"]["name"] == host])
            _wait_committed(cfg, members)
        counters = _stopped(members)  # a clean stop counts what the buffers still hold
        got = _alert_ids(cfg)
        expected = {a["event"]["id"] for a in hunt}
        assert got == expected, f"missing {len(expected - got)}, extra {len(got - expected)}"
        landed = _partitions_by_host(cfg, cfg.topic("windows"))  # the group did span the three partitions
        assert sorted(p for h in HOSTS for p in landed[h]) == list(range(PARTITIONS)), landed
        assert sum(c["counted"] for c in counters) > 0 and sum(c["late"] for c in counters) == 0, counters
    finally:
        cleanup(cfg)
