"""The producer interface without servers: the confluent option mapping (security settings
included), the setting and its one-line refusal, and the delivery future's callbacks."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from types import SimpleNamespace
from typing import Any, cast

import pytest

from logwarden.config import Config, ConfigError, validate
from logwarden.kafka_clients import make_producer
from logwarden.kafka_clients.confluent import ConfluentDelivery, ConfluentProducer, librdkafka_config
from logwarden.kafka_io import client_options
from tests.support.paths import ROOT


def test_security_settings_map_one_to_one_to_librdkafka() -> None:
    cfg = Config(kafka="k1:9093,k2:9093", kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
                 kafka_user="shipper", kafka_password="pw", kafka_ca_file="/ca.pem", kafka_cert_file="/c.pem",
                 kafka_key_file="/k.pem")
    config = librdkafka_config({**client_options(cfg), "acks": "all", "linger_ms": 20, "client_id": "x"})
    assert config == {
        "bootstrap.servers": "k1:9093,k2:9093", "security.protocol": "sasl_ssl",
        "ssl.endpoint.identification.algorithm": "https", "ssl.ca.location": "/ca.pem",
        "ssl.certificate.location": "/c.pem", "ssl.key.location": "/k.pem", "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "shipper", "sasl.password": "pw", "acks": "all", "linger.ms": 20, "client.id": "x",
        # kafka-python's defaults where librdkafka's differ
        "enable.idempotence": True, "delivery.timeout.ms": 120_000, "queue.buffering.max.kbytes": 32 * 1024,
        "partitioner": "murmur2_random"}


def test_an_option_without_equivalent_is_refused_not_dropped() -> None:
    with pytest.raises(ValueError, match="proxy_url"):
        librdkafka_config({"proxy_url": "socks5://127.0.0.1:1"})


def test_the_setting_names_its_choices() -> None:
    with pytest.raises(ConfigError, match=r"kafka_client \(LOGWARDEN_KAFKA_CLIENT\): 'rdkafka' is not one of"):
        validate(Config(kafka_client="rdkafka"))


def test_confluent_without_the_package_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "confluent_kafka", None)  # what an install without [fast] looks like
    monkeypatch.delitem(sys.modules, "logwarden.kafka_clients.confluent", raising=False)
    with pytest.raises(ConfigError, match=r"logwarden\[fast\]"):
        validate(Config(kafka_client="confluent"))
    with pytest.raises(ConfigError, match=r"logwarden\[fast\]"):
        make_producer(Config(kafka_client="confluent"), {})


def test_confluent_without_the_package_is_one_line_and_exit_2(tmp_path: Any) -> None:
    code = ("import sys; sys.modules['confluent_kafka'] = None; from logwarden.cli import main; "
            f"sys.exit(main(['ship', 'evtx', {str(tmp_path)!r}]))")
    env = {"PATH": "/usr/bin:/bin", "LOGWARDEN_KAFKA_CLIENT": "confluent", "LOGWARDEN_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'logwarden[fast]'" in lines[0], proc.stderr


def _report(error: str | None) -> Any:
    return None if error is None else SimpleNamespace(str=lambda: error, name=lambda: "_MSG_SIZE_TOO_LARGE")


def test_delivery_runs_callbacks_added_before_and_after_its_outcome() -> None:
    seen: list[tuple[str, Any]] = []
    ok = ConfluentDelivery(threading.Lock())
    ok.add_callback(lambda n, meta: seen.append(("ok", n)), 1)
    ok.add_errback(lambda n, exc: seen.append(("failed", n)), 1)
    ok.resolve(_report(None), "message")
    ok.add_callback(lambda n, meta: seen.append(("ok late", n)), 2)
    assert ok.succeeded() and ok.get(0) == "message"
    assert seen == [("ok", 1), ("ok late", 2)]

    bad = ConfluentDelivery(threading.Lock())
    bad.add_errback(lambda n, exc: seen.append(("failed", n)), 3)
    bad.resolve(_report("Message size too large"), None)
    bad.add_errback(lambda n, exc: seen.append(("failed late", n)), 4)
    bad.add_callback(lambda n, meta: seen.append(("never", n)), 5)
    assert bad.failed() and "Message size too large" in str(bad.exception)
    assert seen[2:] == [("failed", 3), ("failed late", 4)]
    from kafka.errors import KafkaError

    with pytest.raises(KafkaError):
        bad.get(0)


def test_consumer_options_map_to_librdkafka_and_an_unknown_one_is_refused() -> None:
    from logwarden.kafka_clients.confluent_consumer import consumer_config

    cfg = Config(kafka="k1:9093", kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
                 kafka_user="indexer", kafka_password="pw", kafka_ca_file="/ca.pem")
    config = consumer_config({**client_options(cfg), "group_id": "g", "enable_auto_commit": False,
                              "auto_offset_reset": "earliest", "max_poll_records": 5000, "session_timeout_ms": 10_000,
                              "group_instance_id": "m1", "bootstrap_timeout_ms": 5_000})
    assert config == {
        "bootstrap.servers": "k1:9093", "security.protocol": "sasl_ssl",
        "ssl.endpoint.identification.algorithm": "https", "ssl.ca.location": "/ca.pem",
        "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "indexer", "sasl.password": "pw", "group.id": "g",
        "enable.auto.commit": False, "auto.offset.reset": "earliest", "session.timeout.ms": 10_000,
        "group.instance.id": "m1"}
    with pytest.raises(ValueError, match="proxy_url"):
        consumer_config({"proxy_url": "socks5://127.0.0.1:1"})


class _Message:
    def __init__(self, topic: str, partition: int, offset: int, error: Any = None) -> None:
        self._where, self._offset, self._error = (topic, partition), offset, error

    def error(self) -> Any:
        return self._error

    def topic(self) -> str:
        return self._where[0]

    def partition(self) -> int:
        return self._where[1]

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_700_000_000_000 + self._offset)

    def key(self) -> bytes:
        return b"HOST"

    def value(self) -> bytes:
        return b"{}"

    def headers(self) -> None:
        return None


class _Librdkafka:
    """What ConfluentConsumer.poll calls of confluent_kafka.Consumer: queued batches."""

    def __init__(self, batches: list[list[_Message]]) -> None:
        self.batches = batches

    def consume(self, n: int, timeout: float) -> list[_Message]:
        return self.batches.pop(0)[:n] if self.batches else []

    def poll(self, timeout: float) -> None:
        return None


def _confluent_consumer(batches: list[list[_Message]]) -> Any:
    from logwarden.kafka_clients.confluent_consumer import ConfluentConsumer

    consumer = ConfluentConsumer.__new__(ConfluentConsumer)
    consumer.max_records, consumer._positions, consumer._consumer = 500, {}, _Librdkafka(batches)  # type: ignore[assignment]
    return consumer


def test_confluent_poll_groups_by_partition_and_never_drops_records_beside_an_error() -> None:
    import confluent_kafka
    from kafka.errors import KafkaError
    from kafka.structs import TopicPartition

    broken = confluent_kafka.KafkaError(confluent_kafka.KafkaError._TRANSPORT)
    eof = confluent_kafka.KafkaError(confluent_kafka.KafkaError._PARTITION_EOF)
    consumer = _confluent_consumer([
        [_Message("t", 0, 4), _Message("t", 1, 9), _Message("", -1, -1, broken), _Message("t", 0, 5)],
        [_Message("", -1, -1, eof)],
        [_Message("", -1, -1, broken)],
    ])
    got = consumer.poll(timeout_ms=0)
    assert {tp: [r.offset for r in rs] for tp, rs in got.items()} == {TopicPartition("t", 0): [4, 5],
                                                                      TopicPartition("t", 1): [9]}
    first = got[TopicPartition("t", 0)][0]
    assert (first.topic, first.key, first.value, first.headers, first.timestamp) == ("t", b"HOST", b"{}", [],
                                                                                      1_700_000_000_004)
    assert consumer.position(TopicPartition("t", 0)) == 6 and consumer.position(TopicPartition("t", 1)) == 10
    assert consumer.poll(timeout_ms=0) == {}  # end of a partition is not an error
    with pytest.raises(KafkaError, match="poll"):  # an error alone is raised: the loop backs off
        consumer.poll(timeout_ms=0)


def test_the_confluent_poller_survives_a_poll_that_raises(caplog: pytest.LogCaptureFixture) -> None:
    """A callback that raised or a fatal client error comes out of `poll`: one ERROR line per text
    (hostile text printable), and the poller keeps serving the reports that follow."""
    class Raising:
        def __init__(self) -> None:
            self.polls = 0
            self.served = threading.Event()

        def poll(self, timeout: float) -> int:
            self.polls += 1
            if self.polls <= 3:
                raise RuntimeError("Cluster authorization failed\x1b[2J")
            if self.polls >= 6:
                self.served.set()
            return 0

    producer = object.__new__(ConfluentProducer)
    fake = Raising()
    producer._producer = cast(Any, fake)  # a stand-in for librdkafka's handle
    producer._closed = threading.Event()
    with caplog.at_level(logging.ERROR, logger="logwarden.kafka_clients.confluent"):
        poller = threading.Thread(target=producer._poll, daemon=True)
        poller.start()
        assert fake.served.wait(60), fake.polls
        producer._closed.set()
        poller.join(60)
    assert not poller.is_alive()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "Cluster authorization failed" in errors[0], errors
    assert "\x1b" not in errors[0]
