"""stream: evaluate every event of the Kafka topics as it passes; alerts to logwarden.alerts.

A consumer-group member: each instance owns some partitions. Shippers key messages by host, so
per-host correlations stay on one instance; correlation state lives in memory, keyed by
(correlation, group key). Offsets are committed after the batch's alerts were acknowledged, so a
crash replays events (and, with deterministic alert ids, never duplicates an indexed alert).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from logwarden.config import Config
from logwarden.shippers.base import Event

from .engine import Detector

SOURCES = ("windows", "firewall", "av")


@dataclass
class StreamStats:
    consumed: int = 0
    undecodable: int = 0
    alerts: int = 0
    batches: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _decode(value: bytes | None) -> dict[str, Any] | None:
    try:
        doc = json.loads(value) if value else None
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _header_id(headers: Any) -> str:
    for k, v in headers or []:
        if k == "id" and v:
            return v.decode("ascii", "replace")
    return ""


class StreamRunner:
    def __init__(self, cfg: Config, detector: Detector, consumer: Any, sink: Any) -> None:
        self.cfg, self.detector, self.consumer, self.sink = cfg, detector, consumer, sink
        self.stats = StreamStats()
        self.stopping = False

    def handle(self, value: bytes | None, headers: Any) -> list[dict[str, Any]]:
        doc = _decode(value)
        if doc is None:
            self.stats.undecodable += 1  # the indexer dead-letters it; detection has nothing to read
            return []
        eid = _header_id(headers) or str((doc.get("event") or {}).get("id") or "") or None
        return self.detector.process(doc, eid)

    def run(self, once: bool = False, idle_timeout: float = 5.0, max_messages: int | None = None) -> StreamStats:
        deadline = time.monotonic() + 60
        idle_since = time.monotonic()
        while not self.stopping:
            records = self.consumer.poll(timeout_ms=200, max_records=5000)
            if not records:
                if once and (self._drained() or time.monotonic() - idle_since > idle_timeout + 60):
                    break
                if once and not self.consumer.assignment() and time.monotonic() > deadline:
                    raise RuntimeError("no partitions assigned after 60s: is Kafka up and are the topics created?")
                continue
            idle_since = time.monotonic()
            for msgs in records.values():
                for msg in msgs:
                    self.stats.consumed += 1
                    for alert in self.handle(msg.value, msg.headers):
                        host = str((alert.get("host") or {}).get("name") or "")
                        self.sink.send(Event(alert["event"]["id"], "alerts", host, alert))
                        self.stats.alerts += 1
            self.sink.flush()
            self.consumer.commit()
            self.stats.batches += 1
            if max_messages is not None and self.stats.consumed >= max_messages:
                break
        return self.stats

    def _drained(self) -> bool:
        from logwarden.kafka_io import drained

        return drained(self.consumer)


def run_stream(cfg: Config, detector: Detector, once: bool = False, group_id: str = "logwarden-stream",
               idle_timeout: float = 5.0) -> StreamStats:
    from logwarden.kafka_io import KafkaSink, make_consumer

    consumer = make_consumer(cfg, [cfg.topic(d) for d in SOURCES], group_id)
    sink = KafkaSink(cfg, client_id="logwarden-stream")
    try:
        return StreamRunner(cfg, detector, consumer, sink).run(once=once, idle_timeout=idle_timeout)
    finally:
        sink.close()
        consumer.close()
