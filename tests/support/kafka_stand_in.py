"""A Kafka stand-in for the syslog sink (logwarden/shippers/spooling_sink.py) without a broker:
what `KafkaSink` offers it (`produce`, `producer.flush/close`), every delivery acknowledged at
once. Used by tests/syslog (the sink's batch path) and bench/bench_syslog_stages.py (the
receiver's CPU cost outside the Kafka client)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafka.errors import KafkaTimeoutError

from logwarden.kafka_io import Message


class Acknowledged:
    """A delivery that succeeded at once: callbacks run when added, as kafka-python's do."""

    def add_callback(self, fn: Callable[..., Any], *args: Any) -> None:
        fn(*args, None)

    def add_errback(self, fn: Callable[..., Any], *args: Any) -> None:
        return None


class NullProducer:
    def flush(self, timeout: float | None = None) -> None:
        return None

    def failed(self) -> str | None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None


class StandInKafka:
    """Takes `capacity` messages (None: no limit), then raises KafkaTimeoutError as a full
    producer buffer does. `produced` keeps the messages taken when `keep` is set."""

    def __init__(self, capacity: int | None = None, keep: bool = True) -> None:
        self.capacity, self.keep = capacity, keep
        self.taken = 0
        self.produced: list[Message] = []
        self.producer = NullProducer()

    def produce(self, message: Message) -> Acknowledged:
        if self.capacity is not None and self.taken >= self.capacity:
            raise KafkaTimeoutError("buffer full")
        self.taken += 1
        if self.keep:
            self.produced.append(message)
        return Acknowledged()
