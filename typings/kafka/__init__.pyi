# kafka-python 3.0.x: the clients logwarden uses (see typings/README.md).
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kafka.admin import KafkaAdminClient as KafkaAdminClient
from kafka.structs import OffsetAndMetadata
from kafka.structs import TopicPartition as TopicPartition

Header = tuple[str, bytes]

class ConsumerRecord:
    topic: str
    partition: int
    leader_epoch: int
    offset: int
    timestamp: int
    timestamp_type: int
    key: bytes | None
    value: bytes
    headers: list[Header]
    checksum: int | None
    serialized_key_size: int
    serialized_value_size: int
    serialized_header_size: int

class RecordMetadata:
    topic: str
    partition: int
    offset: int
    timestamp: int

class FutureRecordMetadata:
    def add_callback(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> FutureRecordMetadata: ...
    def add_errback(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> FutureRecordMetadata: ...
    def get(self, timeout: float | None = None) -> RecordMetadata: ...

class KafkaProducer:
    def __init__(self, **configs: Any) -> None: ...
    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
             headers: Sequence[Header] | None = None, partition: int | None = None,
             timestamp_ms: int | None = None) -> FutureRecordMetadata: ...
    def flush(self, timeout: float | None = None) -> None: ...
    def close(self, timeout: float | None = None, null_logger: bool = False) -> None: ...

class KafkaConsumer:
    def __init__(self, *topics: str, **configs: Any) -> None: ...
    def subscribe(self, topics: Iterable[str] = (), pattern: str | None = None, listener: Any = None) -> None: ...
    def poll(self, timeout_ms: int = 0, max_records: int | None = None,
             update_offsets: bool = True) -> dict[TopicPartition, list[ConsumerRecord]]: ...
    def assignment(self) -> set[TopicPartition]: ...
    def partitions_for_topic(self, topic: str) -> set[int]: ...
    def position(self, partition: TopicPartition, timeout_ms: int | None = None) -> int: ...
    def end_offsets(self, partitions: list[TopicPartition],
                    timeout_ms: int | None = None) -> dict[TopicPartition, int]: ...
    def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata] | None = None,
               timeout_ms: int | None = None) -> None: ...
    def close(self, autocommit: bool = True, timeout_ms: int | None = None) -> None: ...
