"""huorong.parser.row_doc (nested literals, every pick in one pass over the record's keys, epoch
times memoised) builds the document the reading it replaced built (a `put` per field, a `_pick`
per field, `_time` twice per column). That reading is kept here as the reference and compared on
generated rows, key order included."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logwarden.shippers import textlog as t
from logwarden.shippers.huorong.logdb import JSON_COLS
from logwarden.shippers.huorong.parser import (
    _PICKED,
    BRUTE_FORCE,
    KEYS,
    TIME_COLS,
    _brute_force,
    _pick,
    _picks,
    row_doc,
)
from logwarden.shippers.textlog import ParseError, put

from .sources import golden_lines


def _ref_lowered(obj: dict[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in obj.items()}


def _ref_pick(lower: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for n in names:
        v = lower.get(n)
        if v not in (None, "", [], {}) and not isinstance(v, dict | list):
            return str(v)
    return None


def _ref_time(value: Any) -> str | None:
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


def _ref_basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def reference_row_doc(row: dict[str, Any]) -> dict[str, Any]:
    """row_doc as it was written before (helpers it shares unchanged: _brute_force)."""
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
    if isinstance(inner, dict):
        detail = {**{k: v for k, v in detail.items() if k != "detail"}, **inner}
    kind = _ref_pick(_ref_lowered(row), ("fname",)) or _ref_pick(_ref_lowered(detail), ("fname",))
    doc: dict[str, Any] = {}
    ts = next((_ref_time(row[c]) for c in TIME_COLS if c in row and _ref_time(row[c])), None)
    ts = ts or next((_ref_time(detail[c]) for c in TIME_COLS if c in detail and _ref_time(detail[c])), None)
    put(doc, "@timestamp", ts)
    put(doc, "observer.vendor", "Huorong")
    put(doc, "observer.product", "Huorong Internet Security")
    put(doc, "host.name", t.CONFIG.hostname)
    put(doc, "host.os.type", "windows")
    fields = _ref_lowered(detail)
    threat = _ref_pick(fields, KEYS["threat"])
    action = _ref_pick(fields, KEYS["action"])
    path = _ref_pick(fields, KEYS["path"])
    if path:
        put(doc, "file.path", path)
        put(doc, "file.name", _ref_basename(path))
    for algo in ("md5", "sha1", "sha256"):
        put(doc, f"file.hash.{algo}", (_ref_pick(fields, (algo,)) or "").lower() or None)
    proc = _ref_pick(fields, KEYS["process"])
    if proc:
        put(doc, "process.executable", proc)
        put(doc, "process.name", _ref_basename(proc))
    put(doc, "process.pid", t.to_int(_ref_pick(fields, ("pid",))))
    put(doc, "process.command_line", _ref_pick(fields, KEYS["cmdline"]))
    parent = _ref_pick(fields, KEYS["parent"])
    if parent:
        put(doc, "process.parent.executable", parent)
        put(doc, "process.parent.name", _ref_basename(parent))
    put(doc, "process.parent.command_line", _ref_pick(fields, KEYS["parent_cmdline"]))
    user = _ref_pick(fields, KEYS["user"]) or ""
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
        put(doc, "event.category", ["host"])
        put(doc, "event.type", ["info"])
        put(doc, "event.action", (action or "huorong-log")[:64])
    return doc


def _outcome(fn, row: dict[str, Any]) -> object:
    try:
        return json.dumps(fn(row), ensure_ascii=False, default=repr)  # key order compared too
    except Exception as exc:  # noqa: BLE001 - the same error, named, is the same outcome
        return f"{type(exc).__name__}: {exc}"


NAMES = sorted({n for names in KEYS.values() for n in names} | {"fname", "md5", "sha1", "sha256", "pid",
                                                                 "detection", "raddr", "rdata", "Path", "VIRUS_NAME",
                                                                 "User", *TIME_COLS, "other"})
VALUES = st.one_of(st.sampled_from([None, "", " ", 0, 1, -5, 1.5, True, False, "1586826000", 1586826000123,
                                    "2020-04-14 09:00:00", "2020-04-14T09:00:00Z", "bad", [], {}, ["a"], {"a": 1},
                                    "C:\\x\\y.EXE", "DOM\\user", "user\\", "\\", "rlogin", "203.0.113.9",
                                    ["203.0.113.1", "x"], {"raddr": ["10.0.0.1", 5]}, "ABCDEF", "-", "已隔离",
                                    "quarantined", 10**30, float("inf")]),
                   st.text(max_size=6))
RECORDS = st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=8)


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    row: dict[str, Any] = draw(st.dictionaries(st.sampled_from(["id", "ts", "fid", "fname", "time", "FNAME"]),
                                               VALUES, max_size=4))
    record: dict[str, Any] = draw(RECORDS)
    if draw(st.booleans()):
        record["detail"] = draw(RECORDS)  # HrLogV3: the record inside "detail"
    shape = draw(st.sampled_from(["object", "text", "none", "columns"]))
    if shape == "object":
        row[draw(st.sampled_from(["detail", "data", "json", "x"]))] = record
    elif shape == "text":
        row[draw(st.sampled_from(["detail", "msg", "x"]))] = json.dumps(record, ensure_ascii=draw(st.booleans()))
    elif shape == "columns":
        row.update(record)
    return row


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(rows())
@example({"id": 1, "ts": 1586796600, "detail": '{"virus_name":"T","path":"C:\\\\a.exe","user":"D\\\\u"}'})
@example({"ts": "2020-04-14 09:00:00", "detail": {"op": "update"}})
@example({"fname": "rlogin", "detail": {"detail": {"detection": "RDP", "raddr": "203.0.113.1"}}})
def test_row_doc_equals_the_reference(row: dict[str, Any]) -> None:
    assert _outcome(row_doc, row) == _outcome(reference_row_doc, row)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(RECORDS.map(lambda record: {str(k).lower(): v for k, v in record.items()}))
def test_picks_equal_one_pick_per_field(lower: dict[str, Any]) -> None:
    assert _picks(lower) == [_pick(lower, names) for names in _PICKED]
    assert _picks(lower) == [_ref_pick(lower, names) for names in _PICKED]


def test_golden_rows_build_the_same() -> None:
    rows_read = 0
    for raw in golden_lines("huorong"):
        try:
            row = json.loads(raw)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows_read += 1
            assert _outcome(row_doc, row) == _outcome(reference_row_doc, row)
    assert rows_read
