"""Huorong (火绒) log.db reader; the layout assumptions are in README.md beside this file."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from logwarden.shippers import textlog as t
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.huorong import logdb
from logwarden.shippers.huorong.logdb import DATASET, JSON_COLS, MAGIC
from logwarden.shippers.textlog import ParseError, put
from logwarden.shippers.windows.untrusted import FLAG_SURROGATES, may_hold_surrogates, replace_surrogates

MODULE = logdb.MODULE
BRUTE_FORCE = "rlogin"  # the `fname` of 爆破攻击防护 (brute-force protection) rows, see README.md
BRUTE_FORCE_RULE = "Huorong brute-force protection"
TIME_COLS = ("ts", "time", "timestamp", "date", "create_time", "createtime")
KEYS = {
    "threat": ("virus_name", "vname", "virus", "threat", "malware", "name"),
    "action": ("action", "treatment", "result", "op", "handle"),
    "path": ("path", "file", "file_path", "target", "fpath", "pathname", "res_path"),
    "process": ("proc", "process", "procname", "process_path", "image", "exe"),
    "parent": ("p_procname",),
    "parent_cmdline": ("p_cmdline",),
    "cmdline": ("cmdline", "command_line", "commandline", "cmd"),
    "user": ("user", "username", "account"),
}


def _first(obj: dict[str, Any], names: tuple[str, ...]) -> str | None:
    return _pick(_lowered(obj), names)


def _lowered(obj: dict[str, Any]) -> dict[str, Any]:
    """The object keyed by its lowercased keys (a later key wins over an earlier one that lowercases alike)."""
    return {str(k).lower(): v for k, v in obj.items()}


def _pick(lower: dict[str, Any], names: tuple[str, ...]) -> str | None:
    """The first of `names` in a _lowered object holding a plain, non-empty value, as text."""
    for n in names:
        v = lower.get(n)
        if v not in (None, "", [], {}) and not isinstance(v, dict | list):
            return str(v)
    return None


def _time(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        n = float(value)
        if n > 1e11:
            n /= 1000
        try:
            return t.iso(datetime.fromtimestamp(n, UTC))
        except (OverflowError, OSError, ValueError):
            return None
    return t.parse_time(str(value), ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")) or t.parse_iso(str(value))


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def row_doc(row: dict[str, Any]) -> dict[str, Any]:
    """ECS document for one row (columns as a dict; the JSON column may be a string or a dict)."""
    detail: dict[str, Any] = {}
    for key in (*JSON_COLS, *row.keys()):
        v = row.get(key)
        if isinstance(v, dict):
            detail = v
            break
        if isinstance(v, str) and v.lstrip().startswith("{"):
            try:
                parsed = json.loads(v)
            except (ValueError, RecursionError):
                continue
            if isinstance(parsed, dict):
                detail = parsed
                break
    if not detail:
        if any(k in {str(x).lower() for x in row} for k in KEYS["threat"]):
            detail = row
        else:
            raise ParseError("row has no JSON detail")
    inner = detail.get("detail")
    if isinstance(inner, dict):  # HrLogV3: the detail column's JSON holds the record in "detail"
        detail = {**{k: v for k, v in detail.items() if k != "detail"}, **inner}
    kind = _first(row, ("fname",)) or _first(detail, ("fname",))
    doc: dict[str, Any] = {}
    ts = next((_time(row[c]) for c in TIME_COLS if c in row and _time(row[c])), None)
    ts = ts or next((_time(detail[c]) for c in TIME_COLS if c in detail and _time(detail[c])), None)
    put(doc, "@timestamp", ts)
    put(doc, "observer.vendor", "Huorong")
    put(doc, "observer.product", "Huorong Internet Security")
    put(doc, "host.name", t.CONFIG.hostname)
    put(doc, "host.os.type", "windows")
    fields = _lowered(detail)  # once: every lookup below reads it
    threat = _pick(fields, KEYS["threat"])
    action = _pick(fields, KEYS["action"])
    path = _pick(fields, KEYS["path"])
    if path:
        put(doc, "file.path", path)
        put(doc, "file.name", _basename(path))
    for algo in ("md5", "sha1", "sha256"):
        put(doc, f"file.hash.{algo}", (_pick(fields, (algo,)) or "").lower() or None)
    proc = _pick(fields, KEYS["process"])
    if proc:
        put(doc, "process.executable", proc)
        put(doc, "process.name", _basename(proc))
    put(doc, "process.pid", t.to_int(_pick(fields, ("pid",))))
    put(doc, "process.command_line", _pick(fields, KEYS["cmdline"]))
    parent = _pick(fields, KEYS["parent"])
    if parent:
        put(doc, "process.parent.executable", parent)
        put(doc, "process.parent.name", _basename(parent))
    put(doc, "process.parent.command_line", _pick(fields, KEYS["parent_cmdline"]))
    user = _pick(fields, KEYS["user"]) or ""
    dom, sep, name = user.rpartition("\\")
    put(doc, "user.name", name if sep else user)
    put(doc, "user.domain", dom if sep else None)
    put(doc, "huorong.detail", {str(k): (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                                for k, v in detail.items()})
    put(doc, "huorong.action", action)
    put(doc, "huorong.log_kind", kind)
    if kind == BRUTE_FORCE:
        _brute_force(doc, detail)
    elif threat:
        put(doc, "event.kind", "alert")
        put(doc, "event.type", ["info"])
        put(doc, "rule.name", threat)
        put(doc, "event.action", t.av_action(action))
    else:
        put(doc, "event.kind", "event")
        put(doc, "event.category", ["host"])  # not malware: the AV detection rule must not fire on it
        put(doc, "event.type", ["info"])
        put(doc, "event.action", (action or "huorong-log")[:64])
    return doc


def _brute_force(doc: dict[str, Any], detail: dict[str, Any]) -> None:
    """爆破攻击防护 (brute-force protection, fname "rlogin"): `detection` names the protocol
    attacked (e.g. RDP), `raddr` the remote address, `rdata.raddr` a list of remote addresses.
    An alert of category intrusion_detection (not malware: no file was detected)."""
    rdata = detail.get("rdata")
    listed = rdata.get("raddr") if isinstance(rdata, dict) else None
    remotes = [str(a) for a in ([detail.get("raddr")] + (listed if isinstance(listed, list) else []))
               if a not in (None, "") and not isinstance(a, dict | list)]
    if remotes:
        t.endpoint(doc, "source", remotes[0])
    addresses = sorted({ip for ip in (t.ip_or_none(a) for a in remotes) if ip})
    put(doc, "related.ip", addresses)
    protocol = _first(detail, ("detection",))
    put(doc, "network.protocol", protocol.lower() if protocol else None)
    put(doc, "rule.name", f"{BRUTE_FORCE_RULE}: {protocol}" if protocol else BRUTE_FORCE_RULE)
    put(doc, "event.kind", "alert")
    put(doc, "event.category", ["intrusion_detection"])
    put(doc, "event.type", ["info"])
    put(doc, "event.action", "brute-force-detected")


def row_event(row: dict[str, Any], raw: bytes, source: str, position: int) -> Event | DeadLetter:
    try:
        doc = row_doc(row)
        text = raw.decode("utf-8", "replace")
        if may_hold_surrogates(text):  # a "\ud800" escape decodes to a string no UTF-8 encoder takes
            doc, repaired = replace_surrogates(doc)
            if repaired:
                t.flag(doc, FLAG_SURROGATES)
        return t.finish(doc, raw_text=text, hdr=None, module=MODULE, dataset=DATASET, source=source,
                        position=position, raw=raw)
    except Exception as exc:  # noqa: BLE001 - record boundary: any error is this row's dead letter, named
        return DeadLetter(source, raw, t._reason(MODULE, exc), DATASET, position)


def parse_line(raw: bytes, source: str, position: int) -> Event | DeadLetter:
    """One exported row as a JSON line."""
    text = t.decode(raw)
    if text is None:
        return DeadLetter(source, raw, f"{MODULE}: not UTF-8 or GB18030", DATASET, position)
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return DeadLetter(source, raw, f"{MODULE}: not a JSON row", DATASET, position)
    if not isinstance(obj, dict):
        return DeadLetter(source, raw, f"{MODULE}: JSON row is not an object", DATASET, position)
    return row_event(obj, raw, source, _line_position(obj.get("id"), position))


def _line_position(row_id: Any, offset: int) -> int:
    """A JSON line's position: its `id` when that is a non-zero integer SQLite could hold as a
    rowid (an export keeps the rowid there), else the line's byte offset; never a number
    Elasticsearch cannot store as `log.offset` (a long)."""
    number = t.to_int(row_id)
    return number if number and logdb.ROWID_MIN <= number <= logdb.ROWID_MAX else offset


# ------------------------------------------------------------------------- log.db


def read_db(path: str, after: dict[str, int] | None = None, immutable: bool = False,
            batch: int = logdb.BATCH) -> Iterator[tuple[str, int, Event | DeadLetter]]:
    """(table, rowid, event or dead letter) for every row after `after[table]` (see logdb.read_rows:
    the rowid is the checkpoint position; the file is never written or locked). Raises OSError
    only when the file itself cannot be opened."""
    for table, rowid, item in logdb.read_rows(path, after, immutable=immutable, batch=batch):
        if isinstance(item, logdb.Row):
            yield table, rowid, row_event(item.values, item.raw(), f"{path}#{table}", rowid)
        else:
            yield table, rowid, item


def _is_db_file(path: str) -> bool:
    """`path` is a regular file starting with the SQLite header (16 bytes read, whatever its size)."""
    try:
        with open(path, "rb") as fh:
            return Path(path).is_file() and fh.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def parse_stream(path: str, data: BinaryIO) -> Iterator[Event | DeadLetter]:
    """A log.db (read in place when `path` is that file, else from one temporary copy of `data`)
    or JSON lines."""
    head = data.read(len(MAGIC))
    if head == MAGIC:
        if _is_db_file(path):
            for _, _, item in read_db(path):
                yield item
            return
        with tempfile.TemporaryDirectory(prefix="logwarden-huorong-") as tmp:
            copy = Path(tmp) / "log.db"
            with copy.open("wb") as fh:
                fh.write(head)
                shutil.copyfileobj(data, fh)
            for table, rowid, row in logdb.read_rows(str(copy), immutable=True, own_copy=True):
                if isinstance(row, logdb.Row):
                    yield row_event(row.values, row.raw(), f"{path}#{table}", rowid)
                else:
                    row.source = row.source.replace(str(copy), path, 1)
                    yield row
        return
    try:
        data.seek(data.tell() - len(head))
    except (OSError, AttributeError, ValueError):
        import io

        data = io.BufferedReader(io.BytesIO(head + data.read()))  # type: ignore[arg-type]
    for offset, raw in t.iter_lines(data):
        yield parse_line(raw, path, offset)
