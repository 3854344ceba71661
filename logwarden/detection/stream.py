"""stream: evaluate every event of the Kafka topics as it passes; alerts to logwarden.alerts.

A consumer-group member on logwarden/consume.py's loop (the indexer's loop and shutdown model):
N members of one group split the input partitions. A rule on single events raises its alert
where the event is read. A correlation's hits go through the repartition topic
(logwarden/detection/repartition.py), keyed by the correlation family and its group-by values,
which the members also consume in the same group: each group's window is counted by the member
that holds its repartition partition, in the state of that partition
(logwarden/detection/stream_state.py `PartitionStates`), loaded on assignment, dropped on
revocation, saved at every commit point. One batch: its alerts and repartition records produced
and acknowledged, then the state saved, then its offsets committed; so a killed member's
successor repeats work (same alert ids: one document, a repeated record counted once) and
misses none.

Hits of one group come from several input partitions in no fixed order: the counting side holds
them in a reorder buffer per repartition partition (logwarden/detection/reorder.py) and counts
them in hunt's (time, event id, rule) order once they are `stream_reorder_grace` behind the
partition's newest event time, or have waited the grace in wall-clock time, however busy the
partition (checked after every batch and on an empty poll); `run` counts what still waits when
the loop ends (`--once` drained, a clean stop).

A single member works the same way (it is a group of one): it could count in process, but a
second member may join at any time, and state held per repartition partition is what lets a
partition move between members; one path, whatever the member count. The cost is one small
record produced and read back per correlation hit (not per event). `StreamRunner` without a
`PartitionStates` counts correlations in process (`Detector.process`), as the engines'
differential test runs it.

A message detection cannot read (not a JSON object, or nested deeper than the parser or the
detector can follow) is counted and logged with its topic, partition and offset, and skipped:
the indexer turns the same message into a dead letter, so it is not lost, and it never stops the
stream or gets blamed on Kafka.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import orjson
from kafka.errors import KafkaError

from logwarden.config import Config
from logwarden.consume import BatchAbandoned, ConsumeLoop, LoopCounters, Outage, StopFlag, deliver, retry_kafka
from logwarden.errors import ConfigError
from logwarden.kafka_io import DeliveryError, KafkaSink
from logwarden.shippers.base import Event

from .alerts import alert_for_fired, alert_for_match, doc_host, doc_id, doc_time
from .correlate import Fired, Hit
from .engine import Detector
from .evaluate import Flat
from .reorder import ReorderBuffer
from .repartition import Record, Router, parse
from .stream_state import PartitionStates, StreamState

log = logging.getLogger(__name__)

SOURCES = ("windows", "firewall", "av")
SINK_MAX_BLOCK_MS = 10_000  # an alert send waits this long for Kafka, then backs off (stop stays honoured)
# The broker answers a member's fetch once 64 KiB are there (~40 events) or after 20 ms, a
# shipper's own linger. The clients' default (1 byte, answered at once with whatever came in) made
# each event of a slow trickle its own fetch, batch, alert flush and commit; with this, 1.5-2.2x
# fewer batches at 500-3,000 events/s. 256 KiB / 100 ms cut 3x but added ~100 ms to every event
# at low rates (docs/kafka-client.md, "stream's fetches").
STREAM_FETCH: dict[str, Any] = {"fetch_min_bytes": 64 * 1024, "fetch_max_wait_ms": 20}


@dataclass
class StreamStats(LoopCounters):
    undecodable: int = 0  # not a JSON object (or too deep to parse): the indexer dead-letters it
    unprocessable: int = 0  # decoded, but too deeply nested for the detector
    alerts: int = 0
    repartitioned: int = 0  # correlation hits produced to the repartition topic
    counted: int = 0  # repartition records counted into correlation windows
    duplicates: int = 0  # repartition records skipped: counted already (their input was read again)
    late: int = 0  # correlation hits that arrived after the grace: counted where they fell
    bad_state_files: int = 0  # correlation state files that failed to load: set aside, started empty


# orjson reads an integer beyond 64 bits as a float where json keeps it exact: a value with 19
# digits in a row (any longer integer has such a run) is read by json. A run is a number only
# where a value, a fraction or an exponent can start (after `:` `,` `[` `.` `e`, JSON whitespace,
# a sign); one inside a string (a 64-bit maximum written as text, a hash) is orjson's to read.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19
_LONG_NUMBER = re.compile(rb"[:,\[.eE][ \t\r\n]*[-+]?0{19}")  # searched in the digits-as-zero text


def _decode(value: bytes | None) -> dict[str, Any] | None:
    """The JSON object in `value`, as json.loads reads it; None when it is not one.

    orjson reads it (about 10 µs less per event than json) unless it holds a number with a run of
    19 digits or orjson refuses it (NaN, lone surrogates, a byte-order mark, nesting deeper than 1024 levels,
    not JSON at all): json reads those, so both ways give the same document or None."""
    if not value:
        return None
    try:
        zeroed = value.translate(_DIGITS_AS_ZERO)
        if _LONG_DIGIT_RUN in zeroed and _LONG_NUMBER.search(zeroed):
            doc = json.loads(value)
        else:
            try:
                doc = orjson.loads(value)
            except orjson.JSONDecodeError:
                doc = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def _where(msg: Any) -> str:
    """Where a consumer record was read: `topic/partition@offset` (for the log)."""
    return f"{msg.topic}/{msg.partition}@{msg.offset}"


def _header_id(headers: Any) -> str:
    for k, v in headers or []:
        if k == "id" and v:
            return str(v.decode("utf-8", "replace"))
    return ""


class StreamRunner:
    """The stream detector's batch handler (and, through `run`, its loop)."""

    def __init__(self, cfg: Config, detector: Detector, consumer: Any, sink: Any,
                 stop: StopFlag | None = None, patience: float | None = None,
                 state: StreamState | None = None, partitions: PartitionStates | None = None) -> None:
        self.cfg, self.detector, self.consumer, self.sink = cfg, detector, consumer, sink
        self.state = state  # None: correlation state lives in memory only
        self.partitions = partitions  # set: correlations counted through the repartition topic
        # in process: the hits (with their event and origin) waiting to be counted in time order
        self.waiting: ReorderBuffer[tuple[Hit, dict[str, Any]]] = ReorderBuffer(cfg.reorder_grace)
        self._unsaved = False  # a batch was taken into the state but not saved (abandoned)
        self.router = Router(detector.ruleset.correlations) if partitions is not None else None
        self.stop = stop or StopFlag()
        self.stats = StreamStats()
        self.kafka_outage = Outage(f"Kafka at {cfg.kafka} (alerts)", self.stop, log, patience)

    def handle(self, records: list[Any]) -> None:
        """Evaluate a batch and produce its alerts; returns once Kafka acknowledged them.

        Raises:
            BatchAbandoned: a stop was requested while Kafka was unreachable.
        """
        if self.partitions is not None:
            self._handle_repartitioned(records, self.partitions)
            return
        self._unsaved = True
        alerts: list[Event] = []
        for msg in records:
            self._match(msg, alerts, self._wait)
        # a member with a state file counts what it read before saving it (the batch is reordered,
        # nothing waits across batches); otherwise the hits wait for the watermark
        released = self.waiting.drain() if self.state is not None else self.waiting.release(time.monotonic())
        self._count_in_process(released, alerts)
        deliver(self.sink, alerts, self.kafka_outage)
        self.stats.alerts += len(alerts)
        self.stats.late = self.waiting.late
        if self.state is not None:
            self.state.advance(records)
            self.state.save()
        self._unsaved = False

    def _wait(self, msg_topic: str, rule_ids: list[str], flat: Flat, eid: str, origin: dict[str, Any],
              out: list[Event]) -> None:
        """In process: an event's correlation hits into the reorder buffer."""
        ts, host, now = doc_time(flat), doc_host(flat), time.monotonic()
        for rid in rule_ids:
            self.waiting.add((ts, eid, rid), (Hit(rid, ts, eid, flat, host), origin), now)

    def _count_in_process(self, released: list[tuple[Hit, dict[str, Any]]], out: list[Event]) -> None:
        for hit, origin in released:
            for fired in self.detector.correlations.feed(hit):
                out.append(_alert(fired, hit, origin))

    def _handle_repartitioned(self, records: list[Any], partitions: PartitionStates) -> None:
        self._unsaved = True
        out: list[Event] = []
        repartition_topic, match, repartition = partitions.topic, self._match, self._repartition
        for msg in records:
            if msg.topic == repartition_topic:
                self._hold(msg, partitions)
            else:
                match(msg, out, repartition)
        self._release(partitions, out)  # the whole batch is in the buffers before anything is released
        deliver(self.sink, out, self.kafka_outage)
        self.stats.alerts += sum(item.dataset == "alerts" for item in out)
        self.stats.repartitioned += sum(item.dataset != "alerts" for item in out)
        self.stats.duplicates, self.stats.late = partitions.duplicates, partitions.late
        partitions.save(partitions.advance(records))
        self._unsaved = False

    def _repartition(self, topic: str, rule_ids: list[str], flat: Flat, eid: str, origin: dict[str, Any],
                     out: list[Event]) -> None:
        """Through the repartition topic: an event's correlation hits as records keyed by group."""
        assert self.router is not None
        out.extend(self.router.records(topic, rule_ids, flat, eid, doc_time(flat), doc_host(flat), origin))

    def _match(self, msg: Any, out: list[Event], hits_to: Any) -> None:
        """The single-event alerts of one input message into `out`; its correlation hits to
        `hits_to(topic, rule ids, flat, event id, origin, out)`. What only an alert or a hit needs
        (the event id, the origin) is made for the events some rule matched (a few in a hundred)."""
        doc = _decode(msg.value)
        if doc is None:
            self.stats.undecodable += 1
            log.debug("not a JSON object, skipped: %s", _where(msg))
            return
        try:
            flat = self.detector.flatten(doc)
            matched = self.detector.match(flat)
            if not matched:
                return
            eid = _header_id(msg.headers) or doc_id(doc, flat)
        except RecursionError:
            self.stats.unprocessable += 1
            log.warning("document nested too deeply to evaluate, skipped: %s", _where(msg))
            return
        interested = self.router.interested if self.router is not None else self.detector.correlations.interested
        origin = {"topic": msg.topic, "partition": msg.partition, "offset": msg.offset}
        for rule in matched:
            if rule.generate:
                alert = alert_for_match(rule, flat, eid, origin)
                out.append(Event(alert["event"]["id"], "alerts", str((alert.get("host") or {}).get("name") or ""),
                                 alert))
        hits = [rule.id for rule in matched if interested(rule.id)]
        if hits:
            hits_to(msg.topic, hits, flat, eid, origin, out)

    def _hold(self, msg: Any, partitions: PartitionStates) -> bool:
        """One repartition record into its partition's reorder buffer; False when it is not one
        or was taken already."""
        record = parse(_decode(msg.value))
        if record is None:
            self.stats.undecodable += 1
            log.warning("not a repartition record, skipped: %s", _where(msg))
            return False
        self.stats.counted += 1
        return partitions.hold(msg.partition, record, time.monotonic())

    def _release(self, partitions: PartitionStates, out: list[Event]) -> set[int]:
        """Count what the watermark passed in every partition holding records; their numbers."""
        holding, now = partitions.holding(), time.monotonic()
        for p in sorted(holding):
            self._alerts(partitions.release(p, now), out)
        return holding

    def tick(self) -> None:
        """Between batches (an empty poll): count the held hits that have waited the grace in
        wall-clock time (and those before them in order), deliver their alerts and save the state. Offsets are
        not involved; a stop during an outage here leaves the hits in the saved state."""
        if self._unsaved or not (self.partitions.holding() if self.partitions is not None else len(self.waiting)):
            return
        self._unsaved = True
        out: list[Event] = []
        touched: set[int] = set()
        if self.partitions is not None:
            touched = self._release(self.partitions, out)
        else:
            self._count_in_process(self.waiting.release(time.monotonic()), out)
        if not out and self.partitions is None:
            self._unsaved = False
            return
        try:
            deliver(self.sink, out, self.kafka_outage)
        except BatchAbandoned:
            return  # stopping: the state in memory is dropped, the saved one still holds the hits
        self.stats.alerts += len(out)
        if self.partitions is not None:
            self.partitions.save(touched)
        elif self.state is not None:
            self.state.save()
        self._unsaved = False

    @staticmethod
    def _alerts(counted: list[tuple[Record, list[Fired]]], out: list[Event]) -> None:
        for record, fireds in counted:
            out.extend(_alert(fired, record.hit, record.origin) for fired in fireds)

    def run(self, once: bool = False, max_messages: int | None = None) -> StreamStats:
        """Consume until stopped, `max_messages` were consumed or (with `once`) every assigned
        partition was read to its end, then count the hits still waiting for the grace (`drain`);
        returns the counters."""
        consumer = _TickOnEmptyPoll(self.consumer, self.tick)
        ConsumeLoop(consumer, self, self.stop, self.cfg.kafka, log).run(once=once, max_messages=max_messages)
        self.drain()
        return self.stats

    def drain(self) -> None:
        """Count every correlation hit still in a reorder buffer, deliver the alerts and save the
        state (a run's end, a clean stop). Nothing happens after an abandoned batch: its state
        was not saved, and its records are read again by whoever holds the partitions next.
        A stop during an outage here leaves the held hits in the saved state (counted on restart)."""
        if self._unsaved:
            return
        out: list[Event] = []
        touched: set[int] = set()
        if self.partitions is not None:
            touched = self.partitions.holding()
            self._alerts(self.partitions.drain(), out)
        else:
            self._count_in_process(self.waiting.drain(), out)
        try:
            deliver(self.sink, out, self.kafka_outage)
        except BatchAbandoned:
            log.warning("stopping with %d alert(s) of held correlation hits not delivered: the hits stay in the "
                        "saved state", len(out))
            return
        self.stats.alerts += len(out)
        if self.partitions is not None:
            self.partitions.save(touched)
        elif self.state is not None:
            self.state.save()


