"""Format detection and the record loop shared by every input: positions, skip/resume, and
normalisation failures as dead letters (an iterator here never raises on bad input)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.windows.charset import text_start
from logwarden.shippers.windows.evtx_reader import EVTX_MAGIC, dead, read_evtx
from logwarden.shippers.windows.json_reader import read_json_lines
from logwarden.shippers.windows.normalise import normalise, to_event
from logwarden.shippers.windows.untrusted import (
    FLAG_SURROGATES,
    MAX_DEPTH,
    READER_FLAGS,
    check_depth,
    may_hold_surrogates,
    raw_bytes,
    replace_surrogates,
)
from logwarden.shippers.windows.xml_reader import read_xml

SUFFIXES = frozenset({".evtx", ".xml", ".json", ".jsonl", ".ndjson"})
SNIFF = 4096
SNIFF_MIN = 512
RawItem = str | dict[str, Any] | DeadLetter


def records(items: Iterable[RawItem], source: str, skip: int = 0) -> Iterator[Event | DeadLetter]:
    """Number every record (1-based, dead letters included), drop those <= skip, normalise the rest."""
    pos = 0
    for item in _guarded(items, source):
        pos += 1
        if pos <= skip:
            continue
        if isinstance(item, DeadLetter):
            item.position = pos
            yield item
            continue
        try:
            flags: list[str] | None = None
            if isinstance(item, str):  # EVTX: pyevtx-rs JSON text
                rec, flags = decode_evtx_json(item)
            else:  # readers check depth and surrogates themselves, and say what they repaired
                rec = item
                flags = rec.pop(READER_FLAGS, None)
            doc = normalise(rec, source)
            if flags:
                doc["log"]["flags"] = flags + [f for f in doc["log"].get("flags", []) if f not in flags]
            yield to_event(doc, pos)
        except Exception as exc:  # noqa: BLE001 - record boundary: any error is this record's dead letter, named
            yield DeadLetter(source=source, raw=_raw(item),
                             reason=f"record not normalised: {type(exc).__name__}: {exc}", dataset="windows",
                             position=pos)


def decode_evtx_json(item: str) -> tuple[Any, list[str] | None]:
    """One pyevtx-rs record's JSON text -> (the record, the repairs its document is flagged with).

    orjson reads it (a tenth of the standard library's time on pyevtx-rs's indented text). Where
    orjson and json both accept a text they give equal objects, except integers beyond 64 bits
    (orjson makes them floats): pyevtx-rs (serde_json) writes none, its numbers are EVTX's 8..64-bit
    integers and reals. What orjson refuses (a lone surrogate, which json accepts and we repair;
    nesting beyond its limit) is read by the standard library as before. A text orjson accepted
    holds no lone surrogate, so only the depth is checked then.

    Raises ValueError / RecursionError / TooDeep when the text is no record (the caller's dead letter)."""
    try:
        rec = orjson.loads(item)
    except orjson.JSONDecodeError:
        rec = json.loads(item)
    else:
        if item.count("{") + item.count("[") > MAX_DEPTH:  # cheap test first: the hot path
            check_depth(rec)
        return rec, None
    if item.count("{") + item.count("[") > MAX_DEPTH:
        check_depth(rec)
    if may_hold_surrogates(item):
        rec, changed = replace_surrogates(rec)
        return rec, ([FLAG_SURROGATES] if changed else None)
    return rec, None


def _raw(item: str | dict[str, Any]) -> bytes:
    if isinstance(item, str):
        return raw_bytes(item)
    try:
        return raw_bytes(json.dumps(item, ensure_ascii=False, default=str))
    except (RecursionError, ValueError):
        return b"(record not serialisable)"


def _guarded(items: Iterable[RawItem], source: str) -> Iterator[RawItem]:
    """The reader's items; if the reader itself fails (I/O error mid-stream), one last dead letter."""
    it = iter(items)
    while True:
        try:
            item = next(it)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - input boundary: the input ends in a dead letter naming the error
            yield DeadLetter(source=source, raw=source.encode("utf-8", "surrogateescape"),
                             reason=f"input could not be read further: {type(exc).__name__}: {exc}",
                             dataset="windows")
            return
        yield item


def _kind(head: bytes) -> str:
    if head.startswith(EVTX_MAGIC):
        return "evtx"
    body = text_start(head).lstrip("\ufeff \t\r\n")
    if body.startswith("<"):
        return "xml"
    if body.startswith("{"):
        return "json"
    return "unknown"


def _unknown(source: str, head: bytes) -> DeadLetter:
    if source.lower().endswith(".evtx"):
        reason = f"not an EVTX file: header {head[:8]!r} is not {EVTX_MAGIC!r}"
    elif not head:
        reason = "empty input"
    else:
        reason = "unknown format: neither EVTX, Windows event XML nor JSON lines"
    return DeadLetter(source=source, raw=head[:SNIFF], reason=reason, dataset="windows")


def _read_head(data: BinaryIO) -> bytes:
    """Enough leading bytes to recognise the format (short reads from pipes are fine)."""
    head = b""
    read = getattr(data, "read1", data.read)  # one raw read at a time: no data lost to a later error
    while len(head) < SNIFF_MIN:
        chunk = read(SNIFF - len(head))
        if not chunk:
            break
        head += chunk
    return head


def _from_stream(path: str, data: BinaryIO, real_path: str | None = None) -> Iterator[RawItem]:
    try:
        head = _read_head(data)
    except OSError as exc:
        yield dead(path, f"cannot read input: {exc}")
        return
    kind = _kind(head)
    if kind == "xml":
        yield from read_xml(path, data, head)
    elif kind == "json":
        yield from read_json_lines(path, data, head)
    elif kind == "evtx":
        file = real_path or path
        if file != "-" and os.path.isfile(file) and _same_start(file, head):
            yield from read_evtx(file, source=path)
            return
        # a pipe or other non-seekable stream: pyevtx-rs needs a file
        with tempfile.NamedTemporaryFile(prefix="logwarden-", suffix=".evtx") as tmp:
            tmp.write(head)
            shutil.copyfileobj(data, tmp, 1 << 20)
            tmp.flush()
            yield from read_evtx(tmp.name, source=path)
    else:
        yield _unknown(path, head)


def _same_start(path: str, head: bytes) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(head)) == head
    except OSError:
        return False


def parse_stream(path: str, data: BinaryIO) -> Iterator[Event | DeadLetter]:
    """`logwarden parse --source windows FILE|-`: EVTX, event XML or JSON lines, detected from content."""
    return records(_from_stream(path, data), path)


def iter_file(path: Path, skip: int = 0, *, source: str | None = None) -> Iterator[Event | DeadLetter]:
    """Records of one file; `skip` records (events and dead letters) already shipped are not yielded.

    `source` labels the records (log.file.path, dead letter source); default: the path itself."""
    source = source or str(path)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the generator below
    except OSError as exc:
        yield DeadLetter(source=source, raw=source.encode("utf-8", "surrogateescape"),
                         reason=f"cannot open file: {exc}", dataset="windows", position=1)
        return
    with fh:
        yield from records(_from_stream(source, fh, real_path=str(path)), source, skip)


def iter_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files given, and the .evtx/.xml/.json/.jsonl/.ndjson files under folders given (recursive), sorted."""
    found: set[Path] = set()
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for root, _dirs, files in os.walk(path):
                for name in files:
                    if Path(name).suffix.lower() in SUFFIXES:
                        found.add(Path(root) / name)
        elif path.is_file() and path.suffix.lower() in SUFFIXES:
            found.add(path)
    yield from sorted(found, key=str)
