"""ESET PROTECT / ESMC syslog export in JSON (one object per line, optionally after a syslog
header). Threat_Event -> alert (rule.name = threat_name, file.path from object_uri, process,
user, hash); other event types (FirewallAggregated_Event, HipsAggregated_Event, Audit_Event, ...)
are plain events with event.action = the event type. `occured` is UTC ("14-Apr-2020 00:57:00").
A lone surrogate escape (`"\\ud800"`) is replaced by U+FFFD and flagged (log.flags), as for
Windows JSON (logwarden/shippers/windows/untrusted.py): no encoder downstream accepts it.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import orjson

from logwarden.shippers import textlog as t
from logwarden.shippers.textlog import ParseError, SyslogHeader
from logwarden.shippers.windows.untrusted import FLAG_SURROGATES, may_hold_surrogates, replace_surrogates


def _s(obj: dict[str, Any], key: str) -> str | None:
    """The value at `key` as text; None when missing or an object/array."""
    v = obj.get(key)
    if v.__class__ is str:  # nearly every ESET field: str(v) would be v itself
        return v  # type: ignore[no-any-return]
    if v is None or isinstance(v, dict | list):
        return None
    return str(v)


@functools.lru_cache(maxsize=8192)
def _occured(text: str) -> str | None:
    """ISO UTC of an `occured` value ("14-Apr-2020 00:57:00", UTC), None when it is not in that
    form; cached per text (a log repeats its seconds)."""
    try:
        return t.iso(datetime.strptime(text.strip(), "%d-%b-%Y %H:%M:%S").replace(tzinfo=UTC))
    except ValueError:
        return None


def _fast_json(text: str) -> Any:
    """orjson's reading of `text`, or None when the standard library must read it: orjson refuses
    what json accepts (NaN, a lone surrogate escape, very deep nesting) and turns integers beyond
    64 bits into floats, so a result holding any float is left to json too (ESET's fields are
    strings and small integers). Where both read the text, they give the same objects."""
    try:
        obj = orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError, or text it cannot encode
        return None
    if obj.__class__ is not dict:
        return None
    stack: list[Any] = [obj]
    while stack:
        node = stack.pop()
        for value in node.values() if node.__class__ is dict else node:
            if value.__class__ is float:
                return None
            if value.__class__ is dict or value.__class__ is list:
                stack.append(value)
    return obj


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    text = msg.strip()
    start = text.find("{")
    if start < 0:
        raise ParseError("no JSON object")
    obj = _fast_json(text[start:])
    repaired = False
    if obj is None:
        try:
            obj = json.loads(text[start:])
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"invalid JSON: {str(exc)[:80]}") from None
        if may_hold_surrogates(text):  # "\ud800" decodes to a string no UTF-8 encoder takes (Kafka, ES)
            obj, repaired = replace_surrogates(obj)
    if not isinstance(obj, dict) or "event_type" not in obj:
        raise ParseError("JSON without ESET event_type")
    # built as literals with conditional writes (a `put` per field was most of this parser's cost),
    # each object made where `put` would first have made it, so the documents keep their key order;
    # a text `put` skips ("" and None) is skipped by `if value`
    doc: dict[str, Any] = {}
    if repaired:
        t.flag(doc, FLAG_SURROGATES)
    occured = _s(obj, "occured") or _s(obj, "occurred") or ""
    timestamp = _occured(occured) or t.parse_iso(occured)
    if timestamp:
        doc["@timestamp"] = timestamp
    doc["observer"] = {"vendor": "ESET", "product": "ESET PROTECT"}
    value = _s(obj, "hostname")
    if value:
        doc["host"] = {"name": value}
    t.put_ip(doc, "host.ip", _s(obj, "ipv4") or _s(obj, "ipv6"), as_list=True)
    value = _s(obj, "source_uuid")
    if value:
        doc.setdefault("host", {})["id"] = value
    value = _s(obj, "severity")
    if value:
        doc.setdefault("log", {})["level"] = value  # `log` is made by a flag if at all: an object
    etype = _s(obj, "event_type") or ""
    eset: dict[str, Any] = {}
    if etype:
        eset = doc["eset"] = {"event_type": etype}
    user = _s(obj, "username") or ""
    if "\\" in user:
        dom, _, name = user.partition("\\")
        account = {"domain": dom} if dom else {}
        if name:
            account["name"] = name
        if account:
            doc["user"] = account
    elif user:
        doc["user"] = {"name": user}
    proc = _s(obj, "processname")
    if proc:
        name = proc.replace("\\", "/").rsplit("/", 1)[-1]
        doc["process"] = {"executable": proc, "name": name} if name else {"executable": proc}
    if etype == "Threat_Event":  # etype is not empty: doc["eset"] is `eset`
        event = doc["event"] = {"kind": "alert", "category": ["malware"], "type": ["info"]}
        value = _s(obj, "threat_name")
        if value:
            doc["rule"] = {"name": value}
        value = _s(obj, "threat_type")
        if value:
            doc["threat"] = {"indicator": {"type": value}}
            eset["threat_type"] = value
        uri = _s(obj, "object_uri") or ""
        path = unquote(uri[len("file://"):]) if uri.startswith("file://") else uri
        if len(path) > 3 and path[0] == "/" and path[2] == ":":
            path = path[1:]  # file:///C:/x -> C:/x
        file: dict[str, Any] = {}
        if path:
            file["path"] = path.replace("/", "\\") if len(path) > 1 and path[1] == ":" else path
            name = path.replace("\\", "/").rsplit("/", 1)[-1]
            if name:
                file["name"] = name
        digest = (_s(obj, "hash") or "").lower()
        if digest:
            file["hash"] = {{40: "sha1", 64: "sha256", 32: "md5"}.get(len(digest), "unknown"): digest}
        if file:
            doc["file"] = file
        handled = obj.get("threat_handled")
        action = _s(obj, "action_taken") or ""
        event["action"] = t.av_action(action) if handled is not False else "malware-detected"
        if action:
            eset["action_taken"] = action
        if isinstance(handled, bool):
            eset["threat_handled"] = handled
        value = _s(obj, "scanner_id") or _s(obj, "scan_id")
        if value:
            eset["scanner"] = value
        value = _s(obj, "engine_version")
        if value:
            eset["engine_version"] = value
        value = _s(obj, "circumstances")
        if value:
            doc["message"] = value
    else:
        event = doc["event"] = {"kind": "event", "category": ["malware"] if "Threat" in etype else ["host"],
                                "type": ["info"]}
        action = etype.lower().replace("_event", "").replace("_", "-")
        if action:
            event["action"] = action
        value = _s(obj, "rule_name") or _s(obj, "threat_name")
        if value:
            doc["rule"] = {"name": value}
        t.endpoint(doc, "source", _s(obj, "source_address"), _s(obj, "source_port"))
        t.endpoint(doc, "destination", _s(obj, "target_address"), _s(obj, "target_port"))
        value = _s(obj, "event") or _s(obj, "detail")
        if value:
            doc["message"] = value
    return doc


parse_line = t.line_parser("eset", "av", parse)
parse_stream = t.stream_parser(parse_line)
