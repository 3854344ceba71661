"""A working producer refused by the real secured Kafka: at its next reconnection (its SCRAM password
changed, the broker's certificate replaced by an untrusted one), or at its next write (its WRITE
ACL removed, both clients). The sink every shipper and `stream` use (KafkaSink) names the refusal
within seconds as a KafkaRefused (a DeliveryError: `ship` exits 3 with that line and advances no
checkpoint, `stream` and `ship kafka` send the batch again like any failed delivery) instead of a
bare timeout after 120 s or "unreachable", never with the password; once the cause is removed the
same sink delivers every message once (a kafka-python producer the refused write left unusable is
replaced by the sink itself).

The SCRAM user and its ACLs are the test's own (removed afterwards); the reconnection is forced by
a SOCKS proxy of the test's own (kafka-python's `proxy_url`; librdkafka has no proxy setting, so
the confluent client is not covered by the two reconnection cases)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.admin import ACLOperation

from logwarden.config import Config
from logwarden.kafka_io import KafkaRefused, KafkaSink
from logwarden.runtime.lab import Lab
from tests.services.helpers import event, read_topic
from tests.services.proxy import CuttableProxy
from tests.support.cli import cli
from tests.support.paths import ROOT
from tests.support.scram_user import ScramUser, own_scram_user

from .cert_switch_proxy import CertSwitchProxy

pytestmark = pytest.mark.servers

BATCH = 20
CLIENTS = ("kafka-python", "confluent")
NO_PERMISSION = "permission missing for user"
FORTIGATE = ROOT / "logwarden/shippers/fortigate/testdata/test-fortigate.log"


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


def _refused_batch(sink: KafkaSink, start: int) -> KafkaRefused | None:
    """One batch sent and flushed as `consume.deliver` does; the KafkaRefused it met (from the
    send or the flush), None when Kafka acknowledged it. A refusal must come well before the
    flush's timeout (a KafkaTimeoutError after 60 s fails the test)."""
    try:
        _send(sink, start)
        sink.flush(timeout=60)
    except KafkaRefused as exc:
        return exc
    return None


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_a_producer_whose_write_acl_is_removed_mid_run_names_the_refusal(scram_user: ScramUser,
                                                                          kafka_client: str) -> None:
    cfg = scram_user.cfg
    sink = KafkaSink(scram_user.config(kafka_client))
    delivered = [0]
    assert _refused_batch(sink, 0) is None
    scram_user.deny(ACLOperation.WRITE)
    deadline = time.monotonic() + 60  # the broker applies the removed ACL within moments
    start = BATCH
    while (refused := _refused_batch(sink, start)) is None:  # acknowledged before the ACL was applied
        delivered.append(start)
        start += BATCH
        assert time.monotonic() < deadline, "the writes were never refused"
    text = str(refused)
    assert f"{NO_PERMISSION} '{scram_user.name}'" in refused.line, text
    assert f"WRITE refused on topic {cfg.topic('windows')}" in text, text
    assert "unreachable" not in text and scram_user.password not in text
    again = _refused_batch(sink, start)  # still refused: the same line (a replacement producer is refused too)
    assert again is not None and again.line == refused.line, again
    scram_user.allow([ACLOperation.WRITE])
    deadline = time.monotonic() + 120
    while _refused_batch(sink, start) is not None:  # the batch sent again, as deliver does
        assert time.monotonic() < deadline, "still refused after the ACL came back"
        time.sleep(0.5)
    delivered.append(start)
    sink.close()
    wanted = sorted(event(i, "kafka-refusal").id for first in delivered for i in range(first, first + BATCH))
    assert _ids(cfg) == wanted  # every message once: nothing the refused producer held came through later


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_ship_file_without_write_exits_3_and_keeps_no_checkpoint(scram_user: ScramUser, tmp_path: Path,
                                                                 kafka_client: str) -> None:
    scram_user.deny(ACLOperation.WRITE)
    checkpoint = tmp_path / "checkpoint.json"
    proc = cli(scram_user.config(kafka_client), "ship", "file", str(FORTIGATE), "--source", "fortigate",
               "--state", str(checkpoint))
    assert proc.returncode == 3, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-3000:]
    assert f"{NO_PERMISSION} '{scram_user.name}'" in lines[0] and "checkpoint not advanced" in lines[0], lines[0]
    assert "unreachable" not in lines[0] and scram_user.password not in proc.stderr + proc.stdout
    assert not checkpoint.exists() or json.loads(checkpoint.read_text())["offset"] == 0  # saved at the start
