"""The kafka-python producer and consumer behind logwarden's `Producer` and `Consumer`
interfaces (the default client).

kafka-python's own future, records, structs and listener are the interfaces' shapes, so both are
thin pass-throughs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata, TopicPartition

from logwarden.kafka_clients.interface import KAFKA_PYTHON, Delivery, RebalanceListener


class KafkaPythonProducer:
    """A KafkaProducer built from kafka-python `options` (connects at construction)."""

    client = KAFKA_PYTHON

    def __init__(self, options: dict[str, Any]) -> None:
        self._producer = KafkaProducer(**options)

    def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> Delivery:
        future: Delivery = self._producer.send(topic, key=key, value=value, headers=headers)  # type: ignore[assignment]
        return future

    def send_reporting(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None,
                       report: Callable[..., object]) -> None:
        """`send` whose outcome goes to `report(error, metadata)` (error None on success) or
        `report(exception)` (interface.Producer.send_reporting)."""
        future: Any = self._producer.send(topic, key=key, value=value, headers=headers)
        future.add_callback(report, None)
        future.add_errback(report)

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(timeout=timeout)

    def close(self, timeout: float | None = None) -> None:
        self._producer.close(timeout=timeout)

    def failed(self) -> str | None:
        """kafka-python's idempotent producer takes any non-retriable batch error (a removed WRITE
        ACL's TopicAuthorizationFailed among them) for a fatal one: from then on it fails every
        send, so it must be replaced (interface.Producer.failed)."""
        manager: Any = getattr(self._producer, "_transaction_manager", None)  # not in kafka-python's API
        if manager is None or not manager.has_fatal_error():
            return None
        return repr(manager.last_error)


# kafka-python's default assignors (range, roundrobin) by protocol name
_DEFAULTS: dict[str, Any] = getattr(KafkaConsumer, "DEFAULT_CONFIG")  # noqa: B009 - not in typings/kafka
ASSIGNORS: dict[str, Any] = {a.name: a for a in _DEFAULTS["partition_assignment_strategy"]}


def assignors(strategy: Any) -> tuple[Any, ...]:
    """kafka-python's assignor classes for `strategy`: protocol names (interface.py
    GROUP_ASSIGNORS) or the classes themselves, preferred first.

    Raises:
        ValueError: a name kafka-python's group protocol is not given here.
    """
    out = []
    for item in strategy:
        if isinstance(item, str):
            if item not in ASSIGNORS:
                raise ValueError(f"partition assignment strategy {item!r}: one of {', '.join(ASSIGNORS)}")
            item = ASSIGNORS[item]
        out.append(item)
    return tuple(out)


class _Listener(ConsumerRebalanceListener):
    """A `RebalanceListener` that is not kafka-python's subclass, as kafka-python requires one."""

    def __init__(self, listener: RebalanceListener) -> None:
        self.listener = listener

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.listener.on_partitions_revoked(revoked)

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.listener.on_partitions_assigned(assigned)


class KafkaPythonConsumer:
    """A KafkaConsumer built from kafka-python `options` (connects at construction), subscribed
    to `topics`, `listener` told of rebalances."""

    client = KAFKA_PYTHON

    def __init__(self, options: dict[str, Any], topics: list[str], listener: RebalanceListener | None = None) -> None:
        if "partition_assignment_strategy" in options:
            options = {**options, "partition_assignment_strategy": assignors(options["partition_assignment_strategy"])}
        self._consumer: Any = KafkaConsumer(**options)
        try:
            if listener is not None:
                if not isinstance(listener, ConsumerRebalanceListener):
                    listener = _Listener(listener)
                self._consumer.subscribe(topics, listener=listener)
            else:
                self._consumer.subscribe(topics)
        except BaseException:
            self._consumer.close(autocommit=False)
            raise

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[TopicPartition, list[Any]]:
        records: dict[TopicPartition, list[Any]] = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        return records

    def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata], timeout_ms: int | None = None) -> None:
        self._consumer.commit(offsets=offsets, timeout_ms=timeout_ms)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self._consumer.seek(partition, offset)

    def position(self, partition: TopicPartition) -> int:
        return int(self._consumer.position(partition))

    def committed(self, partition: TopicPartition) -> int | None:
        offset = self._consumer.committed(partition)
        return None if offset is None else int(offset)

    def end_offsets(self, partitions: list[TopicPartition], timeout_ms: int | None = None) -> dict[TopicPartition, int]:
        ends: dict[TopicPartition, int] = self._consumer.end_offsets(partitions, timeout_ms=timeout_ms)
        return ends

    def assignment(self) -> set[TopicPartition]:
        return set(self._consumer.assignment())

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        found = self._consumer.partitions_for_topic(topic)
        return set(found) if found else None  # kafka-python says set() or None for a topic it does not know

    def close(self, autocommit: bool = True) -> None:
        self._consumer.close(autocommit=autocommit)


__all__ = ["KafkaPythonConsumer", "KafkaPythonProducer"]
