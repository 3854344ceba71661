"""The replay's files through the real path, and the same files parsed for `hunt`.

`ship` sends each file through the shipping loop (`ship_files`, as `ship evtx` does), read by its
own source: the Windows reader for event XML, the registered source's stream parser for the
rest (the registry decides how: lines, or SQLite rows for Huorong). Not `ship file`'s FileTail:
it labels records with the file's inode, so the ids of a regenerated file would change, and the
replay promises the same ids for the same seed. `index` then drains the topics into
Elasticsearch with the indexer. No checkpoints: a second replay sends the same events again and
the deterministic ids keep one copy of each.

`documents` parses the same files with the same readers and no servers: (event id, ECS document)
pairs, as `hunt` reads them; `write_ecs` stores the non-Windows ones as ECS JSON lines so that
`logwarden hunt` can be pointed at the replay folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from logwarden.config import Config
from logwarden.errors import InputError
from logwarden.replay.model import WINDOWS
from logwarden.replay.writers import WrittenFile
from logwarden.shippers import registry, textlog
from logwarden.shippers.base import DeadLetter, Event, Sink

ECS_FOLDER = "ecs"


@dataclass
class Shipped:
    produced: int = 0
    dead_letters: int = 0
    per_source: dict[str, int] = field(default_factory=dict)


@contextmanager
def _host(name: str) -> Iterator[None]:
    """host.name for sources whose records carry none (pfirewall.log, log.db): the file's host;
    and the zone of zoneless times: UTC, the replay's clock (see `model`), whatever
    LOGWARDEN_LOG_TZ says."""
    saved_host, saved_tz = textlog.CONFIG.hostname, textlog.CONFIG.tz
    textlog.CONFIG.hostname, textlog.CONFIG.tz = name, UTC
    try:
        yield
    finally:
        textlog.CONFIG.hostname, textlog.CONFIG.tz = saved_host, saved_tz


def ship(files: list[WrittenFile], sink: Sink) -> Shipped:
    """Send every file to `sink` through the shipping loop of `ship evtx` (`ship_files`, which
    counts, flushes and labels), each file read by its own source's reader; returns the counts.

    Raises:
        InputError: a record became a dead letter (a generator bug: every replay record parses).
    """
    from logwarden.shippers.ship import ship_files

    by_path = {f.path: f for f in files}
    summary = ship_files(list(by_path), lambda p, _skip: _items(by_path[p]), sink, None, progress=False)
    shipped = Shipped(summary.produced, summary.dead_letters)
    for written in files:
        events = summary.per_file.get(str(written.path), {}).get("events", 0)
        shipped.per_source[written.source] = shipped.per_source.get(written.source, 0) + events
    if shipped.dead_letters:
        raise InputError(f"replay: {shipped.dead_letters} generated records were dead letters: "
                         f"{dict(summary.reasons)}")
    return shipped


def _items(written: WrittenFile) -> Iterator[Event | DeadLetter]:
    """The records of one file, read as its source reads them (the Windows reader, or the
    registered source's stream parser: lines, or SQLite rows for Huorong)."""
    if written.source == WINDOWS:
        from logwarden.shippers.windows import iter_file

        yield from iter_file(written.path, source=written.label)
        return
    parse = registry.source(written.source).stream_parser()
    with _host(written.host), written.path.open("rb") as data:
        yield from parse(written.label, data)


def documents(files: list[WrittenFile]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event id, ECS document) of every record of `files`. Raises InputError on a dead letter."""
    for written in files:
        for item in _items(written):
            if isinstance(item, DeadLetter):
                raise InputError(f"replay: {written.path} position {item.position}: {item.reason}")
            item.doc.setdefault("event", {})["id"] = item.id
            yield item.id, item.doc


def event_rows(files: list[WrittenFile]) -> dict[str, tuple[str | None, dict[str, Any]]]:
    """Every event id of `files` -> (its INCIDENT.md row or None for background, its document).
    A file's records parse in file order, one event each, so the n-th event is the n-th record.

    Raises:
        InputError: a record was a dead letter, or a file gave more or fewer events than records.
    """
    found: dict[str, tuple[str | None, dict[str, Any]]] = {}
    for written in files:
        parsed = list(documents([written]))
        if len(parsed) != len(written.rows):
            raise InputError(f"replay: {written.path}: {len(parsed)} events for {len(written.rows)} records")
        for (eid, doc), row in zip(parsed, written.rows, strict=True):
            found[eid] = (row, doc)
    return found


def write_ecs(files: list[WrittenFile], folder: Path) -> list[Path]:
    """The non-Windows files as ECS JSON lines under `folder/ecs/` (what `hunt` reads); returns them."""
    out = folder / ECS_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.jsonl"):
        old.unlink()
    paths = []
    for written in files:
        if written.source == WINDOWS:
            continue
        path = out / f"{written.source}-{written.host}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for _eid, doc in documents([written]):
                fh.write(json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n")
        paths.append(path)
    return paths


def hunt_inputs(folder: Path) -> list[Path]:
    """What `hunt` reads of a replay folder: the Windows exports and the ECS JSON lines."""
    return [folder / WINDOWS, folder / ECS_FOLDER]


def index(cfg: Config) -> Any:
    """Drain the topics into Elasticsearch (the indexer, once); returns its stats."""
    from logwarden.pipelines.indexer import run_indexer

    return run_indexer(cfg, once=True)
