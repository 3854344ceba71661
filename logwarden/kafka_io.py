"""Kafka wiring (kafka-python): the producer sink every shipper uses, and consumers.

Messages: key = host name (UTF-8), value = the ECS document as compact JSON, header `id` = the
event's deterministic id (also in the document as event.id). Dead letters go to
`<prefix>deadletter` with the raw input kept (the first DEADLETTER_RAW_LIMIT bytes of it: a dead
letter must fit the broker's size limit even when the input that caused it did not).

`client_options(cfg)` is the one place the connection settings of every producer, consumer and
admin client are built (bootstrap servers, TLS, SASL); `admin(cfg)` is the admin client.
Producers and consumers are built through logwarden/kafka_clients/ (the `kafka_client` setting:
kafka-python, or confluent-kafka when installed); the admin client is kafka-python.

Consumers are group members with manual commits and a 10 s session: a member that dies is
replaced after 10 s instead of the client's default 45 s; one that stops cleanly leaves the
group in `close()` and is replaced at once. A refusal met by a working client is raised by name:
`KafkaRefused` from a producer's flush, `ConsumerRefused` from a consumer's calls
(`RefusalNamingConsumer`), so the services wait it out as a refusal, not as an outage.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import CommitFailedError, KafkaError, KafkaTimeoutError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata, TopicPartition

from logwarden import kafka_preflight, server_errors
from logwarden.config import DEFAULT_KAFKA_PARTITIONS, Config
from logwarden.kafka_clients import Consumer, Delivery, Producer, RebalanceListener, make_producer
from logwarden.kafka_clients import make_consumer as open_consumer
from logwarden.safe_text import printable
from logwarden.shippers.base import DATASETS, DEADLETTER, DeadLetter, Event, dumps, unencodable

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = DEFAULT_KAFKA_PARTITIONS  # the `kafka_partitions` setting's default
STREAM_REPARTITION = "stream-repartition"  # stream's correlation hits keyed by group (detection/repartition.py)
# Keyword fields are indexed up to this many characters (the template's ignore_above); a longer
# value is kept in _source but cannot be searched. Such fields are listed in the document under
# `logwarden.long_fields`, so the es detection engine can fetch those documents and match them
# in process instead of silently missing them (e.g. long PowerShell script blocks).
KEYWORD_LIMIT = 8191
# Raw bytes kept in a dead letter. Base64 makes them 4/3 larger and JSON escaping of control
# characters up to 6 times, so 128 KiB stays under even a default broker's 1 MB message limit.
DEADLETTER_RAW_LIMIT = 128 * 1024
SESSION_TIMEOUT_MS = 10_000
HEARTBEAT_INTERVAL_MS = 3_000


def client_options(cfg: Config) -> dict[str, Any]:
    """Keyword arguments for any kafka-python client of `cfg`: bootstrap servers, and the security
    protocol with its CA, client certificate and SASL credentials when configured."""
    options: dict[str, Any] = {"bootstrap_servers": cfg.kafka.split(","),
                               "security_protocol": cfg.kafka_security_protocol}
    if cfg.kafka_tls:
        options["ssl_check_hostname"] = True
        if cfg.kafka_ca_file:
            options["ssl_cafile"] = cfg.kafka_ca_file
        if cfg.kafka_cert_file:
            options.update(ssl_certfile=cfg.kafka_cert_file, ssl_keyfile=cfg.kafka_key_file)
    if cfg.kafka_sasl:
        options.update(sasl_mechanism=cfg.kafka_sasl_mechanism, sasl_plain_username=cfg.kafka_user,
                       sasl_plain_password=cfg.kafka_password)
    return options


_Client = TypeVar("_Client")
_Result = TypeVar("_Result")


def _connect(cfg: Config, build: Callable[[], _Client]) -> _Client:
    """`build()`, with a refused TLS trust or SASL login turned into a ServerError (no retry can
    fix those; logwarden/server_errors.py), and any other KafkaError raised as it is."""
    untrusted = server_errors.kafka_tls_refusal(cfg)
    if untrusted is not None:
        raise untrusted
    kafka_preflight.check(cfg, client_options(cfg))  # a closed port or refused login in seconds, once per process
    with server_errors.kafka_log_capture() as captured:
        try:
            return build()
        except KafkaError as exc:
            refusal = server_errors.kafka_refusal(cfg, exc, [*captured, str(exc)])
            if refusal is not None:
                raise refusal from None
            raise


def admin(cfg: Config, client_id: str = "logwarden-admin", **overrides: Any) -> KafkaAdminClient:
    """An admin client for `cfg` (close it when done).

    Raises:
        ServerError: the broker refused our TLS trust or SASL login.
        KafkaError: no broker answered.
    """
    return _connect(cfg, lambda: KafkaAdminClient(**{**client_options(cfg), "client_id": client_id, **overrides}))


def _long_paths(node: Any, prefix: str, out: list[str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            _long_paths(v, f"{prefix}{k}" if not prefix else f"{prefix}.{k}", out)
    elif isinstance(node, list):
        for v in node:
            _long_paths(v, prefix, out)
    elif isinstance(node, str) and len(node) > KEYWORD_LIMIT:
        out.append(prefix)


def encode(doc: dict[str, Any]) -> bytes:
    """The document as Kafka carries it: compact JSON, plus `logwarden.long_fields` when any
    string is longer than the keyword limit (only documents this big are walked)."""
    value = dumps(doc)
    if len(value) > KEYWORD_LIMIT:
        long: list[str] = []
        _long_paths(doc, "", long)
        if long:
            doc.setdefault("logwarden", {})["long_fields"] = sorted(set(long))
            value = dumps(doc)
    return value


def deadletter_value(item: DeadLetter) -> bytes:
    """The dead letter as Kafka carries it. Raw input longer than DEADLETTER_RAW_LIMIT is cut to
    that length; the reason then says so, with the original size and SHA-256, and the id stays
    the one of the whole input."""
    dead_id = item.id
    size = len(item.raw)
    if size > DEADLETTER_RAW_LIMIT:
        digest = hashlib.sha256(item.raw).hexdigest()
        item = dataclasses.replace(
            item, raw=item.raw[:DEADLETTER_RAW_LIMIT],
            reason=f"{item.reason} [input of {size} bytes truncated to its first {DEADLETTER_RAW_LIMIT}; "
                   f"sha256 {digest}]")
    doc = item.to_doc()
    doc["event"]["id"] = dead_id
    return dumps(doc)


class DeliveryError(RuntimeError):
    """Some messages were not acknowledged by Kafka; the caller must not checkpoint."""


class KafkaRefused(DeliveryError):
    """Kafka refused a producer that was working (its SASL login or a broker's certificate, met at a
    reconnection): not an outage; the message names the cause (server_errors.kafka_refused_mid_run).
    A DeliveryError, so every caller's delivery handling applies (nothing checkpointed)."""

    def __init__(self, line: str, detail: str = "") -> None:
        super().__init__(f"{line} ({detail})" if detail else line)
        self.line = line  # the refusal alone, the same at every attempt while it lasts


