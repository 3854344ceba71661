"""The oracle's own EVTX reader: every record's raw fields as Windows wrote them, for a table.

Independent of logwarden's parsers on purpose (python-evtx, not pyevtx-rs; no ECS, no renames):
a field a Sigma rule names is the column of that name, as Zircolite flattens evtx_dump output.
- System: element text by tag (`EventID`, `Channel`, `Computer`, `EventRecordID`, ...) and
  attributes as `<tag>_<attribute>` (`Provider_Name`, `TimeCreated_SystemTime`, ...);
- EventData: `<Data Name="X">` -> `X`, value untouched (no stripping: `NtLmSsp ` keeps its
  space); unnamed `<Data>` values joined by a newline -> `Data`;
- UserData: every leaf element under the wrapper -> its local name.
python-evtx's zero-padded hex (`0x000003e7`) is written as Windows writes it (`0x3e7`).
A payload field named like a System field (UserData `Channel` of a 104 "log cleared", `EventID`
of a 1108 processing failure) does not replace the System value: one flat name cannot hold both
(docs/sigma-oracle.md, "spec ambiguity"); the payload value stays searchable by keywords.
python-evtx is slow (~180 records/s), so tables are cached per file content (`cached_rows`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

READER_VERSION = "2"  # bump when the rows' shape changes (invalidates the cache)
READERS = ("python-evtx", "evtx-rs")  # the first is the default: no code shared with our shipper
Row = dict[str, str]
SHADOWED = "_shadowed"  # payload values whose name a System field holds (for keyword search)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def record_fields(xml: str) -> Row:
    """The raw fields of one record's XML (see the module docstring).

    Raises ET.ParseError on XML that does not parse."""
    root = ET.fromstring(xml)
    out: Row = {}
    payload: Row = {}
    for part in root:
        name = _local(part.tag)
        if name == "System":
            for el in part:
                tag = _local(el.tag)
                if el.text and el.text.strip():
                    out[tag] = el.text.strip()
                for attr, value in el.attrib.items():
                    if value != "":
                        out[f"{tag}_{_local(attr)}"] = value
        elif name == "EventData":
            unnamed: list[str] = []
            for el in part:
                text = "".join(el.itertext())
                key = el.get("Name")
                if key:
                    payload[key] = text
                elif _local(el.tag) == "Data":
                    unnamed.append(text)
                else:  # e.g. <Binary>
                    payload[_local(el.tag)] = text
            if unnamed:
                payload["Data"] = "\n".join(unnamed)
        elif name == "UserData":
            for wrapper in part:
                for el in wrapper.iter():
                    if el is not wrapper and len(el) == 0:
                        payload[_local(el.tag)] = el.text or ""
    system_names = {k.lower() for k in out}
    out.update({k: v for k, v in payload.items() if k.lower() not in system_names})
    out[SHADOWED] = "\n".join(v for k, v in payload.items() if k.lower() in system_names)
    return out


def read_file(path: Path, reader: str = READERS[0]) -> tuple[list[Row], str | None]:
    """(rows of every record the reader could read, the error that stopped it or None).

    `python-evtx` (pure Python, ~180 records/s) shares no code with logwarden's shipper;
    `evtx-rs` (pyevtx-rs's XML rendering, the shipper's parser library, 1000x faster) is for
    quick local runs: our own field extraction still applies, no mapping."""
    if reader == "evtx-rs":
        return _read_rs(path)
    import Evtx.Evtx as pe  # type: ignore[import-untyped]  # python-evtx has no type hints

    rows: list[Row] = []
    try:
        with pe.Evtx(str(path)) as log:
            for record in log.records():
                try:
                    rows.append(record_fields(record.xml()))
                except Exception as exc:  # noqa: BLE001 - one bad record is counted, not fatal
                    rows.append({"_error": f"{type(exc).__name__}: {exc}"})
    except Exception as exc:  # noqa: BLE001 - python-evtx fails whole files (NullTypeNode ...)
        return rows, f"{type(exc).__name__}: {exc}"
    return rows, None


def _read_rs(path: Path) -> tuple[list[Row], str | None]:
    from evtx import PyEvtxParser

    rows: list[Row] = []
    try:
        for record in PyEvtxParser(str(path), skip_errors=True).records():
            if record is None:
                continue
            try:
                rows.append(record_fields(str(record["data"])))
            except Exception as exc:  # noqa: BLE001 - one bad record is counted, not fatal
                rows.append({"_error": f"{type(exc).__name__}: {exc}"})
    except Exception as exc:  # noqa: BLE001 - a file the reader cannot open
        return rows, f"{type(exc).__name__}: {exc}"
    return rows, None


_PADDED_HEX = re.compile(r"0x0+([0-9a-fA-F]+)")


def _windows_hex(row: Row) -> Row:
    """python-evtx writes HexInt32/HexInt64 values zero-padded to 8/16 digits (`0x000003e7`);
    Windows (Event Viewer's XML, pyevtx-rs) writes `0x3e7`, and rules are written against that."""
    out: Row = {}
    for k, v in row.items():
        m = _PADDED_HEX.fullmatch(v) if len(v) in (10, 18) else None
        out[k] = f"0x{m.group(1)}" if m else v
    return out


def _cache_path(path: Path, cache: Path, reader: str) -> Path:
    digest = hashlib.sha256(READER_VERSION.encode() + path.read_bytes()).hexdigest()[:32]
    prefix = "evtx" if reader == READERS[0] else reader
    return cache / f"{prefix}-{digest}.json"


def cached_rows(path: Path, cache: Path, reader: str = READERS[0]) -> tuple[list[Row], str | None]:
    """`read_file(path, reader)`, from the cache when this file's content was read before."""
    target = _cache_path(path, cache, reader)
    if target.exists():
        try:
            got = json.loads(target.read_text(encoding="utf-8"))
            return got["rows"], got["error"]
        except (ValueError, KeyError):
            pass
    rows, error = read_file(path, reader)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"rows": rows, "error": error}), encoding="utf-8")
    tmp.replace(target)
    return rows, error


def _one(args: tuple[str, str, str]) -> tuple[str, list[Row], str | None]:
    path, cache, reader = args
    rows, error = cached_rows(Path(path), Path(cache), reader)
    if reader == "python-evtx":
        rows = [_windows_hex(r) for r in rows]
    return path, rows, error


def read_all(files: list[Path], cache: Path, reader: str = READERS[0],
             workers: int | None = None) -> Iterator[tuple[Path, list[Row], str | None]]:
    """(file, rows, error) for every file, read by `workers` processes (default: the CPUs),
    biggest files first so the pool ends together."""
    from multiprocessing import Pool

    jobs = [(str(f), str(cache), reader) for f in sorted(files, key=lambda f: -f.stat().st_size)]
    with Pool(workers or os.cpu_count() or 1) as pool:
        for path, rows, error in pool.imap_unordered(_one, jobs):
            yield Path(path), rows, error


def column_names(rows: list[Row]) -> list[str]:
    """Every field name of `rows`, in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
