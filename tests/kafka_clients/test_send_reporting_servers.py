"""`Producer.send_reporting` (the syslog sink's way to produce, one report per message instead of
a future with callbacks) with both clients against the secured lab: a delivered message is
reported once with no error; one the broker refuses (larger than the topic allows) is reported
once with an error that `delivery_error` turns into the KafkaError a future would raise."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest
from kafka.errors import KafkaError

from logwarden.kafka_clients import CONFLUENT, KAFKA_PYTHON
from logwarden.kafka_clients.interface import delivery_error
from logwarden.kafka_io import KafkaSink, admin

pytestmark = pytest.mark.servers


@pytest.mark.parametrize("client", [KAFKA_PYTHON, CONFLUENT])
def test_each_message_is_reported_once_with_its_outcome(ns, client) -> None:
    from kafka.admin import NewTopic

    cfg = copy.copy(ns)
    cfg.kafka_client = client
    topic = ns.topic(f"reported-{client}")
    admin_client = admin(ns)
    try:
        admin_client.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1,
                                             topic_configs={"max.message.bytes": "100000"})])
    finally:
        admin_client.close()
    reports: dict[str, list[Any]] = {"small": [], "big": []}
    came = {name: threading.Event() for name in reports}

    def report(name: str, error: Any, _metadata: Any = None) -> None:
        reports[name].append(error)
        came[name].set()

    sink = KafkaSink(cfg)
    try:  # one after the other: in one batch, the broker's refusal of the big one fails both
        sink.producer.send_reporting(topic, b"HOST", b"x" * 100, [("id", b"small")],
                                     lambda *outcome: report("small", *outcome))
        assert came["small"].wait(120), "no report for the small message after 120 s"
        sink.producer.send_reporting(topic, b"HOST", b"x" * 200_000, [("id", b"big")],
                                     lambda *outcome: report("big", *outcome))
        assert came["big"].wait(120), "no report for the big message after 120 s"
        sink.producer.flush(timeout=60)
    finally:
        sink.producer.close(timeout=10)
    assert reports["small"] == [None]
    assert len(reports["big"]) == 1 and reports["big"][0] is not None
    exc = delivery_error(reports["big"][0])
    assert isinstance(exc, KafkaError)
    assert exc is reports["big"][0] if client == KAFKA_PYTHON else "delivery failed" in str(exc)