class ConsumerRefused(KafkaError):
    """Kafka refused a consumer that was working: its SASL login or a broker's certificate (met at
    a reconnection) or a permission (an ACL removed: a fetch or a commit refused). A KafkaError, so
    a caller that knows only outages still retries it; `line` names the cause (logwarden/
    server_errors.py), and the consume loop waits it out as a refusal (logwarden/refusals.py)."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


def refusal_line(exc: BaseException) -> str | None:
    """The refusal `exc` reports (KafkaRefused from a producer, ConsumerRefused from a consumer),
    None when it is anything else (an outage, or a cause that cannot be told)."""
    return exc.line if isinstance(exc, (KafkaRefused, ConsumerRefused)) else None


REFUSAL_CHECK_SECONDS = 5.0  # a flush looks at the client's log lines for a refusal this often


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """One Kafka message as a shipper produces it (what the syslog spool keeps on disk)."""

    topic: str
    key: bytes
    value: bytes
    id: str  # the `id` header: the event's deterministic id


def to_message(cfg: Config, item: Event | DeadLetter) -> Message:
    """The message that carries `item`: events to their dataset's topic, dead letters to the
    dead-letter topic (raw input cut to DEADLETTER_RAW_LIMIT)."""
    if isinstance(item, DeadLetter):
        return Message(cfg.topic(DEADLETTER), item.source.encode("utf-8", "surrogateescape"),
                       deadletter_value(item), item.id)
    item.doc.setdefault("event", {})["id"] = item.id
    try:
        value = encode(item.doc)
    except (TypeError, ValueError) as exc:  # orjson's error is a TypeError, UnicodeEncodeError a ValueError
        return to_message(cfg, unencodable(item, exc))  # kept, as a dead letter, instead of stopping the shipper
    return Message(cfg.topic(item.dataset), item.key.encode("utf-8", "surrogateescape"), value, item.id)


class KafkaSink:
    """Produces events and dead letters; `flush()` returns only when every message sent so far
    was acknowledged, and raises DeliveryError otherwise.

    A refusal met by a working sink (a password changed, a certificate replaced, a WRITE ACL
    removed) is raised as KafkaRefused naming it, from `send` (librdkafka refuses a produce to a
    topic it was refused) as from `flush`; its text names the refused permission and topics. A
    producer the refusal left unable to deliver again (`Producer.failed`: kafka-python's
    idempotent producer after TopicAuthorizationFailed, a librdkafka fatal error) is closed and
    replaced by a new one of the same options at the next send, so a caller that sends again
    what was not acknowledged (consume.deliver, a rerun) goes on once the cause is removed
    (docs/architecture.md, 57)."""

    def __init__(self, cfg: Config, **overrides: Any) -> None:
        self.cfg = cfg
        options: dict[str, Any] = {
            **client_options(cfg),
            "acks": "all",
            "linger_ms": 20,
            "batch_size": 512 * 1024,
            "max_request_size": 10 * 1024 * 1024,
            "retries": 10,
            "retry_backoff_ms": 200,
            "client_id": "logwarden-shipper",
        }
        options.update(overrides)
        self._options = options
        self.producer: Producer = self._open()
        log.debug("producing to Kafka at %s with the %s client", cfg.kafka, self.producer.client)
        # (topic, error) of each failed delivery since the last flush; a new list after each
        # flush that raised, so a late failure of an abandoned attempt is not blamed on the next
        self._errors: list[tuple[str, BaseException]] = []
        self._replace = False  # the producer failed: a new one is made at the next send
        self._abandoned = False  # the last send or flush raised: what the producer holds is given up
        self.sent = 0
        self.dead = 0

    def _open(self) -> Producer:
        return _connect(self.cfg, lambda: make_producer(self.cfg, self._options))

    @staticmethod
    def _on_error(errors: list[tuple[str, BaseException]], topic: str, exc: BaseException) -> None:
        errors.append((topic, exc))

    def send(self, item: Event | DeadLetter) -> None:
        """Hand `item` to the producer (acknowledged or failed later: see `flush`).

        Raises:
            KafkaRefused: the producer refused the message for a refusal it already met (a topic
                librdkafka was refused WRITE on, a producer that failed for a refusal).
            KafkaError: the producer did not take it (its buffer stayed full for max_block_ms).
        """
        if isinstance(item, DeadLetter):
            self.dead += 1
        else:
            self.sent += 1
        self.send_message(to_message(self.cfg, item))

    def send_message(self, message: Message) -> None:
        """`send` for a message made already: its failure is known to the next `flush`.

        Raises:
            KafkaRefused, KafkaError: as `send`.
        """
        if self._replace:
            self._replace_producer()
        try:
            delivery = self.produce(message)
        except KafkaError as exc:
            line = server_errors.kafka_refused_mid_run(self.cfg, [str(exc), self.producer.failed() or ""])
            if line is None:
                self._abandon()
                raise
            self._after_refusal()
            raise KafkaRefused(line, refused_writes(line, [(message.topic, exc)], "the message not taken",
                                                    self.producer.failed())) from exc
        delivery.add_errback(self._on_error, self._errors, message.topic)
        self._abandoned = False

    def produce(self, message: Message) -> Delivery:
        """Hand `message` to the producer; returns its future (acknowledged or failed later).

        Raises:
            KafkaTimeoutError: the producer's buffer stayed full (or the topic unknown) for max_block_ms.
        """
        return self.producer.send(message.topic, message.key, message.value, [("id", message.id.encode())])

    def flush(self, timeout: float | None = 120) -> None:
        """Returns once every message sent so far was acknowledged.

        Raises:
            KafkaRefused: the client logged a refused SASL login or an untrusted certificate while
                messages were waiting (checked every REFUSAL_CHECK_SECONDS), or its errors say so
                (a refused permission: the text names it and the topics).
            KafkaTimeoutError: messages still waiting after `timeout` seconds (no refusal seen).
            DeliveryError: some messages were not acknowledged.
        """
        with server_errors.kafka_log_capture() as captured:
            try:
                self._flush_watching(timeout, captured)
            except KafkaRefused:
                self._after_refusal()
                raise
            except KafkaError:
                self._abandon()
                raise
        failed = self.producer.failed()  # a report it could not give: not acknowledged, and not said failed
        if self._errors or failed:
            errors = self._errors
            self._abandon()
            what = (f"{len(errors)} message(s) not delivered" if errors else
                    "messages not delivered: the producer failed")
            refusal = server_errors.kafka_refused_mid_run(self.cfg, [*captured, *(repr(e) for _, e in errors),
                                                                     failed or ""])
            self._after_refusal()
            if refusal:
                raise KafkaRefused(refusal, refused_writes(refusal, errors, what, failed))
            cause = repr(errors[0][1]) if errors else printable(failed or "")
            raise DeliveryError(f"{what} to Kafka: {cause}")
        self._abandoned = False

    def _flush_watching(self, timeout: float | None, captured: list[str]) -> None:
        """The producer's flush in slices, raising KafkaRefused as soon as messages are still
        waiting at the end of a slice and the client's log lines of this flush name a refusal
        (the clients only log it; the flush itself would just time out)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                self.producer.flush(timeout=REFUSAL_CHECK_SECONDS if left is None else min(left, REFUSAL_CHECK_SECONDS))
                return
            except KafkaError as exc:
                refusal = server_errors.kafka_refused_mid_run(self.cfg, [*captured, str(exc)])
                if refusal:
                    raise KafkaRefused(refusal) from exc
                if not isinstance(exc, KafkaTimeoutError) or (left is not None and left <= REFUSAL_CHECK_SECONDS):
                    raise

    def _abandon(self) -> None:
        """A send or flush raises: the caller sends again what was not acknowledged (or gives up),
        so what the producer still holds is not waited for by `close`, and a late failure of it goes
        to a list nobody reads instead of failing the next flush."""
        self._abandoned = True
        self._errors = []

    def _after_refusal(self) -> None:
        """After a refusal (or a flush whose producer failed): the attempt is given up, and a
        producer that can no longer deliver is replaced at the next send
        (a new one now could fail the same way at once, and would cost a connection per retry
        even when nobody sends again)."""
        self._abandon()
        failed = self.producer.failed()
        if failed is not None and not self._replace:
            log.debug("the Kafka producer cannot deliver again after the refusal (%s): a new one is made at the "
                      "next send", printable(failed)[:300])
            self._replace = True

    def _replace_producer(self) -> None:
        """The failed producer closed (what it held failed already) and a new one made.

        Raises:
            KafkaError: the new one could not connect (the old one stays, to be replaced next time).
        """
        fresh = self._open()
        old, self.producer, self._replace = self.producer, fresh, False
        self._errors = []
        try:
            old.close(timeout=0)
        except (KafkaError, DeliveryError) as exc:
            log.debug("closing the failed producer: %s", exc)

    def close(self) -> None:
        """Flush (unless the last send or flush raised: what was given up is dropped), then close.

        Raises:
            KafkaRefused, KafkaError, DeliveryError: as `flush`.
        """
        try:
            if not self._abandoned:
                self.flush()
        finally:
            self.producer.close(timeout=0 if self._abandoned else 10)


