"""stream: evaluate every event of the Kafka topics as it passes; alerts to logwarden.alerts.

A consumer-group member on logwarden/consume.py's loop (the indexer's loop and shutdown model):
each instance owns some partitions. Shippers key messages by host, so per-host correlations stay
on one instance; correlation state lives in memory, keyed by (correlation, group key), and is
written to the state folder at every commit point (logwarden/detection/stream_state.py), so a
killed and restarted stream gives the alerts of a clean run. A batch's offsets are committed
after its alerts were acknowledged by Kafka, so a crash replays events (and, with deterministic
alert ids, never duplicates an indexed alert).

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
from logwarden.shippers.base import Event

from .engine import Detector
from .stream_state import StreamState

log = logging.getLogger(__name__)

SOURCES = ("windows", "firewall", "av")
SINK_MAX_BLOCK_MS = 10_000  # an alert send waits this long for Kafka, then backs off (stop stays honoured)


@dataclass
class StreamStats(LoopCounters):
    undecodable: int = 0  # not a JSON object (or too deep to parse): the indexer dead-letters it
    unprocessable: int = 0  # decoded, but too deeply nested for the detector
    alerts: int = 0


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
                 state: StreamState | None = None) -> None:
        self.cfg, self.detector, self.consumer, self.sink = cfg, detector, consumer, sink
        self.state = state  # None: correlation state lives in memory only
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

    def run(self, once: bool = False, max_messages: int | None = None) -> StreamStats:
        """Consume until stopped, `max_messages` were consumed or (with `once`) every assigned
        partition was read to its end; returns the counters."""
        ConsumeLoop(self.consumer, self, self.stop, self.cfg.kafka, log).run(once=once, max_messages=max_messages)
        return self.stats


def run_stream(cfg: Config, detector: Detector, once: bool = False, group_id: str | None = None,
               stop: StopFlag | None = None, kafka_options: dict[str, Any] | None = None,
               instance_id: str | None = None) -> StreamStats:
    """Run the stream detector until SIGTERM/SIGINT or `stop` (with `once`: until drained).
    With correlations in the rule set, their state is kept in `<state>/stream-<group>[-<instance_id>].json`
    at every commit point and restored at start. `instance_id` makes the consumer a static group
    member (group.instance.id): restarted, it gets its partitions back at once; stopped, it keeps
    them for the session timeout (10 s) instead of leaving the group.

    Returns:
        The counters (also logged).
    Raises:
        ServerError: with `once`, Kafka unreachable for ONCE_PATIENCE seconds.
    """
    from logwarden.consume import BOOTSTRAP_TIMEOUT_MS, ONCE_PATIENCE
    from logwarden.kafka_io import KafkaSink, make_consumer

    from .stream_state import state_file

    stop = stop or StopFlag()
    options = {"bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS, **(kafka_options or {})}
    patience = ONCE_PATIENCE if once else None
    with stop.on_signals():
        startup = Outage(f"Kafka at {cfg.kafka}", stop, log, patience)
        group = group_id or cfg.group("stream")
        state = (StreamState(state_file(cfg.state_path, group, instance_id), detector.correlations)
                 if detector.correlations.by_rule else None)
        member = {"group_instance_id": instance_id} if instance_id else {}
        consumer = retry_kafka(lambda: make_consumer(cfg, [cfg.topic(d) for d in SOURCES], group, listener=state,
                                                     **options, **member), startup)
        if consumer is None:
            return StreamStats()
        if state is not None:
            state.consumer = consumer
        sink = retry_kafka(lambda: KafkaSink(cfg, client_id="logwarden-stream", max_block_ms=SINK_MAX_BLOCK_MS,
                                             **options), startup)
        if sink is None:
            consumer.close(autocommit=False)
            return StreamStats()
        runner = StreamRunner(cfg, detector, consumer, sink, stop, patience, state)
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
        log.info("stream stopped: consumed %d, alerts %d, undecodable %d, unprocessable %d, Kafka retries %d, "
                 "left uncommitted %d", stats.consumed, stats.alerts, stats.undecodable, stats.unprocessable,
                 stats.kafka_retries, stats.uncommitted)
        return stats
