"""`ship kafka` on the real servers: Winlogbeat-shaped documents on an agents' topic -> ship kafka ->
logwarden.windows -> index -> Elasticsearch, beside the same events' XML through `ship evtx`:
one document per event with the XML route's fields, dead letters for the rest, the rules firing
in `stream`, the offsets committed, and a clean stop on SIGTERM."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from logwarden.config import Config
from logwarden.es_io import client
from logwarden.kafka_io import KafkaSink, ensure_topics
from logwarden.shippers.base import Event
from logwarden.shippers.windows import iter_file
from tests.services.helpers import Service, committed_everything, group_state
from tests.ship_kafka.samples import BAD_MESSAGES, NAMES, encoded, failed_logon_burst, winlogbeat, xml_path
from tests.ship_kafka.test_agent_documents import EXPECTED_RULES
from tests.support.cli import cli
from tests.support.namespaces import count

pytestmark = pytest.mark.servers

AGENT_TOPIC = "soc-winlogbeat"  # under the namespace's prefix: deleted with it


def agent_topic(cfg: Config) -> str:
    """The agents' topic of the namespace (created, two partitions like a SOC's would have)."""
    ensure_topics(cfg, (AGENT_TOPIC,))
    return cfg.topic(AGENT_TOPIC)


def produce_values(cfg: Config, topic: str, values: list[bytes]) -> None:
    """Raw message values keyed by one host (one partition: the agent's order is kept), acknowledged,
    through the producer logwarden builds from the config (so it speaks the lab's security)."""
    sink = KafkaSink(cfg)
    try:
        for value in values:
            sink.producer.send(topic, key=b"tax-prod", value=value).get(timeout=60)
    finally:
        sink.producer.close(timeout=10)


def last_json(out: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def xml_route(name: str) -> Event:
    [event] = list(iter_file(xml_path(name)))
    assert isinstance(event, Event)
    return event


def test_agents_topic_to_elasticsearch_once_per_event_with_the_xml_routes_fields(ns: Config) -> None:
    topic = agent_topic(ns)
    burst = failed_logon_burst(24)
    values = [encoded(winlogbeat(n, include_xml=True)) for n in NAMES] + [encoded(d) for d in burst]
    values += [v for v, _ in BAD_MESSAGES]
    produce_values(ns, topic, values)

    first = cli(ns, "ship", "kafka", "--topic", topic, "--source", "windows", "--once", "--json")
    assert "Traceback" not in first.stderr, first.stderr[-3000:]
    assert first.returncode == 1, first.stderr[-3000:]  # dead letters: README's exit 1, the rest shipped
    stats = last_json(first.stdout)
    assert stats["consumed"] == len(values)
    assert stats["produced"] == len(NAMES) + len(burst)
    assert stats["from_original_xml"] == len(NAMES)
    assert stats["dead_letters"] == len(BAD_MESSAGES) == sum(stats["reasons"].values())
    assert stats["uncommitted"] == 0
    assert f"{len(BAD_MESSAGES)} messages were not agent documents" in first.stderr

    # the same six events from their XML, the way a site replaying its EVTX exports would ship them
    evtx = cli(ns, "ship", "evtx", *(str(xml_path(n)) for n in NAMES), "--json", "--no-progress")
    assert evtx.returncode == 0, evtx.stderr[-3000:]
    assert last_json(evtx.stdout)["produced"] == len(NAMES)

    index = cli(ns, "index", "--once", "--json")
    assert index.returncode == 0, index.stderr[-3000:]
    indexed = last_json(index.stdout)
    assert indexed["existing"] == len(NAMES)  # the XML route's copies: same ids, refused as existing

    es = client(ns)
    assert count(es, ns, "windows") == len(NAMES) + len(burst)
    for name in NAMES:
        expected = xml_route(name)
        found = es.search(index=f"{ns.index_prefix}windows-*", query={"ids": {"values": [expected.id]}})["hits"]
        [hit] = found["hits"]
        source = hit["_source"]
        assert source.pop("log")["level"] == expected.doc["log"]["level"]
        del expected.doc["log"]  # log.file.path: the XML route names its file, the Kafka route none
        assert source.pop("event.ingested")  # set by the indexer (a dotted key: appended, not parsed)
        assert source == {**expected.doc, "event": {**expected.doc["event"], "id": expected.id}}, name

    assert count(es, ns, "deadletter") == len(BAD_MESSAGES)
    dead = es.search(index=f"{ns.index_prefix}deadletter-*", size=50)["hits"]["hits"]
    reasons = sorted(d["_source"]["event"]["reason"] for d in dead)
    for _, start in BAD_MESSAGES:
        assert any(r.startswith(start) for r in reasons), (start, reasons)
    assert all(d["_source"]["logwarden"]["origin"].startswith(f"kafka:{topic}/") for d in dead)

    # everything was committed: a second run finds nothing to do
    again = cli(ns, "ship", "kafka", "--topic", topic, "--source", "windows", "--once", "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    assert last_json(again.stdout)["consumed"] == 0

    # the detection that follows is unchanged: the stream engine raises the incident's alerts
    stream = cli(ns, "stream", "--once", "--json")
    assert stream.returncode == 0, stream.stderr[-3000:]
    assert cli(ns, "index", "--once", "--json").returncode == 0
    alerts = es.search(index=f"{ns.index_prefix}alerts-*", size=200)["hits"]["hits"]
    fired = {a["_source"]["rule"]["name"] for a in alerts}
    assert fired >= EXPECTED_RULES, EXPECTED_RULES - fired


def test_a_topic_of_logwarden_itself_is_refused(ns: Config) -> None:
    proc = cli(ns, "ship", "kafka", "--topic", ns.topic("windows"), "--source", "windows", "--once")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "one of logwarden's own topics" in proc.stderr


def test_sigterm_finishes_commits_leaves_the_group_and_exits_0(ns: Config) -> None:
    topic = agent_topic(ns)
    gid = f"{ns.topic_prefix}ship-kafka-test"
    service = Service(ns, "ship", "kafka", "--topic", topic, "--source", "windows", "--group", gid, "--json")
    values = [encoded(winlogbeat(n)) for n in NAMES] + [encoded(d) for d in failed_logon_burst(200)]
    produce_values(ns, topic, values)
    deadline = time.monotonic() + 180
    while not committed_everything(ns, gid, [topic]):
        assert service.proc.poll() is None, "\n".join(service.lines[-20:])
        assert time.monotonic() < deadline, "not committed: " + "\n".join(service.lines[-20:])
        time.sleep(0.5)
    code, out = service.stop()
    assert code == 0, "\n".join(service.lines[-20:])
    stats = last_json(out)
    assert stats["produced"] == len(values) and stats["dead_letters"] == 0 and stats["uncommitted"] == 0
    assert group_state(ns, gid) == ("Empty", 0)
    assert service.count("SIGTERM received") == 1
    index = cli(ns, "index", "--once", "--json")
    assert index.returncode == 0, index.stderr[-3000:]
    assert count(client(ns), ns, "windows") == len(values)


def test_a_batch_produced_again_after_a_lost_commit_is_indexed_once(ns: Config) -> None:
    """At least once into Kafka, exactly once into Elasticsearch: a crash after produce and before
    the commit reads the batch again (here: a second group reads the same topic) and produces the
    same events again; the deterministic ids make the indexer keep one of each."""
    topic = agent_topic(ns)
    values = [encoded(winlogbeat(n)) for n in NAMES] + [encoded(winlogbeat(n, include_xml=True)) for n in NAMES[:2]]
    produce_values(ns, topic, values)
    for group in ("first", "after-crash"):
        proc = cli(ns, "ship", "kafka", "--topic", topic, "--source", "windows", "--once", "--json",
                   "--group", f"{ns.topic_prefix}{group}")
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert last_json(proc.stdout)["produced"] == len(values)
    index = cli(ns, "index", "--once", "--json")
    assert index.returncode == 0, index.stderr[-3000:]
    stats = last_json(index.stdout)
    # the id hashes the time cut to milliseconds (normalise.id_time): the two XML-carrying copies
    # are the same events as their Winlogbeat-only twins, so no more distinct ids (docs/agents.md)
    distinct = len(NAMES)
    assert (stats["created"], stats["existing"]) == (distinct, 2 * len(values) - distinct)
    assert count(client(ns), ns, "windows") == distinct
