"""A consume-loop member (logwarden/consume.py, the loop of index, stream and ship kafka) whose
broker stops answering while it handles a batch, so that the batch's commit meets the outage, on a
broker of the test's own frozen with SIGSTOP (connections open, no answers), with both clients:

- the broker answers again: the commit is retried through the outage, logged once when it starts
  and once when it ends, and every offset ends up committed;
- a stop arrives while it is frozen: the loop gives the commit up (the batch counted as left
  uncommitted, read again by the next owner), and the member closes, instead of waiting for the
  broker (before, with the confluent client, for as long as the broker stayed frozen).

Every wait is a thread joined with a generous timeout, so a hang fails the test; no duration is
asserted."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logwarden import consume
from logwarden.consume import ConsumeLoop, LoopCounters, StopFlag
from logwarden.kafka_io import make_consumer
from logwarden.runtime.lab import Lab
from tests.services.helpers import event, produce
from tests.services.private_broker import PrivateBroker
from tests.support.frozen_broker import finishes, private_broker, signal_broker, topic_when_ready
from tests.support.namespaces import isolated

pytestmark = pytest.mark.servers

N = 200


@pytest.fixture(scope="module")
def broker(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBroker]:
    with private_broker(lab, tmp_path_factory.mktemp("commit-outage-broker")) as own:
        yield own


class _FreezesTheBroker:
    """A batch handler that freezes the broker while it handles its first batch (the commit that
    follows meets the outage), and `then` runs (resume the broker, or ask for a stop)."""

    def __init__(self, broker: PrivateBroker, then: Any) -> None:
        self.stats = LoopCounters()
        self.broker, self.then = broker, then
        self.frozen = False

    def handle(self, records: list[Any]) -> None:
        if not self.frozen:
            self.frozen = True
            signal_broker(self.broker, signal.SIGSTOP)
            threading.Timer(6.0, self.then).start()


@pytest.fixture
def short_commits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consume, "COMMIT_TIMEOUT_MS", 2_000)  # the loop's commit gives up sooner: a shorter test


def _member(broker: PrivateBroker, client: str, tmp_path: Path) -> tuple[Any, Any]:
    cfg = isolated(broker.cfg, tmp_path)
    cfg.kafka_client = client
    topic_when_ready(cfg)
    produce(cfg, [event(i) for i in range(N)])
    return cfg, make_consumer(cfg, [cfg.topic("windows")], f"{cfg.topic_prefix}loop", bootstrap_timeout_ms=5000)


@pytest.mark.usefixtures("short_commits")
@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_a_commit_during_an_outage_is_retried_logged_once_and_lands(broker: PrivateBroker, client: str,
                                                                    tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    cfg, consumer = _member(broker, client, tmp_path)
    handler = _FreezesTheBroker(broker, lambda: signal_broker(broker, signal.SIGCONT))
    try:
        with caplog.at_level(logging.INFO, logger="logwarden"):
            _, error = finishes(lambda: ConsumeLoop(consumer, handler, StopFlag(), cfg.kafka).run(once=True))
        assert error is None, repr(error)
        assert handler.frozen and handler.stats.kafka_retries >= 1 and handler.stats.uncommitted == 0
        (tp,) = consumer.assignment()
        assert consumer.committed(tp) == N
    finally:
        signal_broker(broker, signal.SIGCONT)
        consumer.close(autocommit=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "logwarden.consume"]
    assert sum(f"Kafka at {cfg.kafka} unreachable (commit: " in line for line in lines) == 1, lines
    assert sum(f"Kafka at {cfg.kafka} reachable again after" in line for line in lines) == 1, lines


@pytest.mark.usefixtures("short_commits")
@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_a_stop_while_the_commit_cannot_reach_the_broker_ends_the_member(broker: PrivateBroker, client: str,
                                                                         tmp_path: Path) -> None:
    cfg, consumer = _member(broker, client, tmp_path)
    stop = StopFlag()
    handler = _FreezesTheBroker(broker, stop.set)
    try:
        _, error = finishes(lambda: ConsumeLoop(consumer, handler, stop, cfg.kafka).run())
        assert error is None, repr(error)
        assert handler.frozen and handler.stats.uncommitted == handler.stats.consumed > 0
        _, error = finishes(lambda: consumer.close(autocommit=False))
        assert error is None, repr(error)
    finally:
        signal_broker(broker, signal.SIGCONT)
