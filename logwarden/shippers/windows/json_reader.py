"""JSON lines: evtx_dump / pyevtx-rs records ({"Event": {...}} per line) and Winlogbeat-style
documents (winlog.*), which are turned back into the record shape and normalised again rather
than wrapped a second time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from logwarden.shippers.base import DeadLetter
from logwarden.shippers.windows.tables import KEYWORD_BITS, LEVELS, OPCODES

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
        event["EventData"] = dict(w["event_data"])
    user_data = w.get("user_data")
    if isinstance(user_data, dict):
        inner = {k: v for k, v in user_data.items() if k != "xml_name"}
        event["UserData"] = {user_data.get("xml_name", "UserData"): inner}
    if isinstance(doc.get("message"), str):
        event["RenderingInfo"] = {"Message": doc["message"]}
    return {"Event": event}


def read_json_lines(source: str, data: BinaryIO, head: bytes = b"") -> Iterator[dict[str, Any] | DeadLetter]:
    """One record (or one DeadLetter with the line number) per non-blank line."""
    lineno = 0
    first = True
    stream: Any = data
    if head:
        stream = _Prefixed(head, data)
    for raw in stream:
        lineno += 1
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
            first = False
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.rstrip(b"\r\n"))
        except (ValueError, UnicodeDecodeError) as exc:
            yield DeadLetter(source, raw.rstrip(b"\r\n"), f"line {lineno}: bad JSON: {exc}", DATASET)
            continue
        if isinstance(obj, dict) and isinstance(obj.get("Event"), dict):
            yield obj
        elif isinstance(obj, dict) and ("winlog" in obj or "winlog.channel" in obj):
            try:
                yield winlogbeat_to_record(obj)
            except (KeyError, TypeError, AttributeError) as exc:
                yield DeadLetter(source, raw.rstrip(b"\r\n"), f"line {lineno}: bad Winlogbeat document: {exc!r}",
                                 DATASET)
        else:
            yield DeadLetter(source, raw.rstrip(b"\r\n"),
                             f"line {lineno}: JSON is neither an evtx_dump record {{\"Event\": ...}} "
                             "nor a Winlogbeat document (winlog.*)", DATASET)


class _Prefixed:
    """Iterate lines of `head` + the rest of a binary stream (after format sniffing)."""

    def __init__(self, head: bytes, data: BinaryIO) -> None:
        self.head = head
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        nl = self.head.rfind(b"\n")
        if nl >= 0:
            yield from self.head[: nl + 1].splitlines(keepends=True)
            rest = self.head[nl + 1:]
        else:
            rest = self.head
        for line in self.data:
            if rest:
                line, rest = rest + line, b""
            yield line
        if rest:
            yield rest
