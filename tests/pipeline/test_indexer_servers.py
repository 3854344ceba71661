"""The indexer on the real Kafka and Elasticsearch (started by the project's runtime)."""

from __future__ import annotations

import signal
import time

import pytest

from logwarden.es_io import client
from logwarden.kafka_io import KafkaSink, client_options
from logwarden.pipelines.indexer import run_indexer
from logwarden.shippers.base import DeadLetter, Event, event_id
from tests.support.cli import popen
from tests.support.namespaces import count

pytestmark = pytest.mark.servers


def _event(i: int, day: str = "2020-04-14") -> Event:
    doc = {
        "@timestamp": f"{day}T00:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
        "event": {"code": "4625", "kind": "event"},
        "host.name": "ignored-dotted-key",
        "host": {"name": f"srv-{i % 3}"},
        "source": {"ip": f"203.0.113.{i % 250}"},
        "winlog": {"event_id": "4625", "event_data": {"TargetUserName": f"user{i}", "LogonType": "10"}},
    }
    return Event(event_id("test", i), "windows", f"srv-{i % 3}", doc, i)




def _produce(cfg, items) -> None:
    sink = KafkaSink(cfg)
    for item in items:
        sink.send(item)
    sink.close()


def test_index_once_exact_counts_types_and_replay(ns):
    _produce(ns, [_event(i) for i in range(500)])
    stats = run_indexer(ns, once=True, group_id=f"{ns.topic_prefix}g1")
    assert stats.created == 500 and stats.dead_lettered == 0
    es = client(ns)
    assert count(es, ns, "windows") == 500
    mapping = es.indices.get_mapping(index=f"{ns.index_prefix}windows-*")
    props = next(iter(mapping.values()))["mappings"]["properties"]
    assert props["source"]["properties"]["ip"]["type"] == "ip"
    assert "caseless" in props["winlog"]["properties"]["event_data"]["properties"]["TargetUserName"]["fields"]
    # CIDR search works because source.ip is an ip field
    assert count(es, ns, "windows", {"term": {"source.ip": "203.0.113.0/24"}}) == 500
    # index name from the event's own date
    assert list(mapping) == [f"{ns.index_prefix}windows-2020.04.14"]
    # replay the same events (a shipper rerun): still 500, all counted as already indexed
    _produce(ns, [_event(i) for i in range(500)])
    again = run_indexer(ns, once=True, group_id=f"{ns.topic_prefix}g1")
    assert again.created == 0 and again.existing == 500
    assert count(es, ns, "windows") == 500


def test_rejected_documents_and_bad_messages_become_dead_letters(ns):
    bad_ip = _event(1)
    bad_ip.doc["source"]["ip"] = "not-an-ip"  # Elasticsearch rejects it (ip field)
    no_time = _event(2)
    del no_time.doc["@timestamp"]
    hostile = _event(3)
    hostile.doc["user"] = {"name": "<script>alert(1)</script>\x00\x1b[31m"}
    _produce(ns, [bad_ip, no_time, hostile, DeadLetter("file.log", b"\xff\xfegarbage", "unrecognised format")])
    from kafka import KafkaProducer

    raw = KafkaProducer(**client_options(ns))
    raw.send(ns.topic("windows"), b"{not json")
    raw.flush()
    raw.close()
    stats = run_indexer(ns, once=True, group_id=f"{ns.topic_prefix}g1")
    assert stats.created >= 1
    es = client(ns)
    assert count(es, ns, "windows") == 1  # only the hostile-but-valid one
    got = es.search(index=f"{ns.index_prefix}windows-*")["hits"]["hits"][0]["_source"]
    assert got["user"]["name"] == "<script>alert(1)</script>\x00\x1b[31m"  # data, unchanged
    # the dead-letter index holds: the shipper's dead letter, the non-JSON message, the document
    # without @timestamp, and the document Elasticsearch rejected (with ES's reason)
    assert count(es, ns, "deadletter") == 4
    reasons = [h["_source"]["event"]["reason"] for h in
               es.search(index=f"{ns.index_prefix}deadletter-*", size=10)["hits"]["hits"]]
    assert any("not JSON" in r for r in reasons)
    assert any("@timestamp" in r for r in reasons)
    assert any("source.ip" in r and "rejected" in r for r in reasons)
    assert any(r == "unrecognised format" for r in reasons)
    base64_doc = [h["_source"] for h in es.search(index=f"{ns.index_prefix}deadletter-*", size=10)["hits"]["hits"]
                  if h["_source"]["event"]["reason"] == "unrecognised format"][0]
    assert base64_doc["event"]["original_base64"] == "//5nYXJiYWdl"


def test_indexer_killed_mid_run_then_restarted_exact(ns):
    n = 60_000
    _produce(ns, [_event(i) for i in range(n)])
    proc = popen(ns, "index", "--group", f"{ns.topic_prefix}gk")
    es = client(ns)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.3)
        if count(es, ns, "windows") > 2000:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = count(es, ns, "windows")
    assert 0 < partial < n, "kill the indexer in the middle of the run"
    stats = run_indexer(ns, once=True, group_id=f"{ns.topic_prefix}gk")
    assert count(es, ns, "windows") == n
    assert stats.existing > 0 or stats.created == n - partial  # re-read what was not committed


# Elasticsearch and Kafka outages: tests/services/test_outage_servers.py (through a proxy the test
# cuts, never by stopping the shared servers).
