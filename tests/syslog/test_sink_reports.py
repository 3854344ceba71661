"""How `SpoolingSink` settles what it produced through a producer's `send_reporting` (one report
per message, on the client's thread, maybe before `produce` even returns): nothing stays pending
after its report, a failed report spools the message, and what the producer could not take is
spooled in order and never left pending. Without servers: a `KafkaSink` around a stand-in
producer."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kafka.errors import KafkaError, KafkaTimeoutError

from logwarden.config import Config
from logwarden.kafka_clients.interface import delivery_error
from logwarden.kafka_io import KafkaSink
from logwarden.shippers.base import Event
from logwarden.shippers.spool import Spool
from logwarden.shippers.spooling_sink import SpoolingSink

CFG = Config(topic_prefix="lw.")


class ReportingProducer:
    """Reports each message as it is produced (`fail`: these ids fail), or holds the reports
    (`hold`); raises a full buffer from message number `capacity` on."""

    client = "stand-in"

    def __init__(self, fail: tuple[str, ...] = (), hold: bool = False, capacity: int | None = None) -> None:
        self.fail, self.hold, self.capacity = fail, hold, capacity
        self.sent: list[tuple[str, bytes, list[tuple[str, bytes]] | None]] = []
        self.held: list[tuple[Callable[..., object], Any]] = []

    def send_reporting(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None,
                       report: Callable[..., object]) -> None:
        if self.capacity is not None and len(self.sent) >= self.capacity:
            raise KafkaTimeoutError("buffer full")
        self.sent.append((topic, key, headers))
        ident = dict(headers or []).get("id", b"").decode()
        outcome = KafkaError("refused") if ident in self.fail else None
        if self.hold:
            self.held.append((report, outcome))
        else:
            report(outcome, None)

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None


def _kafka(producer: ReportingProducer) -> KafkaSink:
    kafka = KafkaSink.__new__(KafkaSink)  # not connected: the producer is the stand-in
    kafka.cfg, kafka.producer, kafka._errors, kafka.sent, kafka.dead = CFG, producer, [], 0, 0  # type: ignore[assignment]
    return kafka


def _sink(tmp_path: Path, producer: ReportingProducer) -> SpoolingSink:
    sink = SpoolingSink(CFG, Spool(tmp_path, max_bytes=1 << 20), connect=lambda: _kafka(producer))
    end = time.monotonic() + 60
    while sink.spooling and time.monotonic() < end:
        time.sleep(0.01)
    assert not sink.spooling
    return sink


def _event(i: int) -> Event:
    return Event(f"ev-{i}", "firewall", "fw01", {"@timestamp": "2020-04-14T00:00:00Z", "n": i}, i)


def test_a_report_that_comes_during_produce_leaves_nothing_pending(tmp_path: Path) -> None:
    producer = ReportingProducer()
    sink = _sink(tmp_path, producer)
    assert sink.send_many([_event(i) for i in range(5)]) is None
    assert sink.send(_event(5)) is True
    assert not sink._pending, "each message was made pending before it was produced"
    assert [h for _, _, h in producer.sent] == [[("id", f"ev-{i}".encode())] for i in range(6)]
    assert [t for t, _, _ in producer.sent] == ["lw.firewall"] * 6 and producer.sent[0][1] == b"fw01"
    assert sink.counters.direct == 6 and sink.counters.spooled == 0 and not sink.spooling
    mark = sink.mark()
    assert sink.settled_below() > mark
    sink.close(grace=0)


def test_pending_until_reported_then_settled(tmp_path: Path) -> None:
    producer = ReportingProducer(hold=True)
    sink = _sink(tmp_path, producer)
    assert sink.send_many([_event(i) for i in range(3)]) is None
    mark = sink.mark()
    assert len(sink._pending) == 3 and sink.settled_below() < mark
    for report, outcome in producer.held:
        report(outcome, None)
    assert not sink._pending and sink.settled_below() > mark
    sink.close(grace=0)


def test_a_failed_delivery_spools_that_message(tmp_path: Path) -> None:
    producer = ReportingProducer(fail=("ev-1",))
    sink = _sink(tmp_path, producer)
    assert sink.send_many([_event(i) for i in range(3)]) is None
    assert not sink._pending and sink.spooling and sink.counters.spooled == 1
    assert [m.id for m in sink.spool.read(sink.spool.oldest())] == ["ev-1"]  # type: ignore[arg-type]
    sink.close(grace=0)


def test_what_the_producer_cannot_take_is_spooled_not_left_pending(tmp_path: Path) -> None:
    producer = ReportingProducer(hold=True, capacity=2)
    sink = _sink(tmp_path, producer)
    assert sink.send_many([_event(i) for i in range(5)]) is None
    assert sink.counters.direct == 2 and sink.counters.spooled == 3 and sink.spooling
    assert sorted(m.id for m, _ in sink._pending.values()) == ["ev-0", "ev-1"]
    assert [m.id for m in sink.spool.read(sink.spool.oldest())] == ["ev-2", "ev-3", "ev-4"]  # type: ignore[arg-type]
    for report, outcome in producer.held:
        report(outcome, None)
    assert not sink._pending
    sink.close(grace=0)


class _LibrdkafkaError:
    """What confluent-kafka hands a delivery callback on failure (its KafkaError's methods)."""

    def __init__(self) -> None:
        self.str = lambda: "Broker: Message size too large"
        self.name = lambda: "MSG_SIZE_TOO_LARGE"


def test_delivery_error_keeps_an_exception_and_converts_librdkafkas() -> None:
    exc = KafkaTimeoutError("late")
    assert delivery_error(exc) is exc
    converted = delivery_error(_LibrdkafkaError())
    assert isinstance(converted, KafkaError)
    assert str(converted).endswith("delivery failed: Broker: Message size too large (MSG_SIZE_TOO_LARGE)")