class _TickOnEmptyPoll:
    """The consumer as the loop sees it: an empty poll also gives the runner its `tick` (the loop
    calls its handler only with records, and held hits must not wait for the next record)."""

    def __init__(self, consumer: Any, tick: Any) -> None:
        self._consumer, self._tick = consumer, tick

    def poll(self, *args: Any, **kwargs: Any) -> Any:
        records = self._consumer.poll(*args, **kwargs)
        if not records:
            self._tick()
        return records

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consumer, name)


def _alert(fired: Fired, hit: Hit, origin: dict[str, Any]) -> Event:
    """The alert document of what fired when `hit` was counted (with the hit's event facts and
    origin when the hit is its last event)."""
    here = bool(fired.event_ids) and fired.event_ids[-1] == hit.event_id
    alert = alert_for_fired(fired, hit.fields if here else None, origin if here else None)
    return Event(alert["event"]["id"], "alerts", fired.host, alert)


def run_stream(cfg: Config, detector: Detector, once: bool = False, group_id: str | None = None,
               stop: StopFlag | None = None, kafka_options: dict[str, Any] | None = None,
               instance_id: str | None = None) -> StreamStats:
    """Run one stream member until SIGTERM/SIGINT or `stop` (with `once`: until drained). With
    correlations in the rule set, the member also consumes the repartition topic and keeps the
    state of the repartition partitions it is assigned in `<state>/stream-<group>/<partition>.json`.
    `instance_id` makes the consumer a static group member (group.instance.id): restarted, it gets
    its partitions back at once; stopped, it keeps them for the session timeout (10 s) instead of
    leaving the group.

    Returns:
        The counters (also logged).
    Raises:
        ServerError: with `once`, Kafka unreachable for ONCE_PATIENCE seconds.
        ConfigError: the rule set has correlations and the repartition topic does not exist.
    """
    from logwarden.consume import BOOTSTRAP_TIMEOUT_MS, ONCE_PATIENCE
    from logwarden.kafka_io import STREAM_REPARTITION, make_consumer

    from .repartition import families
    from .stream_state import partitions_folder

    stop = stop or StopFlag()
    options = {"bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS, **(kafka_options or {})}
    patience = ONCE_PATIENCE if once else None
    with stop.on_signals():
        startup = Outage(f"Kafka at {cfg.kafka}", stop, log, patience)
        group = group_id or cfg.group("stream")
        topics = [cfg.topic(d) for d in SOURCES]
        partitions = None
        if detector.correlations.by_rule:
            topics.append(cfg.topic(STREAM_REPARTITION))
            partitions = PartitionStates(partitions_folder(cfg.state_path, group), cfg.topic(STREAM_REPARTITION),
                                         families(detector.ruleset.correlations), cfg.reorder_grace)
        member = {"group_instance_id": instance_id} if instance_id else {}
        consumer_options = {**STREAM_FETCH, **options, **member}
        consumer = retry_kafka(lambda: make_consumer(cfg, topics, group, listener=partitions, **consumer_options),
                               startup)
        if consumer is None:
            return StreamStats()
        if partitions is not None:
            partitions.consumer = consumer
            found = retry_kafka(lambda: consumer.partitions_for_topic(partitions.topic) or set(), startup)
            if found is None:  # stopped while Kafka was away
                consumer.close(autocommit=False)
                return StreamStats()
            if not found:
                consumer.close(autocommit=False)
                raise ConfigError(f"Kafka topic {partitions.topic} does not exist: the rule set has correlations, "
                                  "which stream counts through it (`logwarden setup` creates it)")
        # idempotent: a retried send cannot reorder one partition's records (a repartition record
        # repeated out of order would be taken for a duplicate)
        def make_sink() -> KafkaSink:
            return KafkaSink(cfg, client_id="logwarden-stream", max_block_ms=SINK_MAX_BLOCK_MS,
                             enable_idempotence=True, **options)

        first = retry_kafka(make_sink, startup)
        if first is None:
            consumer.close(autocommit=False)
            return StreamStats()
        # a refused write (a WRITE ACL removed) is a KafkaRefused from its send or flush, and a
        # producer the refusal left unusable is replaced by the sink itself (kafka_io.KafkaSink)
        sink = first
        runner = StreamRunner(cfg, detector, consumer, sink, stop, patience, partitions=partitions)
        runner.stats.kafka_retries = startup.retries
        try:
            runner.run(once=once)
        finally:
            consumer.close(autocommit=False)  # a dynamic member leaves the group: the partitions move at once
            try:
                sink.close()
            except (DeliveryError, KafkaError) as exc:  # every alert was acknowledged before its commit
                log.warning("closing the Kafka producer: %s", exc)
        stats = runner.stats
        stats.bad_state_files = partitions.bad_files if partitions is not None else 0
        log.info("stream stopped: consumed %d, alerts %d, correlation hits repartitioned %d, counted %d "
                 "(duplicates skipped %d, later than the reorder grace %d), undecodable %d, unprocessable %d, "
                 "Kafka retries %d, left uncommitted %d, correlation state files set aside %d", stats.consumed,
                 stats.alerts, stats.repartitioned, stats.counted, stats.duplicates, stats.late, stats.undecodable,
                 stats.unprocessable, stats.kafka_retries, stats.uncommitted, stats.bad_state_files)
        return stats
