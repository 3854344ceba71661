"""The producer and consumer interfaces of logwarden/kafka_clients/ (what KafkaSink asks of a
producer, what the consume loop, `stream`'s rebalance listener and `--once` ask of a consumer),
apart from the choice of implementation so the implementations import it without a cycle.

The consumer's shapes are kafka-python's (`kafka.structs.TopicPartition` and
`OffsetAndMetadata`, a poll that returns records per partition, a listener with
`on_partitions_revoked/assigned`), so the kafka-python implementation passes them through and the
confluent one translates."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol

from kafka.structs import OffsetAndMetadata, TopicPartition

KAFKA_PYTHON = "kafka-python"
CONFLUENT = "confluent"
# How a consumer group shares its partitions, by the protocol names both clients know. Both
# clients default to (range, roundrobin), and the broker picks a protocol every member lists, so
# range ruled: it splits each topic on its own and gives the first members the extra partitions
# of EVERY topic (3 topics x 2 partitions over 3 members: the third member idle; 3 partitions
# over 2 members: the first holds 2/3 of every topic). roundrobin deals the sorted partitions of
# all topics out in turn, continuing from topic to topic: counts within one of each other, and
# the extra partitions of successive topics go to successive members. Members of the old
# default list roundrobin too, so a running group moves over at the first rebalance an upgraded
# member joins (docs/scaling.md "How members share partitions").
GROUP_ASSIGNORS = ("roundrobin",)


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

    def send_reporting(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None,
                       report: Callable[..., object]) -> None:
        """`send` without a future, for a caller that only needs the outcome (the syslog sink,
        one per message): `report(error)` or `report(error, metadata)` is called once, on the
        client's own thread, `error` None on success, else what `delivery_error` turns into the
        KafkaError a future would raise. Raises as `send` does."""
        ...

    def flush(self, timeout: float | None = None) -> None:
        """Wait for every queued message's outcome; raises KafkaTimeoutError after `timeout` seconds."""
        ...

    def close(self, timeout: float | None = None) -> None:
        """Flush for up to `timeout` seconds, then drop what is pending (those deliveries fail)."""
        ...

    def failed(self) -> str | None:
        """The error that left this producer unable to deliver again (kafka-python's idempotent
        producer after a non-retriable batch error such as TopicAuthorizationFailed, librdkafka's
        fatal error), None while it can: a producer that failed must be closed and replaced."""
        ...


def delivery_error(error: Any) -> BaseException:
    """A failed delivery's `error` as given to a `send_reporting` report, as the exception the
    client's future raises: kafka-python's is one already; librdkafka's (confluent) becomes the
    KafkaError `ConfluentDelivery` makes of it."""
    if isinstance(error, BaseException):
        return error
    from kafka.errors import KafkaError

    return KafkaError(f"delivery failed: {error.str()} ({error.name()})")


class Record(Protocol):
    """One consumed message (kafka-python's ConsumerRecord and `ConfluentRecord` both have these)."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def timestamp(self) -> int: ...  # milliseconds since the epoch, -1 when the broker gave none

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...

    @property
    def headers(self) -> list[tuple[str, bytes]]: ...


class ConfluentRecord(NamedTuple):
    """A consumed message as the confluent consumer hands it over (the fields of `Record`)."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


class RebalanceListener(Protocol):
    """Told of the partitions a group member loses and gets, inside `poll` (kafka-python's
    ConsumerRebalanceListener); it may `seek` the consumer to an assigned partition's offset."""

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None: ...

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None: ...


class Consumer(Protocol):
    """What logwarden asks of a consumer-group member (manual commits, values as raw bytes)."""

    client: str  # "kafka-python" or "confluent"

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[TopicPartition, list[Any]]:
        """What arrived, per partition: returns as soon as something is there (at most
        `max_records`), or empty after `timeout_ms`; rebalance callbacks run inside.
        Raises KafkaError when the client failed."""
        ...

    def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata], timeout_ms: int | None = None) -> None:
        """Commit exactly `offsets` (the next offset to read per partition). Raises
        CommitFailedError when the group rebalanced meanwhile, another KafkaError otherwise."""
        ...

    def seek(self, partition: TopicPartition, offset: int) -> None:
        """Read `partition` from `offset` on (also inside the listener's on_partitions_assigned)."""
        ...

    def position(self, partition: TopicPartition) -> int:
        """The offset of the next record `poll` returns for an assigned partition."""
        ...

    def committed(self, partition: TopicPartition) -> int | None:
        """The group's committed offset of `partition`, None when there is none."""
        ...

    def end_offsets(self, partitions: list[TopicPartition], timeout_ms: int | None = None) -> dict[TopicPartition, int]:
        """Each partition's end (the offset the next produced message gets); KafkaTimeoutError
        when the broker did not answer within `timeout_ms`."""
        ...

    def assignment(self) -> set[TopicPartition]: ...

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        """The topic's partition numbers, None when the topic does not exist."""
        ...

    def close(self, autocommit: bool = True) -> None:
        """Leave the group at once (offsets are committed only by `commit`: auto-commit is off)."""
        ...


__all__ = ["CONFLUENT", "KAFKA_PYTHON", "ConfluentRecord", "Consumer", "Delivery", "Producer", "RebalanceListener",
           "Record", "delivery_error"]
