"""Least privilege on the real secured servers: each component's credential does its job and
nothing else. Elasticsearch: the lab's file-realm users with the roles of logwarden/access.py;
Kafka: the lab's SCRAM users with the ACLs `setup --access apply` creates for a namespace."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
from elasticsearch import AuthorizationException

from logwarden import es_io
from logwarden.config import Config
from logwarden.kafka_io import ConsumerRefused, DeliveryError, KafkaError, KafkaSink, make_consumer
from logwarden.runtime.lab import Lab
from logwarden.shippers.base import Event
from tests.support.cli import cli

pytestmark = pytest.mark.servers

DAY = "2026.12.04"


def _as(ns: Config, lab: Lab, es_user: str = "", kafka_user: str = "") -> Config:
    if not lab.secure:
        pytest.fail("the lab runs without security (a plaintext lab was found on its ports)", pytrace=False)
    cfg = copy.copy(ns)
    if es_user:
        cfg.es_user, cfg.es_password = es_user, lab.passwords()[f"es:{es_user}"]
    if kafka_user:
        cfg.kafka_user, cfg.kafka_password = kafka_user, lab.passwords()[f"kafka:{kafka_user}"]
    return cfg


def _doc(text: str) -> dict[str, Any]:
    return {"@timestamp": "2026-12-04T10:00:00Z", "message": text, "host": {"name": "ws1"}}


def test_es_indexer_creates_documents_and_cannot_delete_or_read(ns: Config, lab: Lab) -> None:
    es = es_io.client(_as(ns, lab, es_user="logwarden-indexer"))
    index = f"{ns.index_prefix}windows-{DAY}"
    assert es.create(index=index, id="e1", document=_doc("indexed"))["result"] == "created"
    admin = es_io.client(ns)
    admin.create(index=f"{ns.index_prefix}alerts-{DAY}", id="a1", document=_doc("an alert"), refresh="wait_for")
    with pytest.raises(AuthorizationException, match="indices:admin/delete"):
        es.indices.delete(index=index)
    with pytest.raises(AuthorizationException, match="indices:data/read"):
        es.search(index=f"{ns.index_prefix}alerts-*")
    with pytest.raises(AuthorizationException):
        es.index(index=index, id="e1", document=_doc("overwritten"))  # create only: no updates
    assert admin.get(index=index, id="e1")["_source"]["message"] == "indexed"


def test_es_detector_reads_and_writes_only_alerts(ns: Config, lab: Lab) -> None:
    admin = es_io.client(ns)
    admin.create(index=f"{ns.index_prefix}windows-{DAY}", id="e1", document=_doc("event"), refresh="wait_for")
    es = es_io.client(_as(ns, lab, es_user="logwarden-detector"))
    assert es.search(index=f"{ns.index_prefix}windows-*")["hits"]["total"]["value"] == 1
    assert es.create(index=f"{ns.index_prefix}alerts-{DAY}", id="a1", document=_doc("alert"))["result"] == "created"
    with pytest.raises(AuthorizationException):
        es.create(index=f"{ns.index_prefix}windows-{DAY}", id="e2", document=_doc("forged event"))
    with pytest.raises(AuthorizationException):
        es.indices.delete(index=f"{ns.index_prefix}windows-{DAY}")


def test_index_once_as_the_indexer_leaves_its_documents_searchable(ns: Config, lab: Lab) -> None:
    """`index --once` refreshes what it wrote before it exits; the indexer's role must allow
    that refresh (before: exit 3 at the end, "indices:admin/refresh" refused, after indexing)."""
    sink = KafkaSink(ns)
    sink.send(_event("indexed by the indexer"))
    sink.close()
    done = cli(_as(ns, lab, es_user="logwarden-indexer"), "index", "--once")
    assert done.returncode == 0, done.stderr[-2000:]
    hits = es_io.client(ns).search(index=f"{ns.index_prefix}windows-*")["hits"]["hits"]  # no refresh of its own
    assert [h["_source"]["message"] for h in hits] == ["indexed by the indexer"]


def _event(text: str) -> Event:
    return Event(dataset="windows", id=f"id-{text}", key="ws1", doc=_doc(text))


def _poll_until(consumer: Any, want: int, seconds: float = 60) -> list[Any]:
    got: list[Any] = []
    deadline = time.monotonic() + seconds
    while len(got) < want and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=1000).values():
            got.extend(records)
    return got


def test_kafka_acls_give_each_component_its_topics_only(ns: Config, lab: Lab) -> None:
    applied = cli(_as(ns, lab), "setup", "--no-es", "--access", "apply")
    assert applied.returncode == 0, applied.stderr[-2000:]
    assert "Kafka ACLs created" in applied.stdout

    shipper = _as(ns, lab, kafka_user="logwarden-shipper")
    sink = KafkaSink(shipper)
    sink.send(_event("shipped"))
    sink.close()  # acknowledged: the shipper may write its topics

    # ... and may not read them: the consumer names the refusal (logwarden/kafka_io.py RefusalNamingConsumer)
    with pytest.raises(ConsumerRefused, match="permission missing.*'logwarden-shipper'"):
        consumer = make_consumer(shipper, [ns.topic("windows")], ns.group("indexer"))
        try:
            _poll_until(consumer, 1, seconds=20)
        finally:
            consumer.close()

    indexer = _as(ns, lab, kafka_user="logwarden-indexer")
    consumer = make_consumer(indexer, [ns.topic("windows")], ns.group("indexer"))
    try:
        assert [json.loads(r.value)["message"] for r in _poll_until(consumer, 1)] == ["shipped"]
    finally:
        consumer.close()
    with pytest.raises((KafkaError, DeliveryError)):  # the indexer may not write events
        forged = KafkaSink(indexer, max_block_ms=10_000)
        try:
            forged.send(_event("forged"))
            forged.flush(timeout=20)
        finally:
            forged.producer.close(timeout=5)
