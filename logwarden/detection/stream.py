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
from dataclasses import dataclass
from typing import Any

from logwarden.config import Config
from logwarden.consume import ConsumeLoop, LoopCounters, Outage, StopFlag, deliver, retry_kafka
from logwarden.errors import ConfigError
from logwarden.shippers.base import Event

from .alerts import alert_for_fired, alert_for_match, doc_host, doc_id, doc_time
from .engine import Detector
from .evaluate import flatten
from .repartition import Router, parse
from .stream_state import PartitionStates, StreamState

log = logging.getLogger(__name__)

SOURCES = ("windows", "firewall", "av")
SINK_MAX_BLOCK_MS = 10_000  # an alert send waits this long for Kafka, then backs off (stop stays honoured)


@dataclass
class StreamStats(LoopCounters):
    undecodable: int = 0  # not a JSON object (or too deep to parse): the indexer dead-letters it
    unprocessable: int = 0  # decoded, but too deeply nested for the detector
    alerts: int = 0
    repartitioned: int = 0  # correlation hits produced to the repartition topic
    counted: int = 0  # repartition records counted into correlation windows
    duplicates: int = 0  # repartition records skipped: counted already (their input was read again)


def _decode(value: bytes | None) -> dict[str, Any] | None:
    try:
        doc = json.loads(value) if value else None
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


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
        self.router = Router(detector.ruleset.correlations) if partitions is not None else None
        self.stop = stop or StopFlag()
        self.stats = StreamStats()
        self.kafka_outage = Outage(f"Kafka at {cfg.kafka} (alerts)", self.stop, log, patience)

    def evaluate(self, value: bytes | None, headers: Any, where: str = "",
                 origin: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The alert documents one message raises (none when it cannot be read)."""
        doc = _decode(value)
        if doc is None:
            self.stats.undecodable += 1
            log.debug("not a JSON object, skipped: %s", where)
            return []
        eid = _header_id(headers) or str((doc.get("event") or {}).get("id") or "") or None
        try:
            return self.detector.process(doc, eid, origin)
        except RecursionError:
            self.stats.unprocessable += 1
            log.warning("document nested too deeply to evaluate, skipped: %s", where)
            return []

    def handle(self, records: list[Any]) -> None:
        """Evaluate a batch and produce its alerts; returns once Kafka acknowledged them.

        Raises:
            BatchAbandoned: a stop was requested while Kafka was unreachable.
        """
        if self.partitions is not None:
            self._handle_repartitioned(records, self.partitions)
            return
        alerts: list[Event] = []
        for msg in records:
            origin = {"topic": msg.topic, "partition": msg.partition, "offset": msg.offset}
            for alert in self.evaluate(msg.value, msg.headers, f"{msg.topic}/{msg.partition}@{msg.offset}", origin):
                host = str((alert.get("host") or {}).get("name") or "")
                alerts.append(Event(alert["event"]["id"], "alerts", host, alert))
        deliver(self.sink, alerts, self.kafka_outage)
        self.stats.alerts += len(alerts)
        if self.state is not None:
            self.state.advance(records)
            self.state.save()

    def _handle_repartitioned(self, records: list[Any], partitions: PartitionStates) -> None:
        out: list[Event] = []
        for msg in records:
            where = f"{msg.topic}/{msg.partition}@{msg.offset}"
            if msg.topic == partitions.topic:
                self._count(msg, where, partitions, out)
            else:
                self._match(msg, where, out)
        deliver(self.sink, out, self.kafka_outage)
        self.stats.alerts += sum(item.dataset == "alerts" for item in out)
        self.stats.repartitioned += sum(item.dataset != "alerts" for item in out)
        self.stats.duplicates = partitions.duplicates
        partitions.save(partitions.advance(records))

    def _match(self, msg: Any, where: str, out: list[Event]) -> None:
        """The single-event alerts of one input message and its correlation hits' records."""
        assert self.router is not None
        doc = _decode(msg.value)
        if doc is None:
            self.stats.undecodable += 1
            log.debug("not a JSON object, skipped: %s", where)
            return
        origin = {"topic": msg.topic, "partition": msg.partition, "offset": msg.offset}
        try:
            flat = flatten(doc)
            eid = _header_id(msg.headers) or doc_id(doc, flat)
            matched = self.detector.match(flat)
        except RecursionError:
            self.stats.unprocessable += 1
            log.warning("document nested too deeply to evaluate, skipped: %s", where)
            return
        for rule in matched:
            if rule.generate:
                alert = alert_for_match(rule, flat, eid, origin)
                out.append(Event(alert["event"]["id"], "alerts", str((alert.get("host") or {}).get("name") or ""),
                                 alert))
        hits = [rule.id for rule in matched if self.router.interested(rule.id)]
        if hits:
            out.extend(self.router.records(msg.topic, hits, flat, eid, doc_time(flat), doc_host(flat), origin))

    def _count(self, msg: Any, where: str, partitions: PartitionStates, out: list[Event]) -> None:
        """Count one repartition record into its partition's windows; the alerts of what fired."""
        record = parse(_decode(msg.value))
        if record is None:
            self.stats.undecodable += 1
            log.warning("not a repartition record, skipped: %s", where)
            return
        self.stats.counted += 1
        for fired in partitions.feed(msg.partition, record):
            here = bool(fired.event_ids) and fired.event_ids[-1] == record.hit.event_id
            alert = alert_for_fired(fired, record.hit.fields if here else None, record.origin if here else None)
            out.append(Event(alert["event"]["id"], "alerts", fired.host, alert))

    def run(self, once: bool = False, max_messages: int | None = None) -> StreamStats:
        """Consume until stopped, `max_messages` were consumed or (with `once`) every assigned
        partition was read to its end; returns the counters."""
        ConsumeLoop(self.consumer, self, self.stop, self.cfg.kafka, log).run(once=once, max_messages=max_messages)
        return self.stats


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
    from logwarden.kafka_io import STREAM_REPARTITION, KafkaSink, make_consumer

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
                                         families(detector.ruleset.correlations))
        member = {"group_instance_id": instance_id} if instance_id else {}
        consumer = retry_kafka(lambda: make_consumer(cfg, topics, group, listener=partitions, **options, **member),
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
        sink = retry_kafka(lambda: KafkaSink(cfg, client_id="logwarden-stream", max_block_ms=SINK_MAX_BLOCK_MS,
                                             enable_idempotence=True, **options), startup)
        if sink is None:
            consumer.close(autocommit=False)
            return StreamStats()
        runner = StreamRunner(cfg, detector, consumer, sink, stop, patience, partitions=partitions)
        runner.stats.kafka_retries = startup.retries
        try:
            runner.run(once=once)
        finally:
            consumer.close(autocommit=False)  # a dynamic member leaves the group: the partitions move at once
            try:
                sink.close()
            except Exception as exc:  # noqa: BLE001 - every alert was acknowledged before its commit
                log.warning("closing the Kafka producer: %s", exc)
        stats = runner.stats
        log.info("stream stopped: consumed %d, alerts %d, correlation hits repartitioned %d, counted %d "
                 "(duplicates skipped %d), undecodable %d, unprocessable %d, Kafka retries %d, left uncommitted %d",
                 stats.consumed, stats.alerts, stats.repartitioned, stats.counted, stats.duplicates,
                 stats.undecodable, stats.unprocessable, stats.kafka_retries, stats.uncommitted)
        return stats
