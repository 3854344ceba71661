"""`logwarden lab replay phobos`: generate, write, ship and index; and the alert timeline that
the demo prints (alerts mapped back to INCIDENT.md rows through their contributing events).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logwarden.config import Config
from logwarden.replay import path, scenario, writers
from logwarden.replay.model import ROWS
from logwarden.replay.writers import WrittenFile

log = logging.getLogger(__name__)


@dataclass
class Replayed:
    folder: Path
    files: list[WrittenFile]
    records: int
    produced: int
    indexed: int  # documents the indexer created (0 when a previous replay already indexed them)
    already_indexed: int
    seconds: float


def generate(folder: Path, seed: int = 1, scale: int = 1) -> list[WrittenFile]:
    """Write the scenario's files under `folder`; returns them."""
    return writers.write(scenario.records(seed, scale), folder)


def replay(cfg: Config, folder: Path, seed: int = 1, scale: int = 1) -> Replayed:
    """Set up the templates and topics, generate, ship every file through its shipper into
    Kafka, index into Elasticsearch.

    Raises:
        ServerError: Kafka or Elasticsearch failed (from the clients, through the CLI's mapping).
        InputError: a generated record did not parse (a generator bug).
    """
    from logwarden.es_io import client, install_templates
    from logwarden.kafka_io import KafkaSink, ensure_topics

    started = time.perf_counter()
    install_templates(client(cfg))  # what `setup` does, idempotent: the indices get their mappings
    ensure_topics(cfg)
    files = generate(folder, seed, scale)
    sink = KafkaSink(cfg)
    try:
        shipped = path.ship(files, sink)
    finally:
        sink.close()
    stats = path.index(cfg)
    return Replayed(folder, files, sum(len(f.rows) for f in files), shipped.produced, stats.created,
                    stats.existing, time.perf_counter() - started)


@dataclass(frozen=True)
class TimelineEntry:
    row: str
    rule: str
    host: str
    first: str  # @timestamp of the first alert of this rule on this host in this row
    alerts: int
    user: str
    source: str


def timeline(alerts: Iterable[dict[str, Any]], events: dict[str, tuple[str | None, dict[str, Any]]]
             ) -> tuple[list[TimelineEntry], int, int]:
    """(entries in INCIDENT.md row order then time; alerts raised by background records; alerts
    on events that are not the replay's). An alert belongs to the row of its first contributing
    event; its user and source are that event's."""
    grouped: dict[tuple[str, str, str], list[tuple[str, dict[str, Any]]]] = {}
    background = foreign = 0
    for alert in alerts:
        contributing = [events[eid] for eid in alert.get("sigma", {}).get("events", []) if eid in events]
        if not contributing:
            foreign += 1
            continue
        row, doc = contributing[0]
        if row is None:
            background += 1
            continue
        host = alert.get("host", {}).get("name") or _get(doc, "host.name")
        grouped.setdefault((row, alert["rule"]["name"], host), []).append((alert["@timestamp"], doc))
    order = {row.key: n for n, row in enumerate(ROWS)}
    entries = []
    for (row, rule, host), hits in grouped.items():
        hits.sort(key=lambda hit: hit[0])
        first, doc = hits[0]
        entries.append(TimelineEntry(row, rule, host, first, len(hits), _get(doc, "user.name"),
                                     _get(doc, "source.ip")))
    entries.sort(key=lambda e: (order[e.row], e.first, e.rule, e.host))
    return entries, background, foreign


def _get(doc: dict[str, Any], dotted: str) -> str:
    """The value at `dotted` as text, "" when absent (textlog.get does the walking)."""
    from logwarden.shippers.textlog import get

    value = get(doc, dotted)
    return "" if value is None else str(value)


def timeline_lines(entries: list[TimelineEntry]) -> list[str]:
    """The timeline for a person: one heading per INCIDENT.md row, one line per rule and host."""
    from logwarden.safe_text import printable

    lines = []
    for row in ROWS:
        lines.append(f"{row.when} - {row.what}")
        mine = [e for e in entries if e.row == row.key]
        if not row.rules:
            lines.append("    (no log evidence named for this row)")
        elif not mine:
            lines.append("    NOT DETECTED")
        for e in mine:
            count = f" x{e.alerts}" if e.alerts > 1 else ""
            lines.append(printable(f"    {e.first[:19].replace('T', ' ')}  {e.host:<13} user={e.user or '-':<14} "
                                   f"source={e.source or '-':<15} {e.rule}{count}"))
    return lines