def refused_writes(line: str, errors: list[tuple[str, BaseException]], what: str, failed: str | None = None) -> str:
    """The detail of a KafkaRefused for failed sends: for a refused permission, which one and
    where (WRITE on the topics the failed messages went to, or the cluster's IDEMPOTENT_WRITE an
    idempotent producer needs for its producer id: `errors` or the producer's `failed` say so),
    then `what` was lost; only `what` otherwise. Kept out of the refusal's line, which stays the
    same at every attempt."""
    if PERMISSION_MISSING not in line:
        return what
    texts = " ".join([*(repr(e) for _, e in errors), failed or ""]).lower()
    if "cluster authorization" in texts or "clusterauthorization" in texts:
        return f"the idempotent producer's id refused: WRITE on no topic, nor IDEMPOTENT_WRITE on the cluster; {what}"
    if not errors:
        return what
    topics = ", ".join(printable(t) for t in sorted({t for t, _ in errors}))
    return f"WRITE refused on topic {topics}; {what}"


PERMISSION_MISSING = "permission missing"  # in server_errors.kafka_refused_mid_run's line for a removed ACL


def ensure_topics(cfg: Config, datasets: tuple[str, ...] = (*DATASETS, DEADLETTER, STREAM_REPARTITION),
                  partitions: int | None = None, **overrides: Any) -> list[str]:
    """Create the logwarden topics that do not exist yet, with `partitions` partitions each (default:
    the `kafka_partitions` setting); return the ones created. Existing topics are left as they are.

    Raises:
        KafkaError: no broker answered, or the creation was refused.
    """
    admin_client = admin(cfg, "logwarden-setup", **overrides)
    try:
        existing = set(admin_client.list_topics())
        wanted = [cfg.topic(d) for d in datasets if cfg.topic(d) not in existing]
        created = []
        partitions = partitions or cfg.partitions
        for name in wanted:
            try:
                admin_client.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin_client.close()


