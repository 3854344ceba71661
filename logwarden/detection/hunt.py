"""hunt: the compiled rule set over files, no servers (the embedded default).

Inputs: EVTX, Windows event XML and Winlogbeat JSON lines go through the Windows shipper's
parser (the same documents Kafka would carry); JSON lines that already hold ECS documents
(firewall / AV, `logwarden.family` set, no `winlog`) are read as they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from logwarden.safe_text import printable
from logwarden.shippers.base import DeadLetter, Event, dumps, event_id

from .engine import Detector, run_batch

JSONL = {".jsonl", ".ndjson", ".json"}


@dataclass
class HuntStats:
    """What hunt read. `on_dead_letter`, when set, hears about every unreadable record or file
    as it is found (the CLI names each on stderr); `dead_reasons` counts them by reason."""

    files: int = 0
    events: int = 0
    dead: int = 0
    dead_reasons: dict[str, int] = field(default_factory=dict)
    origins: dict[str, dict[str, Any]] = field(default_factory=dict)  # event id -> file, record
    matched: dict[str, dict[str, Any]] = field(default_factory=dict)  # event id -> document a rule matched
    on_dead_letter: Callable[[DeadLetter], None] | None = None

    def dead_letter(self, item: DeadLetter) -> None:
        self.dead += 1
        reason = item.reason.split(":", 1)[0]
        self.dead_reasons[reason] = self.dead_reasons.get(reason, 0) + 1
        if self.on_dead_letter is not None:
            self.on_dead_letter(item)


def describe_dead_letter(item: DeadLetter) -> str:
    """One line for a person: where (file, record or line) and why, control characters escaped."""
    where = printable(item.source)
    if item.position:
        where += f": record {item.position}"
    return f"{where}: {printable(item.reason)}"


def _is_ecs_jsonl(path: Path) -> bool:
    """Does the file's first non-empty line hold an ECS document (not Winlogbeat / evtx_dump)?
    Unreadable or unparsable first lines say no: the Windows reader then reports the file."""
    try:
        with path.open("rb") as fh:
            first = b""
            for first in fh:
                if first.strip():
                    break
        doc = json.loads(first)
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and "winlog" not in doc and "Event" not in doc and "event" in doc


def _ecs_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any], int] | DeadLetter]:
    """(event id, ECS document, line number) of a JSON-lines file, each bad line a DeadLetter
    at its line number."""
    source = str(path)

    def bad(line_no: int, raw: bytes, reason: str) -> DeadLetter:
        return DeadLetter(source=source, raw=raw, reason=reason, dataset="unknown", position=line_no)

    try:
        fh = path.open("rb")
    except OSError as exc:
        yield bad(0, source.encode("utf-8", "surrogateescape"), f"cannot open file: {exc.strerror or exc}")
        return
    with fh:
        line_no = 0
        try:
            for line_no, line in enumerate(fh, start=1):  # noqa: B007 - read after the loop on error
                if not line.strip():
                    continue
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield bad(line_no, line, f"not UTF-8: byte 0x{line[exc.start]:02x} at offset {exc.start}")
                    continue
                try:
                    doc = json.loads(text)
                except ValueError as exc:
                    yield bad(line_no, line, f"not JSON: {exc}")
                    continue
                if not isinstance(doc, dict):
                    yield bad(line_no, line, f"not a JSON object: a {type(doc).__name__}")
                    continue
                ev = doc.get("event")
                if ev is None:
                    ev = doc["event"] = {}
                elif not isinstance(ev, dict):
                    yield bad(line_no, line, f"not an ECS document: event is a {type(ev).__name__}")
                    continue
                eid = ev.get("id")
                if not isinstance(eid, str) or not eid:
                    eid = ev["id"] = event_id("file", source, line_no - 1, line)
                yield eid, doc, line_no
        except OSError as exc:
            yield bad(line_no + 1, b"", f"input could not be read further: {exc.strerror or exc}")


def input_files(paths: list[Path]) -> list[Path]:
    """Files named on the command line (whatever their suffix: the reader judges the content)
    and the input files under folders named, sorted."""
    from logwarden.shippers.windows import iter_paths

    named = {p for p in paths if not p.is_dir()}
    under = set(iter_paths([p for p in paths if p.is_dir()]))
    return sorted(named | under, key=str)


def iter_docs(paths: list[Path], stats: HuntStats) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event id, ECS document) for every event in `paths`; everything unreadable goes to
    `stats.dead_letter` with its file, record and reason."""
    from logwarden.shippers.windows import iter_file

    for f in input_files(paths):
        stats.files += 1
        items: Iterator[Any]
        if f.suffix.lower() in JSONL and _is_ecs_jsonl(f):
            items = _ecs_jsonl(f)
        else:
            items = iter_file(f)
        for item in items:
            if isinstance(item, DeadLetter):
                stats.dead_letter(item)
                continue
            stats.events += 1
            if isinstance(item, Event):  # from the Windows parser
                item.doc.setdefault("event", {})["id"] = item.id
                record = (item.doc.get("winlog") or {}).get("record_id") or item.position
                stats.origins[item.id] = {"file": str(f), "record": str(record)}
                yield item.id, item.doc
            else:
                eid, doc, line_no = item
                stats.origins[eid] = {"file": str(f), "record": f"line {line_no}"}
                yield eid, doc


def hunt(paths: list[Path], detector: Detector,
         on_dead_letter: Callable[[DeadLetter], None] | None = None) -> tuple[list[dict[str, Any]], HuntStats]:
    """(alerts sorted by time, rule, id; what was read). `on_dead_letter` hears every unreadable
    record or file as it is found."""
    stats = HuntStats(on_dead_letter=on_dead_letter)
    alerts = run_batch(detector, iter_docs(paths, stats), stats.origins.get, stats.matched)
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


def _cell(text: str) -> str:
    """Table text from log content: no control, bidi or tab character reaches the terminal."""
    return printable(text.replace("\t", " "))


def write_table(alerts: list[dict[str, Any]], out: TextIO) -> None:
    """Aligned columns for a terminal, every value through `printable`; the last column (the
    alert's facts) is never cut."""
    rows = [[_cell(_get(a, key)) for _, key in COLUMNS] for a in alerts]
    widths = [min(60, max([len(h)] + [len(r[i]) for r in rows])) for i, (h, _) in enumerate(COLUMNS)]
    widths[-1] = max([len(COLUMNS[-1][0])] + [len(r[-1]) for r in rows])
    out.write("  ".join(h.ljust(w) for (h, _), w in zip(COLUMNS, widths, strict=True)).rstrip() + "\n")
    for r in rows:
        out.write("  ".join(c[:w].ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")


def write_jsonl(alerts: list[dict[str, Any]], out: TextIO) -> None:
    for a in alerts:
        out.write(dumps(a).decode("utf-8") + "\n")


def write_html(alerts: list[dict[str, Any]], out: TextIO, stats: HuntStats | None = None) -> None:
    """The self-contained HTML report (logwarden/report/html.py): what was read on top, each
    alert with its facts and the contributing events hunt kept, by file and record."""
    from logwarden.report.html import write_html as write_report

    summary: dict[str, Any] = {"alerts": len(alerts)}
    if stats is not None:
        summary = {"files": stats.files, "events": stats.events, "unreadable records": stats.dead, **summary}
    write_report(alerts, out, summary, stats.matched if stats else None, stats.origins if stats else None)
