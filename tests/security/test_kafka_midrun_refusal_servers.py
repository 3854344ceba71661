"""A working producer refused by the real secured Kafka at its next reconnection (its SCRAM password
changed, the broker's certificate replaced by an untrusted one): the sink every shipper and
`stream` use (KafkaSink) names the refusal within seconds as a KafkaRefused (a DeliveryError: `ship`
exits 3 with that line and advances no checkpoint, `stream` retries it like any failed delivery)
instead of a bare timeout after 120 s, never with the password; once the cause is removed the same
producer delivers every message once.

The SCRAM user and its ACLs are the test's own (removed afterwards); the reconnection is forced by
a SOCKS proxy of the test's own (kafka-python's `proxy_url`; librdkafka has no proxy setting, so
the confluent client is not covered here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.admin import ACLOperation

from logwarden.config import Config
from logwarden.kafka_io import KafkaRefused, KafkaSink
from logwarden.runtime.lab import Lab
from tests.services.helpers import event, read_topic
from tests.services.proxy import CuttableProxy
from tests.support.scram_user import ScramUser, own_scram_user

from .cert_switch_proxy import CertSwitchProxy

pytestmark = pytest.mark.servers

BATCH = 20


@pytest.fixture
def scram_user(ns: Config, lab: Lab) -> Iterator[ScramUser]:
    """A user of the test's own with WRITE and DESCRIBE on the namespace's topics."""
    with own_scram_user(ns, lab.secure, "producer", (ACLOperation.WRITE, ACLOperation.DESCRIBE)) as user:
        yield user


def _ids(cfg: Config) -> list[str]:
    return sorted(dict(r.headers)["id"].decode() for r in read_topic(cfg, cfg.topic("windows")))


def _send(sink: KafkaSink, start: int) -> None:
    for i in range(start, start + BATCH):
        sink.send(event(i, "kafka-refusal"))


def test_a_producer_whose_password_changes_mid_run_names_the_refusal(scram_user: ScramUser) -> None:
    proxy = CuttableProxy(socks=True)
    first = scram_user.password
    replaced = "changed-by-the-admin-4Tz"
    try:
        sink = KafkaSink(scram_user.config(), proxy_url=proxy.url)
        _send(sink, 0)
        sink.flush()
        scram_user.set_password(replaced)
        proxy.cut()  # the next connection has to log in again
        proxy.restore()
        _send(sink, BATCH)
        with pytest.raises(KafkaRefused) as refused:
            sink.flush(timeout=120)
        line = str(refused.value)
        assert f"refused the SASL SCRAM-SHA-512 login of user '{scram_user.name}'" in line, line
        assert first not in line and replaced not in line
        scram_user.set_password(first)  # the cause removed: the same producer goes on
        sink.flush(timeout=120)
        sink.close()
    finally:
        proxy.close()
    assert _ids(scram_user.cfg) == sorted({e.id for e in (event(i, "kafka-refusal") for i in range(2 * BATCH))})


def test_a_broker_certificate_replaced_mid_run_names_the_refusal(scram_user: ScramUser, tmp_path: Path) -> None:
    proxy = CertSwitchProxy(None, tmp_path / "impostor", socks=True)
    try:
        sink = KafkaSink(scram_user.config(), proxy_url=proxy.url)
        _send(sink, 0)
        sink.flush()
        proxy.impostor()
        _send(sink, BATCH)
        with pytest.raises(KafkaRefused) as refused:
            sink.flush(timeout=120)
        assert f"Kafka at {scram_user.cfg.kafka}: its certificate is not trusted" in str(refused.value)
        assert proxy.impostor_handshakes >= 1
        proxy.forward()
        sink.flush(timeout=120)
        sink.close()
    finally:
        proxy.close()
    assert _ids(scram_user.cfg) == sorted({e.id for e in (event(i, "kafka-refusal") for i in range(2 * BATCH))})
