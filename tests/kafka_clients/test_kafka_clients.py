"""The producer interface without servers: the confluent option mapping (security settings
included), the setting and its one-line refusal, and the delivery future's callbacks."""

from __future__ import annotations

import subprocess
import sys
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from logwarden.config import Config, ConfigError, validate
from logwarden.kafka_clients import make_producer
from logwarden.kafka_clients.confluent import ConfluentDelivery, librdkafka_config
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
