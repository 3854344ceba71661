"""The confluent-kafka (librdkafka) consumer behind logwarden's `Consumer` interface.

Optional, like the confluent producer (`pip install 'logwarden[fast]'`, setting `kafka_client:
confluent`): librdkafka fetches and decodes in C, where kafka-python spends Python per record
(docs/kafka-client.md). Kept the same as the kafka-python consumer, so choosing it changes speed,
not behaviour:

- options: kafka-python's names (CONSUMER_OPTION_NAMES; an unknown one is a ValueError, never
  dropped); the connection and security settings map as the producer's do.
- connects at construction: no metadata within bootstrap_timeout_ms is kafka-python's
  KafkaTimeoutError, with librdkafka's errors of the attempt in the message.
- `poll` returns kafka-python's shape, records per `kafka.structs.TopicPartition`, as soon as
  anything is there (librdkafka's `consume(n, timeout)` would wait for n or the timeout).
  A message-level error raises KafkaError only when nothing else came with it: the records
  beside it are never dropped (their offsets would be committed past them).
- rebalances: the listener (stream's state) gets kafka-python TopicPartitions; a `seek` it asks
  for inside `on_partitions_assigned` becomes the assignment's start offset (librdkafka cannot
  seek a partition before it is assigned).
- `position` is the next offset `poll` hands over (tracked here: librdkafka knows none before the
  first message of a partition), else the committed offset, else the reset policy's end; so
  `--once`'s drained test is kafka-python's.
- `commit`: synchronous, exact offsets; a rebalance meanwhile is CommitFailedError. librdkafka's
  synchronous commit has no timeout: against a stopped broker it fails after about 10 s
  ("Waiting for coordinator"), but against one that keeps the connection and never answers (a
  frozen host, a black-holed network) it waits until the broker answers again, minutes or
  forever, and `close()` then waits behind it. So each runs in a daemon thread the caller
  stops waiting for: a commit after `timeout_ms` (default COMMIT_TIMEOUT) is kafka-python's
  KafkaTimeoutError, which the consume loop logs and retries as an outage; the next commit
  first waits for the one still pending (offsets are never committed out of order); a close
  gives up after CLOSE_TIMEOUT with a warning (the group's session timeout ends the membership).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import confluent_kafka
from kafka.errors import CommitFailedError, KafkaError, KafkaTimeoutError
from kafka.structs import OffsetAndMetadata, TopicPartition

from logwarden.kafka_clients.confluent import (
    DEFAULT_BOOTSTRAP_TIMEOUT_MS,
    OPTION_NAMES,
    log,
    mapped_options,
    unable_to_bootstrap,
)
from logwarden.kafka_clients.interface import CONFLUENT, ConfluentRecord, RebalanceListener

_CONNECTION = ("bootstrap_servers", "client_id", "security_protocol", "ssl_check_hostname", "ssl_cafile",
               "ssl_certfile", "ssl_keyfile", "sasl_mechanism", "sasl_plain_username", "sasl_plain_password")
# kafka-python consumer option -> librdkafka property (value converter, or None to pass it as it is)
CONSUMER_OPTION_NAMES = {name: OPTION_NAMES[name] for name in _CONNECTION} | {
    "group_id": ("group.id", None),
    "group_instance_id": ("group.instance.id", None),
    "enable_auto_commit": ("enable.auto.commit", bool),
    "auto_offset_reset": ("auto.offset.reset", None),
    "fetch_max_bytes": ("fetch.max.bytes", None),
    "fetch_min_bytes": ("fetch.min.bytes", None),
    "fetch_max_wait_ms": ("fetch.wait.max.ms", None),
    "max_partition_fetch_bytes": ("max.partition.fetch.bytes", None),
    "session_timeout_ms": ("session.timeout.ms", None),
    "heartbeat_interval_ms": ("heartbeat.interval.ms", None),
    "max_poll_interval_ms": ("max.poll.interval.ms", None),
    "partition_assignment_strategy": ("partition.assignment.strategy", lambda names: ",".join(
        name if isinstance(name, str) else name.name for name in names)),
}
_OURS = ("max_poll_records", "bootstrap_timeout_ms")  # this class's, not librdkafka's
DEFAULT_MAX_POLL_RECORDS = 500  # kafka-python's
DEFAULT_RESET = "latest"  # kafka-python's auto_offset_reset
METADATA_TIMEOUT = 10.0  # seconds for a committed-offset or topic lookup
COMMIT_TIMEOUT = 30.0  # seconds a commit is waited for when the caller gives no timeout (kafka-python's default)
CLOSE_TIMEOUT = 10.0  # seconds `close()` waits for librdkafka to leave the group
REBALANCED = {confluent_kafka.KafkaError.ILLEGAL_GENERATION, confluent_kafka.KafkaError.UNKNOWN_MEMBER_ID,
              confluent_kafka.KafkaError.REBALANCE_IN_PROGRESS, confluent_kafka.KafkaError.FENCED_INSTANCE_ID,
              confluent_kafka.KafkaError._ASSIGNMENT_LOST}
QUIET = {confluent_kafka.KafkaError._PARTITION_EOF, confluent_kafka.KafkaError.UNKNOWN_TOPIC_OR_PART,
         confluent_kafka.KafkaError._UNKNOWN_TOPIC}  # kafka-python waits for a missing topic silently


def consumer_config(options: dict[str, Any]) -> dict[str, Any]:
    """librdkafka's properties for kafka-python-named consumer `options`.

    Raises:
        ValueError: an option that has no librdkafka equivalent here.
    """
    return mapped_options(options, CONSUMER_OPTION_NAMES, skip=_OURS, what="consumer",
                          table="logwarden/kafka_clients/confluent_consumer.py CONSUMER_OPTION_NAMES")


def _error(what: str, exc: confluent_kafka.KafkaException) -> KafkaError:
    """kafka-python's exception for librdkafka's `exc`: CommitFailedError after a rebalance."""
    err = exc.args[0] if exc.args else None
    code = err.code() if isinstance(err, confluent_kafka.KafkaError) else None
    text = err.str() if isinstance(err, confluent_kafka.KafkaError) else str(exc)
    if code in REBALANCED:
        return CommitFailedError(f"{what}: {text}")
    return KafkaError(f"{what}: {text}")


class _Background:
    """One librdkafka call that has no timeout of its own, run in a daemon thread so that the
    caller can stop waiting for it (a daemon thread never holds the process at exit)."""

    def __init__(self, what: str, call: Callable[[], Any]) -> None:
        self.what = what
        self.started = time.monotonic()
        self.result: Any = None
        self.error: BaseException | None = None
        self._done = threading.Event()
        threading.Thread(target=self._run, args=(call,), name=f"logwarden-librdkafka-{what}", daemon=True).start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self.result = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller in `outcome`
            self.error = exc
        finally:
            self._done.set()

    def wait(self, timeout: float) -> bool:
        """True once the call returned or raised (within `timeout` seconds)."""
        return self._done.wait(max(0.0, timeout))

    def outcome(self) -> Any:
        """The call's result; raises what it raised."""
        if self.error is not None:
            raise self.error
        return self.result


