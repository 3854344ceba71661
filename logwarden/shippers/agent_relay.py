"""`ship kafka`'s service: read an agent's Kafka topic, produce logwarden events, commit after.

A consumer-group member on logwarden/consume.py's loop and shutdown model (the indexer's and the
stream detector's): each polled batch is converted message by message
(logwarden/shippers/agent_documents.py), produced to logwarden's topics, and its offsets are
committed only after Kafka acknowledged every produced message. A crash between produce and
commit reads the batch again and produces the same events again: at least once into Kafka,
exactly once into Elasticsearch, because the ids are deterministic and the indexer writes with
op_type create. Every message becomes one event or one dead letter (`logwarden.deadletter`).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from logwarden.config import Config
from logwarden.consume import ConsumeLoop, LoopCounters, Outage, StopFlag, consumer_and_producer, deliver
from logwarden.shippers.agent_documents import Adapter, message_source
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.ship import _reason_key  # the summary key `ship evtx` uses

log = logging.getLogger(__name__)

SINK_MAX_BLOCK_MS = 10_000  # a send waits this long for Kafka, then backs off (a stop stays honoured)


@dataclass
class RelayStats(LoopCounters):
    produced: int = 0  # events acknowledged by Kafka (a batch read again counts again)
    dead_letters: int = 0
    from_original_xml: int = 0  # events read from the document's event.original XML
    reasons: Counter[str] = field(default_factory=Counter)  # dead letters by reason

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = dict(self.reasons.most_common())
        return out


class AgentRelay:
    """The batch handler: convert, produce, and return once Kafka acknowledged the batch."""

    def __init__(self, adapter: Adapter, sink: Any, outage: Outage) -> None:
        self.adapter = adapter
        self.sink = sink
        self.outage = outage
        self.stats = RelayStats()

    def convert(self, records: list[Any]) -> list[Event | DeadLetter]:
        """Each message's event or dead letter, in order (counted when delivered)."""
        items: list[Event | DeadLetter] = []
        for msg in records:
            converted = self.adapter(msg.value, message_source(msg.topic, msg.partition, msg.offset))
            items.append(converted.item)
            if converted.from_xml:
                self.stats.from_original_xml += 1
        return items

    def handle(self, records: list[Any]) -> None:
        """Raises BatchAbandoned when a stop came while Kafka was unreachable (nothing committed)."""
        items = self.convert(records)
        deliver(self.sink, items, self.outage)
        for item in items:
            if isinstance(item, DeadLetter):
                self.stats.dead_letters += 1
                self.stats.reasons[_reason_key(item.reason)] += 1
            else:
                self.stats.produced += 1


def run_relay(cfg: Config, topic: str, adapter: Adapter, group_id: str, once: bool = False,
              max_messages: int | None = None, stop: StopFlag | None = None,
              kafka_options: dict[str, Any] | None = None) -> RelayStats:
    """Relay `topic` until SIGTERM/SIGINT or `stop` (with `once`: until drained).

    Returns:
        The counters.
    Raises:
        ServerError: with `once`, Kafka unreachable (or no partition assigned) for ONCE_PATIENCE.
    """
    from logwarden.consume import BOOTSTRAP_TIMEOUT_MS, ONCE_PATIENCE
    from logwarden.kafka_io import KafkaSink, make_consumer

    stop = stop or StopFlag()
    options = {"bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS, **(kafka_options or {})}
    patience = ONCE_PATIENCE if once else None
    with stop.on_signals():
        startup = Outage(f"Kafka at {cfg.kafka}", stop, log, patience)
        with consumer_and_producer(
                lambda: make_consumer(cfg, [topic], group_id, **options),
                lambda: KafkaSink(cfg, client_id="logwarden-ship-kafka", max_block_ms=SINK_MAX_BLOCK_MS, **options),
                startup) as clients:
            if clients is None:
                return RelayStats()
            consumer, sink = clients
            relay = AgentRelay(adapter, sink, Outage(f"Kafka at {cfg.kafka} (produce)", stop, log, patience))
            relay.stats.kafka_retries = startup.retries
            ConsumeLoop(consumer, relay, stop, cfg.kafka, log).run(once=once, max_messages=max_messages)
    log.info("ship kafka stopped: %s", relay.stats.as_dict())
    return relay.stats


__all__ = ["AgentRelay", "RelayStats", "run_relay"]
