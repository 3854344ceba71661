"""The kafka-python producer behind logwarden's `Producer` interface (the default client).

kafka-python's own future already has the `Delivery` API, so this is a thin pass-through.
"""

from __future__ import annotations

from typing import Any

from kafka import KafkaProducer

from logwarden.kafka_clients.interface import KAFKA_PYTHON, Delivery


class KafkaPythonProducer:
    """A KafkaProducer built from kafka-python `options` (connects at construction)."""

    client = KAFKA_PYTHON

    def __init__(self, options: dict[str, Any]) -> None:
        self._producer = KafkaProducer(**options)

    def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> Delivery:
        future: Delivery = self._producer.send(topic, key=key, value=value, headers=headers)  # type: ignore[assignment]
        return future

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(timeout=timeout)

    def close(self, timeout: float | None = None) -> None:
        self._producer.close(timeout=timeout)


__all__ = ["KafkaPythonProducer"]
