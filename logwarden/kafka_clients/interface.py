"""The producer interface of logwarden/kafka_clients/ (what KafkaSink asks of a Kafka producer),
apart from the choice of implementation so the implementations import it without a cycle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

KAFKA_PYTHON = "kafka-python"
CONFLUENT = "confluent"


class Delivery(Protocol):
    """The outcome of one send, known later (kafka-python's future API, which both provide)."""

    @property
    def exception(self) -> BaseException | None: ...

    def is_done(self) -> bool: ...

    def succeeded(self) -> bool: ...

    def get(self, timeout: float | None = None) -> Any:
        """Wait for the outcome; raises KafkaError when the delivery failed."""
        ...

    def add_callback(self, fn: Callable[..., Any], *args: Any) -> Any: ...

    def add_errback(self, fn: Callable[..., Any], *args: Any) -> Any: ...


class Producer(Protocol):
    """What logwarden asks of a Kafka producer."""

    client: str  # "kafka-python" or "confluent": which implementation this is

    def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> Delivery:
        """Queue one message; raises KafkaTimeoutError when the buffer stayed full for max_block_ms."""
        ...

    def flush(self, timeout: float | None = None) -> None:
        """Wait for every queued message's outcome; raises KafkaTimeoutError after `timeout` seconds."""
        ...

    def close(self, timeout: float | None = None) -> None:
        """Flush for up to `timeout` seconds, then drop what is pending (those deliveries fail)."""
        ...


__all__ = ["CONFLUENT", "KAFKA_PYTHON", "Delivery", "Producer"]
