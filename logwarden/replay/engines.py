"""The stream engine over the replayed topics, held against `detect` (the demo's one line).

`stream_alerts` is `stream --once` on the replay's Kafka topics: the stream detector
(`detection/stream.py` StreamRunner) reads them from their start under a consumer group of its
own, deleted afterwards, and its alerts are kept in memory: the demo's alert index holds detect's
alerts, and a second copy of each on the alerts topic would be indexed over them.

`agreement` compares the two engines the way the differential tests do (`alerts.verdict`: rule,
alert id, group) on the alerts raised by the replay's own events, and says so in one line. The
event topics are keyed by host, so a correlation grouped by something else (a source address
spraying several hosts) meets its events in partition order; stream's reorder buffer counts them
in time order again when the disorder is within `stream_reorder_grace` (or within one polled
batch). When correlations of the same rule and group still start at another event (hits later
than that), the line names the group (docs/scaling.md).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from logwarden.config import Config
from logwarden.detection.alerts import verdict
from logwarden.detection.model import RuleSet

log = logging.getLogger(__name__)

Verdict = tuple[str, str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Streamed:
    alerts: list[dict[str, Any]]
    consumed: int
    seconds: float


def stream_alerts(cfg: Config, ruleset: RuleSet) -> Streamed:
    """The stream detector's alerts over the event topics of `cfg`, read from their start to their
    end (`stream --once`), not produced anywhere.

    Raises:
        ServerError: Kafka refused our login or certificate.
        KafkaError: no broker answered.
    """
    from logwarden.detection.engine import Detector
    from logwarden.detection.stream import SOURCES, StreamRunner
    from logwarden.kafka_io import KafkaError, admin, make_consumer
    from logwarden.shippers.base import ListSink

    started = time.perf_counter()
    group = cfg.group(f"demo-stream-{uuid.uuid4().hex[:12]}")
    consumer = make_consumer(cfg, [cfg.topic(d) for d in SOURCES], group)
    alerts = ListSink()
    try:
        stats = StreamRunner(cfg, Detector(ruleset), consumer, alerts).run(once=True)
    finally:
        consumer.close(autocommit=False)
        try:
            client = admin(cfg, "logwarden-demo")
            try:
                client.delete_groups([group])
            finally:
                client.close()
        except KafkaError as exc:  # an empty group Kafka expires by itself (offsets.retention.minutes)
            log.warning("consumer group %s not deleted: %s", group, exc)
    return Streamed([e.doc for e in alerts.events], stats.consumed, time.perf_counter() - started)


def _own(alerts: Iterable[dict[str, Any]], event_ids: set[str]) -> set[Verdict]:
    return {verdict(a) for a in alerts if event_ids.intersection(a.get("sigma", {}).get("events", []))}


def agreement(detected: Iterable[dict[str, Any]], streamed: Streamed, event_ids: set[str]) -> str:
    """One line: how many of the stream's alerts on the replay's events are detect's own (same
    rule, alert id and group), and what differs."""
    by_detect, by_stream = _own(detected, event_ids), _own(streamed.alerts, event_ids)
    head = (f"stream --once over the replayed topics: {len(by_stream)} alerts from {streamed.consumed} messages "
            f"in {streamed.seconds:.1f}s")
    if by_stream == by_detect:
        return f"{head}, the same as detect's (rule, alert id, group)"
    only_detect, only_stream = by_detect - by_stream, by_stream - by_detect
    moved = {(rule, group) for rule, _, group in only_detect} & {(rule, group) for rule, _, group in only_stream}
    shifted = sum(1 for rule, _, group in only_stream if (rule, group) in moved)
    parts = [f"{len(by_stream & by_detect)} the same as detect's"]
    if moved:
        groups = sorted({", ".join(f"{k}={v}" for k, v in group) for _, group in moved})
        parts.append(f"{shifted} correlation episode(s) start at another event ({'; '.join(groups)}): the "
                     "topics are keyed by host, so a group spanning hosts is read out of time order, "
                     "here by more than stream_reorder_grace")
    rest_detect = sum(1 for rule, _, group in only_detect if (rule, group) not in moved)
    rest_stream = len(only_stream) - shifted
    if rest_detect or rest_stream:
        parts.append(f"{rest_detect} only in detect, {rest_stream} only in stream")
    return f"{head}; " + "; ".join(parts)


__all__ = ["Streamed", "agreement", "stream_alerts"]