def delete_topics(cfg: Config, prefix: str) -> list[str]:
    """Delete every topic whose name starts with `prefix` (test and bench namespaces)."""
    admin_client = admin(cfg)
    try:
        mine = [t for t in admin_client.list_topics() if t.startswith(prefix)]
        if mine:
            admin_client.delete_topics(mine)
        return mine
    finally:
        admin_client.close()


def drained(consumer: Consumer, timeout_ms: int | None = None) -> bool:
    """True when the consumer has partitions and has read each one up to its end offset
    (what `--once` waits for).

    Raises:
        KafkaError: the end offsets could not be fetched (KafkaTimeoutError after `timeout_ms`).
    """
    assignment = consumer.assignment()
    if not assignment:
        return False
    ends = consumer.end_offsets(list(assignment), timeout_ms=timeout_ms)
    return all(consumer.position(tp) >= ends[tp] for tp in assignment)


def make_consumer(cfg: Config, topics: list[str], group_id: str, listener: RebalanceListener | None = None,
                  **overrides: Any) -> Consumer:
    """A consumer-group member of the `kafka_client` setting's client, with manual commits and a
    10 s session, subscribed to `topics`; values are raw bytes (decode yourself so a bad message
    becomes a dead letter, not an exception). `listener`: told of assignments and revocations
    (stream seeks to its saved state there).

    Raises:
        ServerError: the broker refused our TLS trust or SASL login.
        ConfigError: `confluent` chosen and confluent-kafka not installed.
        KafkaError: no broker answered (NoBrokersAvailable) or the options were refused.
    """
    options: dict[str, Any] = {
        **client_options(cfg),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": 5000,
        "fetch_max_bytes": 64 * 1024 * 1024,
        "max_partition_fetch_bytes": 16 * 1024 * 1024,
        "client_id": f"logwarden-{group_id}",
        "session_timeout_ms": SESSION_TIMEOUT_MS,
        "heartbeat_interval_ms": HEARTBEAT_INTERVAL_MS,
    }
    options.update(overrides)
    return RefusalNamingConsumer(_connect(cfg, lambda: open_consumer(cfg, options, topics, listener)), cfg)


