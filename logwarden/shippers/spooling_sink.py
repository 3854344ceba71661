"""The syslog receiver's sink: every accepted message reaches Kafka or the on-disk spool.

A receiver cannot ask its senders to resend (UDP never can, and a TCP sender has forgotten what
the socket took), so what it accepted must survive a broker outage and its own shutdown:

- direct: messages go to the Kafka producer and wait there for their acknowledgement
  (`pending`). One that fails is appended to the spool. When the oldest one has waited
  STALL_SECONDS, Kafka is taken as down: spooling starts.
- spooling: new messages are appended to the spool (logwarden/shippers/spool.py), in arrival
  order. A forwarder thread replays the oldest segment, waits for Kafka to acknowledge all of
  it, removes it, and goes on; once the spool is empty the sink is direct again. Failures are
  retried with logwarden/consume.py's backoff, logged once when the outage starts and once when
  it ends. A replay Kafka refuses (a WRITE ACL removed, a password changed, a certificate
  replaced: told as `KafkaSink` tells it, logwarden/server_errors.py) is a refusal instead, not
  an outage: one ERROR line naming it and what waits in the spool, one INFO line when Kafka
  accepts again (logwarden/refusals.py); a producer it left unable to deliver is replaced. The
  client's log lines of the last CLIENT_LINES_KEPT seconds count (a refused login is logged when
  it connects again, often before the replay), and the messages of a failed replay that the same
  producer still holds are waited on, not produced again (docs/architecture.md, 63). The
  producer itself is created by the forwarder, so a receiver started while Kafka is down spools
  from its first message.
- full spool (`max_bytes`): said once in the log, each refused message counted (`spool_refused`);
  `accepting()` is False, which the TCP side turns into backpressure (it stops reading).
- `close(grace)`: waits up to `grace` seconds for the pending messages, appends the rest to the
  spool, fsyncs it. The next start replays it.

Duplicates: a message whose acknowledgement was lost (the broker went away after writing it, or
the grace ended with it in flight) is spooled and sent again. The copy has the same id, so the
indexer keeps one document; Kafka may hold both. Order: the spool keeps arrival order, except
that a message that failed in the producer is spooled when its failure is known, after the
messages spooled meanwhile.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from kafka.errors import KafkaError

from logwarden import server_errors
from logwarden.config import Config
from logwarden.consume import Outage, StopFlag
from logwarden.errors import ServerError
from logwarden.kafka_clients.interface import delivery_error
from logwarden.kafka_io import DeliveryError, KafkaSink, Message, refused_writes, to_message
from logwarden.safe_text import printable
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.spool import Spool

log = logging.getLogger(__name__)

STALL_SECONDS = 5.0  # a message unacknowledged this long means Kafka is away: spool from then on
REPLAY_TIMEOUT = 10.0  # seconds Kafka gets to acknowledge a replayed segment before a retry
FORWARD_IDLE = 0.2  # seconds between the forwarder's looks at an empty spool
CLIENT_LINES_KEPT = 60.0  # seconds a client's warning counts towards classifying a failed replay
EARLIER_ATTEMPT_KEPT = 60.0  # seconds a replay's unresolved deliveries are waited on before sending again
DEFAULT_GRACE = 10.0
# producer options of the receiver: a send never blocks the receiving threads for long, and a
# batch that cannot be delivered fails in bounded time (its messages are then spooled). Not
# idempotent: after batches expired during a broker restart, kafka-python's idempotent producer
# kept the partition blocked (replays failing for minutes in the soak while a new producer to the
# same broker succeeded); copies are harmless here, the ids make them one document.
PRODUCER_OPTIONS: dict[str, Any] = {"max_block_ms": 1_000, "request_timeout_ms": 10_000,
                                    "delivery_timeout_ms": 30_000, "bootstrap_timeout_ms": 5_000,
                                    "enable_idempotence": False, "client_id": "logwarden-syslog"}


@dataclass
class SpoolCounters:
    direct: int = 0  # messages handed straight to the producer
    spooled: int = 0  # messages appended to the spool (a failed direct message counts here too)
    replayed: int = 0  # spooled messages acknowledged by Kafka and removed from the spool
    spool_refused: int = 0  # messages refused: the spool was full
    left_in_spool: int = 0  # messages still in the spool at close (replayed at the next start)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class SpoolingSink:
    """Kafka first, the spool when Kafka cannot take it (see the module docstring)."""

    def __init__(self, cfg: Config, spool: Spool, connect: Callable[[], KafkaSink] | None = None) -> None:
        self.cfg = cfg
        self.spool = spool
        self._connect = connect or (lambda: KafkaSink(cfg, **PRODUCER_OPTIONS))
        self.kafka: KafkaSink | None = None
        self.counters = SpoolCounters()
        self._lock = threading.RLock()
        self._pending: dict[int, tuple[Message, float]] = {}
        self._numbers = itertools.count()
        self._stop = StopFlag()
        self._closing = False
        self.spooling = True  # until the forwarder has a producer (and the spool left on disk is empty)
        self._full = False
        self._announced = False  # a spooling period was logged: its end is logged too
        self.outage = Outage(f"Kafka at {cfg.kafka}", self._stop, log)
        self._client_lines = _RecentClientLines()
        self._earlier: tuple[Path, KafkaSink, float, list[Any]] | None = None  # the last failed replay's
        self._forwarder = threading.Thread(target=self._forward, name="syslog-forwarder", daemon=True)
        if spool.records:
            log.info("spool %s holds %d message(s) from an earlier run: replaying them first", spool.directory,
                     spool.records)
        self._forwarder.start()

    # ------------------------------------------------------------------ the receiver's side
    def accepting(self) -> bool:
        """False while the spool is full and Kafka is not being written to directly."""
        return not (self.spooling and self._full)

    def send(self, item: Event | DeadLetter) -> bool:
        """Take one message; False when it was refused (the spool is full)."""
        return self.send_many([item]) is None

    def send_many(self, items: list[Event | DeadLetter]) -> int | None:
        """Take `items` in order (the messages of one TCP read or datagram); returns the index
        of the first one refused (the spool is full; those after it were not taken), None when
        all were taken. The sink's lock is taken twice per batch, not per message, and each
        message is produced with a report (`_reported`) rather than a future with callbacks:
        it is made pending before it is produced, as its report may come at once from the
        client's thread."""
        cfg = self.cfg
        messages = [to_message(cfg, item) for item in items]
        with self._lock:
            kafka = None if self.spooling else self.kafka
            if kafka is not None:
                now, count, pending = time.monotonic(), self._numbers, self._pending
                numbers = [next(count) for _ in messages]
                for number, message in zip(numbers, messages, strict=True):
                    pending[number] = (message, now)
        if kafka is None:
            return self._append_from(messages, 0)
        produce, reported = _producing(kafka), self._reported
        done = 0
        try:
            for number, message in zip(numbers, messages, strict=True):
                produce(message, partial(reported, number))
                done += 1
        except KafkaError as exc:  # buffer full or topic unknown for max_block_ms: Kafka is away
            with self._lock:
                for number in numbers[done:]:  # not produced: spooled below instead
                    self._pending.pop(number, None)
                self.counters.direct += done
                self._start_spooling(f"the producer could not take a message: {exc}")
            return self._append_from(messages, done)
        with self._lock:
            self.counters.direct += done
        return None

    def _append_from(self, messages: list[Message], first: int) -> int | None:
        """Spool messages[first:] (one write for the lot: Spool.append_many); returns the index
        of the first refused, None when all were kept."""
        with self._lock:
            rest = messages[first:] if first else messages
            kept = self.spool.append_many(rest)
            self.counters.spooled += kept
            if kept == len(rest):
                return None
            self._refuse()
            return first + kept

    def mark(self) -> int:
        """A number above that of every message produced so far: the messages taken until now
        are settled once `settled_below()` exceeds it."""
        return next(self._numbers)

    def settled_below(self) -> int:
        """A number such that every message produced with a lower one is settled: acknowledged by
        Kafka or appended to the spool (where a restart replays it). `ship syslog --parse-workers`
        tells its receiver which batches it may forget with it (logwarden/shippers/syslog_spread.py)."""
        with self._lock:
            if self._pending:
                return min(self._pending)
        return next(self._numbers)

    def flush(self) -> None:
        """The receiver's periodic tick: fsync the spool; start spooling when Kafka has kept a
        message unacknowledged for STALL_SECONDS. Never blocks on Kafka."""
        with self._lock:
            self.spool.sync()
            if not self.spooling and self._pending:
                _, sent_at = next(iter(self._pending.values()))
                if time.monotonic() - sent_at > STALL_SECONDS:
                    self._start_spooling(f"no acknowledgement for {STALL_SECONDS:.0f}s")

    def close(self, grace: float = DEFAULT_GRACE) -> SpoolCounters:
        """Stop: up to `grace` seconds for the pending messages, the rest to the spool (fsynced).

        Returns:
            The counters (`left_in_spool`: messages the next start replays).
        """
        deadline = time.monotonic() + grace
        # Kafka answering: the grace lets the forwarder send what the spool holds (messages that
        # arrived before the producer was connected, or during an outage that has ended)
        while time.monotonic() < deadline and self._forwarder.is_alive():
            with self._lock:
                drained = not self.spool.records and not self._pending
                answering = self.kafka is not None and not self.outage.ongoing
            if drained or not answering:
                break
            time.sleep(0.05)
        self._stop.set("close")
        self._forwarder.join(max(0.0, deadline - time.monotonic()))
        if self.kafka is not None:
            while self._pending and time.monotonic() < deadline:
                try:
                    self.kafka.producer.flush(timeout=max(0.1, deadline - time.monotonic()))
                except KafkaError:
                    break
        with self._lock:
            self._closing = True
            for message, _ in self._pending.values():
                self._append(message)
            self._pending.clear()
            self.counters.left_in_spool = self.spool.records
            self.spool.close()
        if self.kafka is not None:
            try:
                self.kafka.producer.close(timeout=0)
            except KafkaError as exc:  # its pending messages are in the spool already
                log.debug("closing the Kafka producer: %s", exc)
        if self.counters.left_in_spool:
            log.warning("%d message(s) left in the spool %s: the next `ship syslog` replays them",
                        self.counters.left_in_spool, self.spool.directory)
        return self.counters

    # ------------------------------------------------------------------ internals (lock held)
    def _append(self, message: Message) -> bool:
        if self.spool.append(message):
            self.counters.spooled += 1
            return True
        self._refuse()
        return False

    def _refuse(self) -> None:
        """A message was refused: the spool is full (counted; said once per full period)."""
        self.counters.spool_refused += 1
        if not self._full:
            self._full = True
            log.warning("spool %s is full (%d bytes, limit %d): refusing messages until Kafka takes them "
                        "(TCP senders are made to wait, UDP messages are dropped and counted)",
                        self.spool.directory, self.spool.bytes, self.spool.max_bytes)

    def _start_spooling(self, why: str) -> None:
        if not self.spooling:
            self.spooling = True
            self._announced = True
            log.warning("Kafka at %s is not taking messages (%s): accepted messages go to the spool %s",
                        self.cfg.kafka, why, self.spool.directory)

    def _reported(self, number: int, error: object, _metadata: object = None) -> None:
        """Message `number`'s outcome (the client's thread): acknowledged when `error` is None,
        else failed (spooled, unless the sink is closing: close spooled what was pending)."""
        if error is None:
            with self._lock:
                self._pending.pop(number, None)
            return
        exc = delivery_error(error)
        with self._lock:
            entry = self._pending.pop(number, None)
            if entry is None or self._closing:
                return
            self._start_spooling(f"delivery failed: {exc!r}")
            self._append(entry[0])

    # ------------------------------------------------------------------ the forwarder thread
    def _forward(self) -> None:
        logger = logging.getLogger("kafka")  # the client's lines, kafka-python's and librdkafka's
        logger.addHandler(self._client_lines)
        try:
            self._forward_loop()
        finally:
            logger.removeHandler(self._client_lines)

    def _forward_loop(self) -> None:
        while not self._stop.is_set():
            if self.kafka is None:
                try:
                    self.kafka = self._connect()
                except KafkaError as exc:
                    self.outage.failed(exc)
                    continue
                except ServerError as exc:  # a refused login or certificate (a new producer after a refusal)
                    self.outage.refused(str(exc), waiting=f"{self.spool.records} message(s) wait in the spool "
                                                          f"{self.spool.directory}")
                    continue
                self.outage.succeeded(accepted=False)  # connected: not yet proof that Kafka takes our writes
            with self._lock:
                segment = self.spool.oldest() if self.spooling else None
                if self.spooling and segment is None and not self._pending:
                    self._end_spooling()
            if segment is None:
                self._stop.wait(FORWARD_IDLE)
                continue
            if self._replay(segment):
                self.outage.succeeded()

    def _end_spooling(self) -> None:
        self.spooling = False
        if self._announced:  # said once per outage, like its start
            self._announced = False
            log.info("Kafka at %s takes messages again: the spool is replayed, writing directly", self.cfg.kafka)
        if self._full:
            self._full = False
            log.info("spool %s has room again (%d message(s) refused so far)", self.spool.directory,
                     self.counters.spool_refused)

    def _replay(self, segment: Any) -> bool:
        """Send one segment and remove it once Kafka acknowledged all of it; False after a failure
        (backoff slept: a refusal's or an outage's, `_replay_failed`). A message of the previous
        attempt at the segment that the same producer still holds (unresolved: a login refused,
        Kafka away) is not sent again, nor one it acknowledged: the producer may still deliver it,
        and a second copy would follow it into Kafka."""
        kafka = self.kafka
        assert kafka is not None
        messages = self.spool.read(segment)
        earlier = self._earlier_deliveries(segment, kafka)
        futures: list[Any] = []
        errors: list[tuple[str, BaseException]] = []  # (topic, error) of each message not delivered
        started = time.monotonic()
        try:
            for index, message in enumerate(messages):
                before = earlier[index] if index < len(earlier) else None
                if before is not None and (before.succeeded() or before.exception is None):  # none: unresolved
                    futures.append(before)
                else:
                    futures.append(kafka.produce(message))
            kafka.producer.flush(timeout=REPLAY_TIMEOUT)
        except KafkaError as exc:  # not taken, or not acknowledged within REPLAY_TIMEOUT
            errors.append((messages[len(futures)].topic if len(futures) < len(messages) else "", exc))
        # failed, or never resolved (a report lost to a fatal error of the client: docs/architecture.md, 57)
        errors += [(m.topic, f.exception or KafkaError("not acknowledged")) for m, f in
                   zip(messages, futures, strict=False) if not f.succeeded()]
        if errors:
            self._earlier = (segment, kafka, started, futures)
            self._replay_failed(errors, self._client_lines.since(started - CLIENT_LINES_KEPT))
            return False
        self._earlier = None
        self._client_lines.clear()
        with self._lock:
            if self._closing:  # closed meanwhile: the segment stays and is sent again at the next start
                return False
            self.spool.remove(segment, len(messages))
            self.counters.replayed += len(messages)
            if self._full and self.spool.bytes < self.spool.max_bytes:
                self._full = False
                log.info("spool %s has room again (%d message(s) refused so far)", self.spool.directory,
                         self.counters.spool_refused)
        return True

    def _earlier_deliveries(self, segment: Any, kafka: KafkaSink) -> list[Any]:
        """The deliveries of the previous failed attempt at `segment` when it was made by `kafka`
        less than EARLIER_ATTEMPT_KEPT seconds ago (a delivery timeout resolves them before);
        else none: everything is sent."""
        earlier = self._earlier
        if earlier is None or earlier[0] != segment or earlier[1] is not kafka:
            return []
        if time.monotonic() - earlier[2] > EARLIER_ATTEMPT_KEPT:
            return []
        return earlier[3]

    def _replay_failed(self, errors: list[tuple[str, BaseException]], captured: list[str]) -> None:
        """A replay failed: a refusal (an ACL removed, a password changed, a certificate replaced:
        server_errors.kafka_refused_mid_run on the errors and the client's log lines of the
        attempt and of the CLIENT_LINES_KEPT seconds before it, as `KafkaSink.flush` reads them: a
        refused login is logged when the client connects again, which may be before the replay)
        is waited out as one (one ERROR line naming it and what waits in the spool,
        logwarden/refusals.py), anything else as an outage. A
        producer the refusal left unable to deliver again (`Producer.failed()`) is closed; the
        forwarder connects a new one."""
        assert self.kafka is not None
        failed = self.kafka.producer.failed()
        texts = [*captured, *(repr(exc) for _, exc in errors), failed or ""]
        line = server_errors.kafka_refused_mid_run(self.cfg, texts)
        if line is None:
            self.outage.failed(f"replaying the spool: {errors[0][1]!r}")
            return
        if failed is not None:
            self._drop_producer(failed)
        waiting = f"{self.spool.records} message(s) wait in the spool {self.spool.directory}"
        self.outage.refused(line, waiting=refused_writes(line, [e for e in errors if e[0]], waiting, failed))

    def _drop_producer(self, failed: str) -> None:
        """Close a producer that cannot deliver again (what it held is in the spool still)."""
        kafka, self.kafka = self.kafka, None
        log.debug("the Kafka producer cannot deliver again (%s): a new one is connected", printable(failed)[:300])
        if kafka is not None:
            try:
                kafka.producer.close(timeout=0)
            except (KafkaError, DeliveryError) as exc:
                log.debug("closing the failed producer: %s", exc)


