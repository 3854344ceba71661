"""A consumer that commits while its broker is unreachable, on a real broker of the test's own
(tests/services/private_broker.py; the shared lab's are never stopped), with both clients:

- frozen (SIGSTOP: the connections stay open and nothing answers, as with a hung host or a
  black-holed network): before, the confluent consumer's commit waited until the broker came
  back (more than 5 minutes measured) and `close()` waited behind it. Now the commit is
  KafkaTimeoutError after its timeout, the next one says an earlier commit is still pending,
  the commit succeeds once the broker answers again, and `close()` gives up after its bound;
- stopped (connections refused): the commit is a KafkaError.

Each call runs in a thread joined with a generous timeout, so a hang fails the test instead of
holding it; no duration is asserted."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka.errors import KafkaError, KafkaTimeoutError

from logwarden.config import Config
from logwarden.consume import batch_offsets
from logwarden.kafka_clients import Consumer
from logwarden.kafka_io import make_consumer
from logwarden.runtime.lab import Lab
from tests.services.helpers import event, produce
from tests.services.private_broker import PrivateBroker
from tests.support.frozen_broker import finishes, private_broker, signal_broker, topic_when_ready
from tests.support.namespaces import isolated

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def broker(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBroker]:
    with private_broker(lab, tmp_path_factory.mktemp("commit-broker")) as own:
        yield own


def _member(broker: PrivateBroker, client: str, tmp_path: Path, n: int = 100) -> tuple[Config, Consumer, list[Any]]:
    cfg = isolated(broker.cfg, tmp_path)
    cfg.kafka_client = client
    topic_when_ready(cfg)
    produce(cfg, [event(i) for i in range(n)])
    consumer = make_consumer(cfg, [cfg.topic("windows")], f"{cfg.topic_prefix}commit", bootstrap_timeout_ms=5000)
    records: list[Any] = []
    for _ in range(60):
        records += [m for ms in consumer.poll(timeout_ms=1000).values() for m in ms]
        if len(records) >= n:
            break
    assert len(records) == n
    consumer.commit(batch_offsets(records[: n // 2]), timeout_ms=30_000)
    return cfg, consumer, records


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_a_commit_to_a_frozen_broker_ends_and_succeeds_once_it_answers(broker: PrivateBroker, client: str,
                                                                       tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    _, consumer, records = _member(broker, client, tmp_path)
    everything = batch_offsets(records)
    (tp,) = everything
    try:
        signal_broker(broker, signal.SIGSTOP)
        _, error = finishes(lambda: consumer.commit(everything, timeout_ms=3_000))
        assert isinstance(error, KafkaTimeoutError), repr(error)
        _, again = finishes(lambda: consumer.commit(everything, timeout_ms=1_000))
        assert isinstance(again, KafkaError), repr(again)  # still no answer: still an outage to retry
        if client == "confluent":
            assert "an earlier commit has had no answer" in str(again), str(again)
    finally:
        signal_broker(broker, signal.SIGCONT)
    _, error = finishes(lambda: consumer.commit(everything, timeout_ms=120_000))
    assert error is None, repr(error)
    assert consumer.committed(tp) == len(records)

    signal_broker(broker, signal.SIGSTOP)  # frozen again: a commit left pending, then the member closes
    try:
        _, error = finishes(lambda: consumer.commit(everything, timeout_ms=2_000))
        assert isinstance(error, KafkaError), repr(error)
        with caplog.at_level(logging.WARNING, logger="logwarden"):
            _, error = finishes(lambda: consumer.close(autocommit=False))
        assert error is None, repr(error)
    finally:
        signal_broker(broker, signal.SIGCONT)
    if client == "confluent":
        assert any("no answer from the broker within" in r.getMessage() for r in caplog.records), caplog.text


def test_a_commit_to_a_stopped_broker_is_a_kafka_error(lab: Lab, tmp_path: Path) -> None:
    """A broker of its own, stopped under a confluent member: the commit fails (librdkafka: "Waiting
    for coordinator") instead of hanging, and the member closes."""
    own = PrivateBroker(isolated(lab.cfg, tmp_path), tmp_path / "broker")
    own.start()
    try:
        _, consumer, records = _member(own, "confluent", tmp_path / "ns")
        own.stop()
        _, error = finishes(lambda: consumer.commit(batch_offsets(records), timeout_ms=60_000))
        assert isinstance(error, KafkaError), repr(error)
        _, error = finishes(lambda: consumer.close(autocommit=False))
        assert error is None, repr(error)
    finally:
        own.stop()
