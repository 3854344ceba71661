"""Both producer clients against the secured lab (SASL_SSL + SCRAM + CA file): the same messages
arrive, a delivery failure surfaces the same way, and the client the settings select is the one
used (`make test-confluent` runs this and the shipper/indexer server tests with
LOGWARDEN_KAFKA_CLIENT=confluent)."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest

from logwarden.config import Config
from logwarden.kafka_clients import CONFLUENT, KAFKA_PYTHON
from logwarden.kafka_io import DeliveryError, KafkaSink, Message, admin, make_consumer
from logwarden.shippers.base import DeadLetter, Event
from tests.support.cli import cli
from tests.support.paths import need_shared

pytestmark = pytest.mark.servers


def _with_client(cfg: Config, client: str) -> Config:
    chosen = copy.copy(cfg)
    chosen.kafka_client = client
    return chosen


def _read_all(cfg: Config, topics: list[str], n: int) -> list[Any]:
    consumer = make_consumer(cfg, topics, cfg.group("read-back"))
    records: list[Any] = []
    try:
        for _ in range(60):
            records += [r for batch in consumer.poll(timeout_ms=1000).values() for r in batch]
            if len(records) >= n:
                break
    finally:
        consumer.close(autocommit=False)
    return records


def test_the_client_the_settings_select_is_the_one_used(lab) -> None:
    expected = os.environ.get("LOGWARDEN_KAFKA_CLIENT", KAFKA_PYTHON)
    sink = KafkaSink(lab.cfg)
    try:
        assert lab.cfg.kafka_client == expected
        assert sink.producer.client == expected
        if expected == CONFLUENT:
            import confluent_kafka

            assert isinstance(sink.producer._producer, confluent_kafka.Producer)  # type: ignore[attr-defined]
    finally:
        sink.close()


@pytest.mark.parametrize("client", [KAFKA_PYTHON, CONFLUENT])
def test_both_clients_deliver_the_same_messages(ns, client) -> None:
    cfg = _with_client(ns, client)
    events = [Event(f"id-{i}", "windows", f"HOST-{i % 3}", {"event": {"code": "4625"}, "n": i}) for i in range(500)]
    letter = DeadLetter("file:x.evtx", b"\x00not xml", "not an event record", "windows")
    sink = KafkaSink(cfg)
    assert sink.producer.client == client
    items: list[Event | DeadLetter] = [*events, letter]
    for item in items:
        sink.send(item)
    sink.close()
    records = _read_all(cfg, [cfg.topic("windows"), cfg.topic("deadletter")], len(events) + 1)
    assert len(records) == len(events) + 1
    by_id = {dict(r.headers)["id"].decode(): r for r in records}
    assert set(by_id) == {e.id for e in events} | {letter.id}
    assert by_id["id-4"].key == b"HOST-1" and by_id["id-4"].topic == cfg.topic("windows")
    assert by_id[letter.id].topic == cfg.topic("deadletter")


@pytest.mark.parametrize("client", [KAFKA_PYTHON, CONFLUENT])
def test_a_refused_message_is_a_delivery_error_with_both_clients(ns, client) -> None:
    """The broker refuses a message over its topic's size limit: flush raises DeliveryError, the
    signal every shipper uses to not checkpoint. (Afterwards the two differ: kafka-python's
    idempotent producer treats the refusal as fatal and fails every later send; librdkafka goes on.)"""
    from kafka.admin import NewTopic

    topic = ns.topic(f"small-{client}")
    admin_client = admin(ns)
    try:
        admin_client.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1,
                                             topic_configs={"max.message.bytes": "100000"})])
    finally:
        admin_client.close()
    sink = KafkaSink(_with_client(ns, client))
    try:
        sink.send_message(Message(topic, b"HOST", b"x" * 200_000, "too-big"))
        with pytest.raises(DeliveryError, match="not delivered"):
            sink.flush(timeout=60)
    finally:
        sink.producer.close(timeout=10)


def test_ship_evtx_with_the_confluent_client(ns) -> None:
    sample = sorted(need_shared("evtx").rglob("*.evtx"))[0]
    proc = cli(_with_client(ns, CONFLUENT), "--log-level", "debug", "ship", "evtx", str(sample), "--json",
               "--no-progress")
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "with the confluent client" in proc.stderr
    assert "with the kafka-python client" not in proc.stderr


@pytest.mark.parametrize("client", [KAFKA_PYTHON, CONFLUENT])
def test_a_refused_login_is_the_same_server_error_with_both_clients(lab, client) -> None:
    from logwarden.errors import ServerError

    cfg = _with_client(lab.cfg, client)
    if not cfg.kafka_sasl:
        pytest.fail("the lab is expected to be the secured one (SASL_SSL)")
    cfg.kafka_password = "not-the-password"
    with pytest.raises(ServerError) as refused:
        KafkaSink(cfg, bootstrap_timeout_ms=5_000)
    assert str(refused.value) == (f"Kafka at {cfg.kafka} refused the SASL {cfg.kafka_sasl_mechanism} login of user "
                                  f"{cfg.kafka_user!r} (wrong user or password, or a mechanism the broker does not "
                                  "enable)")
    assert "not-the-password" not in str(refused.value)