class _RecentClientLines(logging.Handler):
    """The Kafka client's warnings and errors of the last moments (its "kafka" logger), with the
    time each was logged; they still reach the log."""

    def __init__(self, keep: int = 200) -> None:
        super().__init__(logging.WARNING)
        self.lines: deque[tuple[float, str]] = deque(maxlen=keep)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((time.monotonic(), record.getMessage()))

    def since(self, moment: float) -> list[str]:
        return [text for logged, text in list(self.lines) if logged >= moment]

    def clear(self) -> None:
        self.lines.clear()


Produce = Callable[[Message, Callable[..., object]], None]


def _producing(kafka: Any) -> Produce:
    """How the sink hands `kafka` a message with its report: `report(error, metadata)` once,
    error None on success. A `KafkaSink`'s producer does it without a future
    (`send_reporting`, logwarden/kafka_clients/interface.py), with the `id` header
    `KafkaSink.produce` gives; anything else that has `produce` (tests' stand-ins), through
    the future it returns."""
    send = getattr(kafka.producer, "send_reporting", None) if isinstance(kafka, KafkaSink) else None
    if send is None:
        def via_future(message: Message, report: Callable[..., object]) -> None:
            future = kafka.produce(message)
            future.add_callback(report, None)
            future.add_errback(report)
        return via_future

    def direct(message: Message, report: Callable[..., object]) -> None:
        send(message.topic, message.key, message.value, [("id", message.id.encode())], report)
    return direct
