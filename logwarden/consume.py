"""The one consume loop and the one shutdown model of the Kafka services (`index`, `stream`).

Both services are consumer-group members that turn a polled batch into side effects (documents
in Elasticsearch, alerts in Kafka). What they share lives here, so it is decided once:

- `ConsumeLoop.run`: poll a batch, hand it to the service's `BatchHandler`, and commit exactly
  that batch's offsets (the next offset of each partition it held) only after the handler
  returned. A crash or a failed handler leaves them uncommitted: the batch is read again, and the
  services' deterministic ids make the second delivery a no-op. `once` drains what is in Kafka
  now and returns.
- `StopFlag`: SIGTERM and SIGINT set a flag (they never raise inside the handler). The loop
  finishes the batch in hand, commits it, and returns; the caller closes the consumer, which
  leaves the group at once (no wait for a session timeout), and reports its counters: exit 0.
  A handler waiting out an outage when the stop comes gives the batch up (`BatchAbandoned`),
  uncommitted, to be read again by whoever owns the partition next.
- `Outage`: a dependency that fails (the broker in `poll`/`commit`, Elasticsearch in `_bulk`) is
  retried with capped exponential backoff for as long as it takes; the outage is logged once
  when it starts and once when it ends, each retry only at debug level. With `once`, an outage
  longer than `ONCE_PATIENCE` becomes a `ServerError` (exit 3): a drain has nobody waiting on it;
  a Kafka whose port refuses the start-up check (`KafkaUnreachable`) is exit 3 at once. A failure
  that names a refusal (kafka_io's `ConsumerRefused` from the consumer, `KafkaRefused` from a
  producer: a password changed, an ACL or a trusted certificate gone) is the Outage's `Refusal`
  instead (logwarden/refusals.py): one ERROR line with the cause, waited out by a service, exit 3
  at once for a drain.
- `consumer_and_producer`: the open ... close sequence of a service's two Kafka clients (each
  opened through the outage's backoff; the consumer leaves its group first, then the producer
  closes, and a producer that fails to close is logged, not raised: its work was acknowledged).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TypeVar

from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from logwarden.backoff import FIRST_BACKOFF, MAX_BACKOFF, backoff_delay
from logwarden.errors import ServerError
from logwarden.kafka_io import DeliveryError, drained, refusal_line
from logwarden.kafka_preflight import KafkaUnreachable
from logwarden.refusals import Refusal

log = logging.getLogger(__name__)
ONCE_PATIENCE = 60.0  # with `once`: seconds of outage (or of no partition assigned) before exit 3
POLL_TIMEOUT_MS = 500
POLL_MAX_RECORDS = 5000
COMMIT_TIMEOUT_MS = 30_000
BOOTSTRAP_TIMEOUT_MS = 5_000  # a client that cannot reach the broker gives up this soon, then backs off
# kafka-python's poll() rides out a lost broker silently (it only returns nothing), so an idle
# loop asks the broker for its end offsets this often: that is how an outage gets noticed,
# logged, and its end logged too.
PROBE_INTERVAL = 5.0
PROBE_TIMEOUT_MS = 5_000

T = TypeVar("T")


class _GroupMember(Protocol):
    def close(self, autocommit: bool = ...) -> None: ...


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_GroupMember)
P = TypeVar("P", bound=_Closable)


class BatchAbandoned(Exception):
    """A handler gave its batch up because a stop was requested during an outage; the loop
    must not commit it."""


@dataclass
class LoopCounters:
    """Counters every consume-loop service reports (services extend it with their own)."""

    consumed: int = 0  # messages handed to the handler (a batch read again counts again)
    batches: int = 0  # batches handled and committed
    kafka_retries: int = 0  # poll/commit/produce attempts that failed and were retried
    uncommitted: int = 0  # messages of batches given up at a stop or a rebalance (read again later)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class BatchHandler(Protocol):
    """A service's side of the loop: `handle` returns when the whole batch is done (then its
    offsets are committed) or raises (then they are not)."""

    @property
    def stats(self) -> LoopCounters: ...

    def handle(self, records: list[Any]) -> None: ...


class StopFlag:
    """Set by SIGTERM/SIGINT (or `set()`); waits in backoffs end early when it is set."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""  # what asked for the stop, e.g. "SIGTERM"

    def set(self, reason: str = "a stop request") -> None:
        self.reason = self.reason or reason
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; return True when a stop was requested."""
        return self._event.wait(seconds)

    @contextmanager
    def on_signals(self) -> Iterator[StopFlag]:
        """Within the block, SIGTERM and SIGINT set the flag instead of killing or raising (only
        in the main thread, the one Python delivers signals to); the old handlers come back after."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def request_stop(signum: int, frame: object) -> None:
            # nothing but the flag here: logging from a signal handler can re-enter a stream write
            self.set(signal.Signals(signum).name)

        previous = {s: signal.signal(s, request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


class Outage:
    """One dependency's failures: backoff between retries, logged once at the start and once at
    the end of each outage. A failure that names a refusal (a password changed, an ACL or a
    trusted certificate gone: logwarden/refusals.py) is `refused` instead: its own ERROR line, no
    patience (a drain is exit 3 at once, a service waits), and once a refusal is under way the
    failures that name nothing (a connection reset while the client logs in again) continue it."""

    def __init__(self, what: str, stop: StopFlag, logger: logging.Logger = log,
                 patience: float | None = None) -> None:
        self.what = what  # e.g. "Kafka at 127.0.0.1:19092", "Elasticsearch"
        self.stop = stop
        self.logger = logger
        self.patience = patience  # seconds before giving up with ServerError; None = never
        self.refusal = Refusal(what, stop, logger, drain=patience is not None)
        self.attempt = 0
        self.since = 0.0
        self.outages = 0  # outages seen (each logged once)
        self.retries = 0  # failed attempts, all outages and refusals together

    @property
    def ongoing(self) -> bool:
        return self.attempt > 0 or self.refusal.ongoing

    def failed(self, why: object) -> bool:
        """Record a failed attempt and sleep the backoff.

        Returns:
            True when a stop was requested (the caller should give up), False to retry.
        Raises:
            ServerError: the outage outlasted `patience`.
        """
        if self.refusal.ongoing:
            return self.refused(self.refusal.line)
        now = time.monotonic()
        if not self.attempt:
            self.since = now
            self.outages += 1
            self.logger.warning("%s unreachable (%s); retrying with backoff until it answers", self.what, why)
        elif self.patience is not None and now - self.since > self.patience:
            raise ServerError(f"{self.what} unreachable for {now - self.since:.0f}s: {why}")
        else:
            self.logger.debug("%s still unreachable (%s), attempt %d", self.what, why, self.attempt + 1)
        delay = backoff_delay(self.attempt, FIRST_BACKOFF, MAX_BACKOFF)
        self.attempt += 1
        self.retries += 1
        return self.stop.wait(delay)

    def refused(self, line: str, pending: int | None = None, waiting: str = "") -> bool:
        """Record a refused attempt (`line`: server_errors' words for it; `pending` or `waiting`:
        what waits on it, as Refusal.refused takes them) and sleep the backoff. An outage under
        way turned out to be this refusal: it ends without a recovery line (the refusal's own
        lines say what happened).

        Returns:
            True when a stop was requested, False to retry.
        Raises:
            ServerError: with patience (a drain), at once.
        """
        self.attempt = 0
        self.retries += 1
        return self.refusal.refused(line, pending, waiting)

    def failed_with(self, exc: BaseException, pending: int | None = None) -> bool:
        """`refused` when `exc` names a refusal (kafka_io.refusal_line), else `failed`."""
        line = refusal_line(exc)
        return self.refused(line, pending) if line else self.failed(exc)

    def succeeded(self, accepted: bool = True) -> None:
        """Record a success; logs the recovery when it ends an outage or (when `accepted`: the
        server did what it refused, not merely answered) a refusal."""
        if accepted:
            self.refusal.accepted()
        if self.attempt:
            self.logger.info("%s reachable again after %.1fs (%d retries)", self.what,
                             time.monotonic() - self.since, self.attempt)
            self.attempt = 0


def batch_offsets(records: list[Any]) -> dict[TopicPartition, OffsetAndMetadata]:
    """The offsets that commit exactly `records`: per partition, one past the highest offset."""
    highest: dict[TopicPartition, int] = {}
    for rec in records:
        tp = TopicPartition(rec.topic, rec.partition)
        highest[tp] = max(highest.get(tp, -1), rec.offset)
    return {tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in highest.items()}


class ConsumeLoop:
    """Poll -> handler -> commit, until stopped (or drained, with `once`)."""

    def __init__(self, consumer: Any, handler: BatchHandler, stop: StopFlag, kafka: str,
                 logger: logging.Logger = log) -> None:
        self.consumer = consumer
        self.handler = handler
        self.stop = stop
        self.logger = logger
        self.kafka = kafka

    def run(self, once: bool = False, max_messages: int | None = None) -> None:
        """Consume until a stop is requested, `max_messages` were handled, or (with `once`) every
        assigned partition was read to its end.

        Raises:
            ServerError: with `once`, Kafka unreachable or no partition assigned for ONCE_PATIENCE.
            Whatever the handler raises other than BatchAbandoned (its batch stays uncommitted).
        """
        try:
            self._run(once, max_messages)
        finally:
            if self.stop.is_set():
                self.logger.info("%s received: stopped", self.stop.reason)

    def _run(self, once: bool, max_messages: int | None) -> None:
        stats = self.handler.stats
        kafka = Outage(f"Kafka at {self.kafka}", self.stop, self.logger, ONCE_PATIENCE if once else None)
        unassigned_since = last_probe = time.monotonic()
        while not self.stop.is_set():
            records = self._kafka_call(kafka, lambda: self.consumer.poll(timeout_ms=POLL_TIMEOUT_MS,
                                                                         max_records=POLL_MAX_RECORDS))
            if records is None:
                continue  # failed; backoff done (or stopping)
            batch = [msg for msgs in records.values() for msg in msgs]
            if not batch:
                if once and self._idle_and_done(kafka, unassigned_since):
                    return
                if not once and (kafka.ongoing or time.monotonic() - last_probe > PROBE_INTERVAL):
                    last_probe = time.monotonic()
                    self._idle_and_done(kafka, None)
                if self.consumer.assignment():
                    unassigned_since = time.monotonic()
                continue
            unassigned_since = last_probe = time.monotonic()
            stats.consumed += len(batch)
            try:
                self.handler.handle(batch)
            except BatchAbandoned as exc:
                stats.uncommitted += len(batch)
                self.logger.warning("stopping with a batch of %d message(s) not done (%s); its offsets are not "
                                    "committed, so it is read again on restart", len(batch), exc)
                return
            self._commit(kafka, batch)
            stats.batches += 1
            if max_messages is not None and stats.consumed >= max_messages:
                return

    def _kafka_call(self, kafka: Outage, call: Callable[[], T], accepts: bool = True) -> T | None:
        """`call()`, or None after a failure (logged, backoff slept). A result that holds
        something proves the broker answered and ends an outage; an empty one (an empty poll,
        which kafka-python also returns while the broker is away) proves nothing. It ends a
        refusal too unless `accepts` is False (the drained probe: a broker that tells its end
        offsets may still refuse the reads and commits an ACL no longer allows)."""
        try:
            result = call()
        except KafkaError as exc:
            self.handler.stats.kafka_retries += 1
            kafka.failed_with(exc)
            return None
        if result or result is False:
            kafka.succeeded(accepts)
        return result

    def _idle_and_done(self, kafka: Outage, unassigned_since: float | None) -> bool:
        """True when every assigned partition was read to its end (the broker is asked, so this
        is also the idle loop's probe for an outage).

        Raises:
            ServerError: no partition assigned for ONCE_PATIENCE since `unassigned_since`.
        """
        if not self.consumer.assignment():
            if unassigned_since is not None and time.monotonic() - unassigned_since > ONCE_PATIENCE:
                raise ServerError(f"no partitions assigned after {ONCE_PATIENCE:.0f}s from Kafka at {self.kafka}: "
                                  "is Kafka up and are the topics created?")
            return False
        return bool(self._kafka_call(kafka, lambda: drained(self.consumer, timeout_ms=PROBE_TIMEOUT_MS),
                                     accepts=False))

    def _commit(self, kafka: Outage, batch: list[Any]) -> None:
        """Commit the batch's offsets, retrying through an outage; a rebalance that moved the
        partitions away ends the attempt (the new owner reads the batch again)."""
        offsets = batch_offsets(batch)
        while True:
            try:
                self.consumer.commit(offsets=offsets, timeout_ms=COMMIT_TIMEOUT_MS)
            except CommitFailedError as exc:
                self.handler.stats.uncommitted += len(batch)
                self.logger.warning("offsets of a batch of %d not committed: the group rebalanced (%s); "
                                    "the partitions' next owner reads it again", len(batch), exc)
                kafka.succeeded()
                return
            except KafkaError as exc:
                self.handler.stats.kafka_retries += 1
                line = refusal_line(exc)
                if kafka.refused(line, len(batch)) if line else kafka.failed(f"commit: {exc}"):
                    # stopping while the broker is away: the batch is done but not committed; the
                    # next reader gets it again and the ids make that a no-op
                    self.handler.stats.uncommitted += len(batch)
                    self.logger.warning("stopping with the offsets of a handled batch of %d not committed",
                                        len(batch))
                    return
                continue
            kafka.succeeded()
            return


def deliver(sink: Any, items: list[Any], outage: Outage) -> None:
    """Produce `items` through `sink` (a KafkaSink) until Kafka acknowledged all of them; after a
    failure everything is sent again (the copies carry the same ids, so Elasticsearch keeps one).

    Raises:
        BatchAbandoned: a stop was requested while Kafka was unreachable.
        ServerError: the outage outlasted the outage's patience.
    """
    while items:
        try:
            for item in items:
                sink.send(item)
            sink.flush()
        except (KafkaError, DeliveryError) as exc:
            if outage.failed_with(exc, len(items)):
                raise BatchAbandoned(f"{len(items)} message(s) not acknowledged by Kafka") from exc
            continue
        outage.succeeded()
        return


def retry_kafka(call: Callable[[], T], outage: Outage) -> T | None:
    """`call()` (e.g. creating a consumer) retried through a Kafka outage, with `outage`'s
    backoff, logging and patience (its `retries` count the failed attempts).

    A drain (an outage with patience: `--once`) does not retry a Kafka that refused the start-up
    check (KafkaUnreachable: no bootstrap server accepted a TCP connection, logwarden/
    kafka_preflight.py): nobody waits on a drain, so a closed port is exit 3 in a second, not
    after the patience. A service that runs until stopped retries it like any outage.

    Returns:
        Its result, or None when a stop was requested first.
    Raises:
        KafkaUnreachable: with patience, no bootstrap server answered (a ServerError: exit 3).
        ServerError: still failing after the outage's patience.
    """
    while True:
        try:
            result = call()
        except KafkaError as exc:
            if isinstance(exc, KafkaUnreachable) and outage.patience is not None:
                raise
            if outage.failed_with(exc):
                return None
            continue
        outage.succeeded()
        return result


@contextmanager
def consumer_and_producer(open_consumer: Callable[[], C], open_producer: Callable[[], P],
                          startup: Outage) -> Iterator[tuple[C, P] | None]:
    """Open a consumer, then a producer, each retried through a Kafka outage with `startup`'s
    backoff, logging and patience; yield both, or None when a stop was requested first.

    On leaving (or when the producer could not be opened) the consumer is closed without a
    commit, so it leaves its group at once; then the producer is closed. A producer that fails
    to close is logged, not raised: the services commit a batch only after Kafka acknowledged its
    messages, so nothing is pending by then.

    Raises:
        ServerError: still failing after `startup`'s patience (what was opened is closed).
    """
    consumer = retry_kafka(open_consumer, startup)
    if consumer is None:
        yield None
        return
    try:
        producer = retry_kafka(open_producer, startup)
    except BaseException:
        consumer.close(autocommit=False)
        raise
    if producer is None:
        consumer.close(autocommit=False)
        yield None
        return
    try:
        yield consumer, producer
    finally:
        consumer.close(autocommit=False)
        try:
            producer.close()
        except (DeliveryError, KafkaError) as exc:  # every batch was acknowledged before its commit
            log.warning("closing the Kafka producer: %s", exc)


__all__ = ["BatchAbandoned", "BatchHandler", "ConsumeLoop", "LoopCounters", "Outage", "StopFlag",
           "batch_offsets", "consumer_and_producer", "deliver", "retry_kafka"]