class RefusalNamingConsumer:
    """A consumer (either client) whose calls to the broker raise ConsumerRefused when Kafka
    refuses it in the middle of a run. Neither client says so reliably in what it raises:
    kafka-python raises the SASL error or a bare "socket disconnected", librdkafka a transport
    failure, or its poll just returns nothing while it fails to log in again; the cause is in their
    log lines (WARNING and up, what the CLI's logging keeps), so each call's kafka log lines are read
    (server_errors.kafka_refused_mid_run) along with its error, then `describe` for a permission
    error kafka-python raises by name. Anything else is raised, or returned, as it came."""

    def __init__(self, consumer: Consumer, cfg: Config) -> None:
        self.consumer = consumer
        self.cfg = cfg
        self.client = consumer.client

    def _named(self, call: Callable[[], _Result], empty_counts: bool = False) -> _Result:
        """`call()`, with a KafkaError that names a refusal raised as ConsumerRefused; with
        `empty_counts`, an empty result during which the client logged a refusal too (librdkafka's
        poll returns nothing while it fails to log in again, and says why only in its log)."""
        with server_errors.kafka_log_capture() as captured:
            try:
                result = call()
            except CommitFailedError:
                raise  # a rebalance, not a refusal
            except KafkaError as exc:
                line = (server_errors.kafka_refused_mid_run(self.cfg, [*captured, str(exc)])
                        or server_errors.describe(exc, self.cfg))
                if line:
                    raise ConsumerRefused(line) from exc
                raise
        if empty_counts and not result and captured:
            line = server_errors.kafka_refused_mid_run(self.cfg, captured)
            if line:
                raise ConsumerRefused(line)
        return result

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[TopicPartition, list[Any]]:
        """Raises ConsumerRefused when every partition's read was refused; KafkaError as it came."""
        try:
            return self._named(lambda: self.consumer.poll(timeout_ms=timeout_ms, max_records=max_records),
                               empty_counts=True)
        except ConsumerRefused:
            # kafka-python keeps the refused fetch of each partition and raises them one poll at a
            # time: after the ACL came back, each stale one would cost the loop a backoff (minutes
            # for ten partitions). Read them off now: records are the answer; a poll that brings
            # none leaves the refusal to the loop's backoff, as does one refused again.
            for _ in range(len(self.consumer.assignment())):
                try:
                    records = self._named(lambda: self.consumer.poll(timeout_ms=0, max_records=max_records))
                except ConsumerRefused:
                    continue
                except KafkaError:
                    break
                if records:
                    return records
                break
            raise

    def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata], timeout_ms: int | None = None) -> None:
        self._named(lambda: self.consumer.commit(offsets=offsets, timeout_ms=timeout_ms))

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.consumer.seek(partition, offset)

    def position(self, partition: TopicPartition) -> int:
        return self._named(lambda: self.consumer.position(partition))

    def committed(self, partition: TopicPartition) -> int | None:
        return self._named(lambda: self.consumer.committed(partition))

    def end_offsets(self, partitions: list[TopicPartition], timeout_ms: int | None = None) -> dict[TopicPartition, int]:
        return self._named(lambda: self.consumer.end_offsets(partitions, timeout_ms=timeout_ms))

    def assignment(self) -> set[TopicPartition]:
        return self.consumer.assignment()

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return self._named(lambda: self.consumer.partitions_for_topic(topic))

    def close(self, autocommit: bool = True) -> None:
        self.consumer.close(autocommit=autocommit)


__all__ = ["DEADLETTER_RAW_LIMIT", "ConsumerRefused", "DeliveryError", "KafkaError", "KafkaRefused", "KafkaSink",
           "Message", "RefusalNamingConsumer", "admin", "client_options", "deadletter_value", "delete_topics",
           "drained", "ensure_topics", "make_consumer", "refusal_line", "to_message"]
