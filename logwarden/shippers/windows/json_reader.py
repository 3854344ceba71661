"""JSON lines: evtx_dump / pyevtx-rs records ({"Event": {...}} per line) and Winlogbeat-style
documents (winlog.*), which are turned back into the record shape and normalised again rather
than wrapped a second time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from logwarden.shippers.base import DeadLetter
from logwarden.shippers.windows.charset import decode_record, utf8_lines, wide_encoding
from logwarden.shippers.windows.normalise import UNNAMED, WINLOG_USER
from logwarden.shippers.windows.tables import KEYWORD_BITS, LEVELS, OPCODES
from logwarden.shippers.windows.untrusted import (
    FLAG_SURROGATES,
    MAX_DEPTH,
    READER_FLAGS,
    TooDeep,
    check_depth,
    may_hold_surrogates,
    replace_surrogates,
)

DATASET = "windows"
_LEVEL_NUMBER = {name: num for num, name in reversed(LEVELS.items())}
_OPCODE_NUMBER = {name: num for num, name in OPCODES.items()}
_KEYWORD_BIT = {name: bit for bit, name in KEYWORD_BITS}


def _unflatten(doc: dict[str, Any]) -> dict[str, Any]:
    """{"winlog.channel": x} -> {"winlog": {"channel": x}} (dotted Winlogbeat/ES output)."""
    if not any("." in k for k in doc):
        return doc
    out: dict[str, Any] = {}
    for key, value in doc.items():
        node = out
        parts = key.split(".") if key != "@timestamp" else [key]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]].update(value)
        else:
            node[parts[-1]] = value
    return out


def _event_data(data: dict[str, Any]) -> dict[str, Any]:
    """Winlogbeat's event_data -> the record's EventData. The unnamed <Data> values come back as
    unnamed (normalise numbers them param1..N and lists them as `Data` again): our own documents
    say which they are (`Data`); a Winlogbeat document without `Data` has them as param1..N."""
    listed = data.get(UNNAMED)
    from_list = isinstance(listed, list) and all(isinstance(v, str) for v in listed)
    unnamed: list[str] = list(listed) if from_list else []  # type: ignore[arg-type]
    if not from_list:
        while isinstance(data.get(f"param{len(unnamed) + 1}"), str):
            unnamed.append(data[f"param{len(unnamed) + 1}"])
    params = {f"param{i}" for i in range(1, len(unnamed) + 1)}
    named = {k: v for k, v in data.items() if k not in params and not (k == UNNAMED and from_list)}
    return {"Data": unnamed, **named} if unnamed else named


def winlogbeat_to_record(doc: dict[str, Any]) -> dict[str, Any]:
    """A Winlogbeat document -> the pyevtx-rs record shape, so it is normalised like any other."""
    doc = _unflatten(doc)
    w = doc["winlog"]
    provider: dict[str, Any] = {"Name": w.get("provider_name")}
    if w.get("provider_guid"):
        provider["Guid"] = w["provider_guid"]
    system: dict[str, Any] = {
        "Provider": {"#attributes": provider},
        "EventID": w.get("event_id", (doc.get("event") or {}).get("code")),
        "TimeCreated": {"#attributes": {"SystemTime": w.get("time_created") or doc.get("@timestamp")}},
        "EventRecordID": w.get("record_id"),
        "Channel": w.get("channel"),
        "Computer": w.get("computer_name") or (doc.get("host") or {}).get("name"),
    }
    level = ((doc.get("log") or {}).get("level") or "").lower()
    if level in _LEVEL_NUMBER:
        system["Level"] = _LEVEL_NUMBER[level]
    if w.get("opcode") is not None:
        system["Opcode"] = _OPCODE_NUMBER.get(w["opcode"], w["opcode"])
    if w.get("version") is not None:
        system["Version"] = w["version"]
    keywords = w.get("keywords")
    if isinstance(keywords, list):
        system["Keywords"] = hex(sum(_KEYWORD_BIT.get(k, 0) for k in keywords))
    process = w.get("process") or {}
    execution = {}
    if process.get("pid") is not None:
        execution["ProcessID"] = process["pid"]
    if (process.get("thread") or {}).get("id") is not None:
        execution["ThreadID"] = process["thread"]["id"]
    if execution:
        system["Execution"] = {"#attributes": execution}
    if (w.get("user") or {}).get("identifier"):
        system["Security"] = {"#attributes": {"UserID": w["user"]["identifier"]}}
    correlation = {k: w[v] for k, v in (("ActivityID", "activity_id"), ("RelatedActivityID",
                                                                           "related_activity_id")) if w.get(v)}
    if correlation:
        system["Correlation"] = {"#attributes": correlation}
    event: dict[str, Any] = {"System": system}
    if isinstance(w.get("event_data"), dict):
        event["EventData"] = _event_data(w["event_data"])
    user_data = w.get("user_data")
    if isinstance(user_data, dict):
        inner = {k: v for k, v in user_data.items() if k != "xml_name"}
        event["UserData"] = {user_data.get("xml_name", "UserData"): inner}
    if isinstance(doc.get("message"), str):
        event["RenderingInfo"] = {"Message": doc["message"]}
    record: dict[str, Any] = {"Event": event}
    user = w.get("user")
    if isinstance(user, dict):
        resolved = {k: user[k] for k in ("name", "domain", "type") if isinstance(user.get(k), str) and user[k]}
        if resolved:
            record[WINLOG_USER] = resolved
    return record


def read_json_lines(source: str, data: BinaryIO, head: bytes = b"") -> Iterator[dict[str, Any] | DeadLetter]:
    """One record (or one DeadLetter with the line number) per non-blank line.

    UTF-16/32 input (by byte order mark or NUL pattern) is read as such; otherwise each line is
    UTF-8, else GB18030 (as the text parsers decode), else a dead letter."""
    lineno = 0
    first = True
    codec = wide_encoding(head)
    stream: Any = data
    if codec is not None and codec != "utf-8-sig":
        stream = utf8_lines(codec, head, data)
    elif head:
        stream = _Prefixed(head, data)
    for raw in stream:
        lineno += 1
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
            first = False
        if not raw.strip():
            continue
        line = raw.rstrip(b"\r\n")
        text, repaired = decode_record(line)
        if text is None:
            yield DeadLetter(source, line, f"line {lineno}: not UTF-8 or GB18030", DATASET)
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            yield DeadLetter(source, line, f"line {lineno}: bad JSON: {exc}", DATASET)
            continue
        except RecursionError:
            yield DeadLetter(source, line, f"line {lineno}: record nested deeper than {MAX_DEPTH} levels", DATASET)
            continue
        try:
            if text.count("{") + text.count("[") > MAX_DEPTH:  # cheap test first
                check_depth(obj)
            if may_hold_surrogates(text):
                obj, changed = replace_surrogates(obj)
                if changed:
                    repaired.append(FLAG_SURROGATES)
        except TooDeep as exc:
            yield DeadLetter(source, line, f"line {lineno}: {exc}", DATASET)
            continue
        if isinstance(obj, dict):
            obj.pop(READER_FLAGS, None)  # only a reader says what it repaired
            obj.pop(WINLOG_USER, None)  # or what Winlogbeat resolved
        if isinstance(obj, dict) and isinstance(obj.get("Event"), dict):
            yield _flagged(obj, repaired)
        elif isinstance(obj, dict) and ("winlog" in obj or "winlog.channel" in obj):
            try:
                yield _flagged(winlogbeat_to_record(obj), repaired)
            except Exception as exc:  # noqa: BLE001 - record boundary: any error is this line's dead letter, named
                yield DeadLetter(source, line, f"line {lineno}: bad Winlogbeat document: {exc!r}", DATASET)
        else:
            yield DeadLetter(source, line,
                             f"line {lineno}: JSON is neither an evtx_dump record {{\"Event\": ...}} "
                             "nor a Winlogbeat document (winlog.*)", DATASET)


def _flagged(record: dict[str, Any], repaired: list[str]) -> dict[str, Any]:
    if repaired:
        record[READER_FLAGS] = repaired
    return record


class _Prefixed:
    """Iterate lines of `head` + the rest of a binary stream (after format sniffing)."""

    def __init__(self, head: bytes, data: BinaryIO) -> None:
        self.head = head
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        nl = self.head.rfind(b"\n")
        if nl >= 0:
            # split at LF only, as the file iteration below does (splitlines() also splits at a
            # lone CR, which made one record two within the first 64 KiB only)
            yield from (line + b"\n" for line in self.head[:nl].split(b"\n"))
            rest = self.head[nl + 1:]
        else:
            rest = self.head
        for line in self.data:
            if rest:
                line, rest = rest + line, b""
            yield line
        if rest:
            yield rest
