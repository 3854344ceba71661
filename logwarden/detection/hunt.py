"""hunt: the compiled rule set over files, no servers (the embedded default).

Inputs: EVTX, Windows event XML and Winlogbeat JSON lines go through the Windows shipper's
parser (the same documents Kafka would carry); JSON lines that already hold ECS documents
(firewall / AV, `event.dataset` set, no `winlog`) are read as they are.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from logwarden.shippers.base import DeadLetter, dumps, event_id

from .engine import Detector, run_batch

JSONL = {".jsonl", ".ndjson", ".json"}


@dataclass
class HuntStats:
    files: int = 0
    events: int = 0
    dead: int = 0
    dead_reasons: list[str] = field(default_factory=list)


def _ecs_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any]]] | None:
    """ECS documents in JSON lines, or None when the file is not that (Windows parser's job)."""
    try:
        with path.open("rb") as fh:
            first = fh.readline()
        doc = json.loads(first)
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or "winlog" in doc or "Event" in doc or "event" not in doc:
        return None

    def gen() -> Iterator[tuple[str, dict[str, Any]]]:
        with path.open("rb") as fh:
            for n, line in enumerate(fh):
                if not line.strip():
                    continue
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                if isinstance(d, dict):
                    ev = d.setdefault("event", {})
                    ev.setdefault("id", event_id("file", str(path), n, line))
                    yield ev["id"], d

    return gen()


def iter_docs(paths: list[Path], stats: HuntStats) -> Iterator[tuple[str, dict[str, Any]]]:
    from logwarden.shippers.windows import iter_file, iter_paths

    files = list(iter_paths([str(p) for p in paths]))
    for f in files:
        f = Path(f)
        stats.files += 1
        ecs = _ecs_jsonl(f) if f.suffix.lower() in JSONL else None
        items = ecs if ecs is not None else ((None, item) for item in iter_file(f))
        for eid, item in items:
            if isinstance(item, DeadLetter):
                stats.dead += 1
                if len(stats.dead_reasons) < 20:
                    stats.dead_reasons.append(f"{item.source}: {item.reason}")
                continue
            stats.events += 1
            if eid is None:  # an Event from the Windows parser
                item.doc.setdefault("event", {})["id"] = item.id
                yield item.id, item.doc
            else:
                yield eid, item


def hunt(paths: list[Path], detector: Detector) -> tuple[list[dict[str, Any]], HuntStats]:
    stats = HuntStats()
    alerts = run_batch(detector, iter_docs(paths, stats))
    alerts.sort(key=lambda a: (a["@timestamp"], a["rule"]["name"], a["event"]["id"]))
    return alerts, stats


COLUMNS = (("time", "@timestamp"), ("level", "sigma.level"), ("rule", "rule.name"),
           ("host", "host.name"), ("count", "sigma.count"), ("reason", "event.reason"))


def _get(doc: dict[str, Any], dotted: str) -> str:
    cur: Any = doc
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return str(doc.get(dotted, "")) if dotted in doc else ""
        cur = cur[part]
    return "" if cur is None else str(cur)


def write_table(alerts: list[dict[str, Any]], out: TextIO) -> None:
    rows = [[_get(a, key).replace("\n", " ") for _, key in COLUMNS] for a in alerts]
    widths = [min(60, max([len(h)] + [len(r[i]) for r in rows])) for i, (h, _) in enumerate(COLUMNS)]
    out.write("  ".join(h.ljust(w) for (h, _), w in zip(COLUMNS, widths, strict=True)).rstrip() + "\n")
    for r in rows:
        out.write("  ".join(c[:w].ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")


def write_jsonl(alerts: list[dict[str, Any]], out: TextIO) -> None:
    for a in alerts:
        out.write(dumps(a).decode("utf-8") + "\n")


def write_html(alerts: list[dict[str, Any]], out: TextIO, stats: HuntStats | None = None) -> None:
    """Every value is escaped: hostile log content is data, never markup."""
    esc = html.escape
    out.write("<!doctype html>\n<html><head><meta charset=\"utf-8\">"
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
              "<title>logwarden hunt</title>"
              "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}"
              "table{border-collapse:collapse}</style></head><body>\n")
    out.write(f"<h1>logwarden hunt: {len(alerts)} alerts</h1>\n")
    if stats is not None:
        out.write(f"<p>{stats.files} files, {stats.events} events, {stats.dead} unreadable records</p>\n")
    out.write("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h, _ in COLUMNS) + "</tr>\n")
    for a in alerts:
        out.write("<tr>" + "".join(f"<td>{esc(_get(a, key))}</td>" for _, key in COLUMNS) + "</tr>\n")
    out.write("</table></body></html>\n")
