"""`stream`'s reorder buffer on the real Kafka (issue 12, the engines agree): one source spraying
three hosts whose events are keyed to three different input partitions, produced one host after
the other, the last host's first (the group's hits reach the counting member out of time order,
all within the grace), counted by 2 members: the alert ids are hunt's. The group commits each
host's events before the next host's are produced, so the arrival order is the reverse of time
order by construction, whichever member reads which partition.

Under continuous load (the grace's promise, issue 12): a member whose repartition partition
keeps receiving hits a little older than its newest one still raises the alert that newest hit
completes once the hit has waited the grace, before the load ends.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import pytest

from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector, run_batch
from logwarden.kafka_io import KafkaSink, client_options, ensure_topics
from logwarden.shippers.base import Event
from tests.services.helpers import Service, produce, read_topic
from tests.support.namespaces import cleanup, isolated

from .test_stream_members_servers import PARTITIONS, _alert_ids, _joined, _namespace, _stopped, _wait_committed
from .test_stream_reorder_unit import _stray, spray

pytestmark = pytest.mark.servers

HOSTS = ("SRV-00", "SRV-01", "SRV-05")  # keys the default (murmur2) partitioner puts in partitions 0, 1, 2 of 3
STRAYS = 400  # the load's events at most, one every LOAD_PAUSE seconds (100 s: 20 times the grace)
LOAD_PAUSE = 0.25


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


def test_under_continuous_load_a_held_alert_comes_out_before_the_load_ends(lab, tmp_path: Path) -> None:
    """One partition per topic: the spray's events, then a steady load of failed logons from
    addresses seen once (they fire nothing), each a second older than the spray's newest event,
    so within the default grace (5 s) and never moving the partition's watermark. The chained
    correlation (brute force then success) is completed by that newest event: it must come out
    while the load goes on. Before, every new hit restarted the wall-clock wait, and it came out
    only when the load stopped."""
    docs = spray(HOSTS)
    strays = [_stray(k) for k in range(STRAYS)]
    spray_alerts = run_batch(Detector(load_ruleset(None)), [(d["event"]["id"], d) for d in docs])
    chained = {a["event"]["id"] for a in spray_alerts if a["sigma"]["type"] == "temporal_ordered"}
    assert chained
    cfg = dataclasses.replace(isolated(lab.cfg, tmp_path / "load"), kafka_partitions="1")
    assert cfg.reorder_grace == 5.0
    stop, sent = threading.Event(), [0]

    def load() -> None:
        sink = KafkaSink(cfg)
        try:
            for doc in strays:
                if stop.wait(LOAD_PAUSE):
                    break
                sink.send(Event(doc["event"]["id"], "windows", doc["host"]["name"], doc))
                sink.flush()
                sent[0] += 1
        finally:
            sink.close()

    from kafka import KafkaConsumer

    try:
        ensure_topics(cfg)
        member = Service(cfg, "stream", "--json")
        _joined(cfg, [member])
        produce(cfg, [Event(d["event"]["id"], "windows", d["host"]["name"], d, i) for i, d in enumerate(docs)])
        loader = threading.Thread(target=load)
        alerts = KafkaConsumer(cfg.topic("alerts"), **client_options(cfg), auto_offset_reset="earliest",
                               enable_auto_commit=False, group_id=None)
        seen: set[str] = set()
        loader.start()
        try:
            while not chained <= seen and loader.is_alive():
                for msgs in alerts.poll(timeout_ms=500).values():
                    seen.update(json.loads(m.value)["event"]["id"] for m in msgs)
            under_load = loader.is_alive()
        finally:
            stop.set()
            loader.join()
            alerts.close()
        assert chained <= seen and under_load, f"the chained alert came only after the load ({sent[0]} events)"
        _wait_committed(cfg, [member])
        (counters,) = _stopped([member])
        hunt = run_batch(Detector(load_ruleset(None)), [(d["event"]["id"], d) for d in docs + strays[:sent[0]]])
        expected = {a["event"]["id"] for a in hunt}
        got = _alert_ids(cfg)
        assert got == expected, f"missing {len(expected - got)}, extra {len(got - expected)}"
        assert sent[0] > 0 and counters["counted"] > 0, counters
    finally:
        cleanup(cfg)