class ConfluentConsumer:
    """A confluent_kafka.Consumer with kafka-python's option names, records, offsets, listener
    and errors; subscribed to `topics` at construction."""

    client = CONFLUENT

    def __init__(self, options: dict[str, Any], topics: list[str], listener: RebalanceListener | None = None) -> None:
        self.max_records = int(options.get("max_poll_records", DEFAULT_MAX_POLL_RECORDS))
        self._reset = str(options.get("auto_offset_reset", DEFAULT_RESET))
        bootstrap_timeout = options.get("bootstrap_timeout_ms", DEFAULT_BOOTSTRAP_TIMEOUT_MS) / 1000
        self._listener = listener
        self._errors: list[str] = []
        self._positions: dict[tuple[str, int], int] = {}  # next offset `poll` hands over, per assigned partition
        self._seeks: dict[tuple[str, int], int] | None = None  # set while the listener is told of an assignment
        self._closed = False
        self._commit_pending: _Background | None = None  # a commit the broker has not answered yet
        self._consumer = confluent_kafka.Consumer({**consumer_config(options), "logger": log,
                                                   "error_cb": self._on_client_error})
        try:
            self._consumer.list_topics(timeout=bootstrap_timeout)
            self._consumer.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke,
                                     on_lost=self._on_revoke)
        except confluent_kafka.KafkaException as exc:
            self.close()
            raise unable_to_bootstrap(options, bootstrap_timeout, self._errors, exc) from None
        self._errors.clear()

    def _on_client_error(self, err: Any) -> None:
        if len(self._errors) < 20:
            self._errors.append(err.str())
        # the consume loop logs an outage once; librdkafka repeats it while it lasts
        log.log(logging.WARNING if err.fatal() else logging.DEBUG, "librdkafka consumer: %s", err.str())

    # -- rebalances (run inside consume/poll/close)
    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        self._seeks = {}
        try:
            if self._listener is not None:
                self._listener.on_partitions_assigned([TopicPartition(p.topic, p.partition) for p in partitions])
        except Exception:  # noqa: BLE001 - as kafka-python: a failing listener is logged, the rebalance goes on
            log.exception("the rebalance listener failed on an assignment")
        finally:
            seeks, self._seeks = self._seeks, None
        for p in partitions:
            offset = seeks.get((p.topic, p.partition))
            if offset is not None:
                p.offset = offset
        consumer.assign(partitions)

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        for p in partitions:
            self._positions.pop((p.topic, p.partition), None)
        try:
            if self._listener is not None:
                self._listener.on_partitions_revoked([TopicPartition(p.topic, p.partition) for p in partitions])
        except Exception:  # noqa: BLE001 - as kafka-python: a failing listener is logged, the rebalance goes on
            log.exception("the rebalance listener failed on a revocation")

    # -- the interface
    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[TopicPartition, list[Any]]:
        """Raises KafkaError: the client failed, or only an error came."""
        limit = max(1, max_records or self.max_records)
        try:
            messages = self._consumer.consume(limit, 0)
            if not messages and timeout_ms > 0:
                first = self._consumer.poll(timeout_ms / 1000)
                if first is None:
                    return {}
                messages = [first, *self._consumer.consume(limit - 1, 0)] if limit > 1 else [first]
        except confluent_kafka.KafkaException as exc:
            raise _error("poll", exc) from None
        by_partition: dict[tuple[str, int], list[ConfluentRecord]] = {}
        errors = []
        m: Any  # confluent's Message: its accessors are typed optional, set for a message without error
        for m in messages:
            err = m.error()
            if err is not None:
                if err.code() not in QUIET:
                    errors.append(err)
                continue
            where = (m.topic(), m.partition())
            records = by_partition.get(where)
            if records is None:
                records = by_partition[where] = []
            records.append(ConfluentRecord(where[0], where[1], m.offset(), m.timestamp()[1], m.key(), m.value(),
                                           m.headers() or []))
        if errors:
            if not by_partition:
                raise KafkaError(f"poll: {errors[0].str()}")
            log.warning("librdkafka consumer: %s (the %d message(s) polled with it are handed over)",
                        errors[0].str(), sum(map(len, by_partition.values())))
        out = {}
        for where, records in by_partition.items():
            self._positions[where] = records[-1].offset + 1
            out[TopicPartition(*where)] = records
        return out

    def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata], timeout_ms: int | None = None) -> None:
        """Synchronous, waited for up to `timeout_ms` (COMMIT_TIMEOUT when None); a commit still
        pending from an earlier call is waited for first, within the same time.

        Raises:
            CommitFailedError: the group rebalanced meanwhile.
            KafkaTimeoutError: no answer in time (the commit goes on in the background).
            KafkaError: the broker refused or could not be reached.
        """
        timeout = timeout_ms / 1000 if timeout_ms is not None else COMMIT_TIMEOUT
        deadline = time.monotonic() + timeout
        pending = self._commit_pending
        if pending is not None:
            if not pending.wait(timeout):
                raise KafkaTimeoutError(f"commit: an earlier commit has had no answer for "
                                        f"{time.monotonic() - pending.started:.0f}s (the group coordinator does not "
                                        "answer); it is still pending") from None
            self._commit_pending = None  # its outcome is superseded by this commit of the same or later offsets
        wanted = [confluent_kafka.TopicPartition(tp.topic, tp.partition, meta.offset) for tp, meta in offsets.items()]
        call = _Background("commit", lambda: self._consumer.commit(offsets=wanted, asynchronous=False))
        if not call.wait(deadline - time.monotonic()):
            self._commit_pending = call
            raise KafkaTimeoutError(f"commit: no answer from the group coordinator within {timeout:.0f}s "
                                    "(the commit goes on in the background)")
        try:
            result = call.outcome()
        except confluent_kafka.KafkaException as exc:
            raise _error("commit", exc) from None
        for tp in result or []:
            if tp.error is not None:
                raise _error(f"commit {tp.topic}/{tp.partition}", confluent_kafka.KafkaException(tp.error))

    def seek(self, partition: TopicPartition, offset: int) -> None:
        where = (partition.topic, partition.partition)
        if self._seeks is not None:  # inside on_partitions_assigned: the assignment starts there
            self._seeks[where] = offset
        else:
            try:
                self._consumer.seek(confluent_kafka.TopicPartition(where[0], where[1], offset))
            except confluent_kafka.KafkaException as exc:
                raise _error("seek", exc) from None
        self._positions[where] = offset

    def position(self, partition: TopicPartition) -> int:
        """Raises KafkaError when the committed offset or the end could not be fetched."""
        where = (partition.topic, partition.partition)
        known = self._positions.get(where)
        if known is not None:
            return known
        committed = self.committed(partition)
        if committed is not None:
            return committed
        low, high = self._watermarks(partition, METADATA_TIMEOUT)
        return low if self._reset == "earliest" else high

    def committed(self, partition: TopicPartition) -> int | None:
        try:
            found = self._consumer.committed([confluent_kafka.TopicPartition(partition.topic, partition.partition)],
                                             timeout=METADATA_TIMEOUT)
        except confluent_kafka.KafkaException as exc:
            raise _error("committed offset", exc) from None
        offset = found[0].offset if found else -1
        return offset if offset >= 0 else None

    def _watermarks(self, partition: TopicPartition, timeout: float) -> tuple[int, int]:
        try:
            low, high = self._consumer.get_watermark_offsets(
                confluent_kafka.TopicPartition(partition.topic, partition.partition), timeout=timeout)
        except confluent_kafka.KafkaException as exc:
            raise KafkaTimeoutError(f"end offsets of {partition.topic}/{partition.partition}: {exc}") from None
        return int(low), int(high)

    def end_offsets(self, partitions: list[TopicPartition], timeout_ms: int | None = None) -> dict[TopicPartition, int]:
        """One deadline for all of them. Raises KafkaTimeoutError when it passed first."""
        deadline = time.monotonic() + (timeout_ms if timeout_ms is not None else 30_000) / 1000
        ends = {}
        for tp in partitions:
            left = deadline - time.monotonic()
            if left <= 0:
                raise KafkaTimeoutError(f"end offsets not fetched within {timeout_ms} ms")
            ends[tp] = self._watermarks(tp, left)[1]
        return ends

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(p.topic, p.partition) for p in self._consumer.assignment()}

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        try:
            meta = self._consumer.list_topics(topic, timeout=METADATA_TIMEOUT).topics.get(topic)
        except confluent_kafka.KafkaException as exc:
            raise _error(f"metadata of {topic}", exc) from None
        if meta is None or (meta.error is not None and meta.error.code() in QUIET):
            return None
        return set(meta.partitions) or None

    def close(self, autocommit: bool = True) -> None:
        """Leave the group (auto-commit is off, so nothing is committed here, whatever `autocommit`);
        gives up after CLOSE_TIMEOUT with a warning when the broker does not answer."""
        if self._closed:
            return
        self._closed = True
        call = _Background("close", self._consumer.close)
        if not call.wait(CLOSE_TIMEOUT):
            log.warning("closing the librdkafka consumer: no answer from the broker within %.0fs; not waiting "
                        "longer (the group drops this member after its session timeout)", CLOSE_TIMEOUT)
            return
        try:
            call.outcome()
        except (confluent_kafka.KafkaException, RuntimeError) as exc:
            log.warning("closing the librdkafka consumer: %s", exc)


__all__ = ["CONSUMER_OPTION_NAMES", "ConfluentConsumer", "consumer_config"]
