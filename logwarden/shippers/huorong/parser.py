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
    """The first of `names` in a _lowered object holding a plain, non-empty value, as text: a
    non-empty string as it is, an object or a list never, any other value (a number, a boolean,
    bytes) as str() gives it."""
    for n in names:
        v = lower.get(n)
        if v is None:
            continue
        if v.__class__ is str:
            if v:
                return v  # type: ignore[no-any-return]
        elif not isinstance(v, dict | list):
            return str(v)
    return None


def _time(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        epoch = _EPOCHS.get(value)  # the same second repeats; the text is in UTC, whatever CONFIG.tz
        if epoch is None:
            if len(_EPOCHS) >= _EPOCHS_MAX:
                _EPOCHS.clear()
            epoch = _EPOCHS[value] = _epoch(value)
        return epoch or None
    return t.parse_time(str(value), ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")) or t.parse_iso(str(value))


def _epoch(value: int | float | str) -> str:
    """ISO UTC for epoch seconds (milliseconds above 1e11); "" when no date has that number."""
    n = float(value)
    if n > 1e11:
        n /= 1000
    try:
        return t.iso(datetime.fromtimestamp(n, UTC))
    except (OverflowError, OSError, ValueError):
        return ""


_EPOCHS: dict[Any, str] = {}
_EPOCHS_MAX = 4096


def _first_time(obj: dict[str, Any]) -> str | None:
    """The first of TIME_COLS (exact names) in `obj` that reads as a time."""
    for column in TIME_COLS:
        if column in obj:
            ts = _time(obj[column])
            if ts:
                return ts
    return None


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _as_text(value: Any) -> str:
    """A record value as huorong.detail keeps it: a string as it is, anything else as its JSON text
    (an integer's is its repr, what json writes for it, without the encoder's set-up)."""
    if isinstance(value, str):
        return value
    if value.__class__ is int:
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _named(fields: dict[str, Any], path: str) -> None:
    """fields["name"]: the path's last part, when it has one (`C:\\dir\\` has none)."""
    name = _basename(path)
    if name:
        fields["name"] = name


def _detail(row: dict[str, Any]) -> dict[str, Any]:
    """The row's record: the first JSON column (JSON_COLS first, then any column) holding an object,
    else the row itself when one of its columns names a threat; an HrLogV3 `detail` object inside
    it is merged into it. Raises ParseError when there is neither."""
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
    return detail


def row_doc(row: dict[str, Any]) -> dict[str, Any]:
    """ECS document for one row (columns as a dict; the JSON column may be a string or a dict).

    Built as nested literals, each field written only when it has a value (what `put` would
    skip), in one fixed order; raises ParseError for a row without a record."""
    detail = _detail(row)
    fields = _lowered(detail)  # once: every lookup below reads it
    kind = _pick(_lowered(row), _FNAME) or _pick(fields, _FNAME)
    doc: dict[str, Any] = {}
    ts = _first_time(row) or _first_time(detail)
    if ts:
        doc["@timestamp"] = ts
    doc["observer"] = {"vendor": "Huorong", "product": "Huorong Internet Security"}
    hostname = t.CONFIG.hostname
    doc["host"] = {"name": hostname, "os": {"type": "windows"}} if hostname else {"os": {"type": "windows"}}
    threat, action, path, md5, sha1, sha256, proc, pid_text, cmdline, parent, parent_cmdline, user_text = _picks(fields)
    file: dict[str, Any] | None = None
    if path:
        file = doc["file"] = {"path": path}
        _named(file, path)
    for algo, digest in (("md5", md5), ("sha1", sha1), ("sha256", sha256)):
        if digest:
            digest = digest.lower()
            if digest:
                if file is None:
                    file = doc["file"] = {}
                hashes = file.get("hash")
                if hashes is None:
                    hashes = file["hash"] = {}
                hashes[algo] = digest
    process: dict[str, Any] | None = None
    if proc:
        process = doc["process"] = {"executable": proc}
        _named(process, proc)
    pid = t.to_int(pid_text)
    if pid is not None:
        if process is None:
            process = doc["process"] = {}
        process["pid"] = pid
    if cmdline:
        if process is None:
            process = doc["process"] = {}
        process["command_line"] = cmdline
    if parent:
        if process is None:
            process = doc["process"] = {}
        parent_fields = process["parent"] = {"executable": parent}
        _named(parent_fields, parent)
    if parent_cmdline:
        if process is None:
            process = doc["process"] = {}
        parent_fields = process.get("parent")  # type: ignore[assignment]
        if parent_fields is None:
            parent_fields = process["parent"] = {}
        parent_fields["command_line"] = parent_cmdline
    user = user_text or ""
    dom, sep, name = user.rpartition("\\")
    if sep:
        user = name
    if user or (sep and dom):
        user_fields = doc["user"] = {}
        if user:
            user_fields["name"] = user
        if sep and dom:
            user_fields["domain"] = dom
    huorong: dict[str, Any] = {"detail": {str(k): _as_text(v) for k, v in detail.items()}}
    doc["huorong"] = huorong
    if action:
        huorong["action"] = action
    if kind:
        huorong["log_kind"] = kind
    if kind == BRUTE_FORCE:
        _brute_force(doc, detail)
    elif threat:
        doc["event"] = {"kind": "alert", "type": ["info"]}
        doc["rule"] = {"name": threat}
        doc["event"]["action"] = t.av_action(action)
    else:
        # not malware: the AV detection rule must not fire on it
        doc["event"] = {"kind": "event", "category": ["host"], "type": ["info"],
                        "action": (action or "huorong-log")[:64]}
    return doc


_FNAME = ("fname",)
# what row_doc picks, in _picks's order: each a _pick of these names
_PICKED = (KEYS["threat"], KEYS["action"], KEYS["path"], ("md5",), ("sha1",), ("sha256",), KEYS["process"], ("pid",),
           KEYS["cmdline"], KEYS["parent"], KEYS["parent_cmdline"], KEYS["user"])
_RANKS: dict[str, tuple[tuple[int, int], ...]] = {}  # name -> ((index in _PICKED, rank among its names), ...)
for _index, _names in enumerate(_PICKED):
    for _rank, _name in enumerate(_names):
        _RANKS[_name] = (*_RANKS.get(_name, ()), (_index, _rank))


def _picks(lower: dict[str, Any]) -> list[str | None]:
    """`_pick(lower, names)` for every names of _PICKED, in one pass over the object's keys (a
    record holds a few of the ~40 names looked for)."""
    best: list[str | None] = [None] * len(_PICKED)
    ranks = [len(_RANKS)] * len(_PICKED)
    for key, v in lower.items():
        hits = _RANKS.get(key)
        if hits is None or v is None:
            continue
        if v.__class__ is str:
            if not v:
                continue
            text = v
        elif isinstance(v, dict | list):
            continue
        else:
            text = str(v)
        for index, rank in hits:
            if rank < ranks[index]:
                ranks[index] = rank
                best[index] = text
    return best


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
