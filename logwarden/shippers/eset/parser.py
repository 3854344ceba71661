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
from logwarden.shippers.textlog import ParseError, SyslogHeader, put
from logwarden.shippers.windows.untrusted import FLAG_SURROGATES, may_hold_surrogates, replace_surrogates


def _s(obj: dict[str, Any], key: str) -> str | None:
    v = obj.get(key)
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
    doc: dict[str, Any] = {}
    if repaired:
        t.flag(doc, FLAG_SURROGATES)
    occured = _s(obj, "occured") or _s(obj, "occurred") or ""
    put(doc, "@timestamp", _occured(occured) or t.parse_iso(occured))
    put(doc, "observer.vendor", "ESET")
    put(doc, "observer.product", "ESET PROTECT")
    put(doc, "host.name", _s(obj, "hostname"))
    t.put_ip(doc, "host.ip", _s(obj, "ipv4") or _s(obj, "ipv6"), as_list=True)
    put(doc, "host.id", _s(obj, "source_uuid"))
    put(doc, "log.level", _s(obj, "severity"))
    etype = _s(obj, "event_type") or ""
    put(doc, "eset.event_type", etype)
    user = _s(obj, "username") or ""
    if "\\" in user:
        dom, _, name = user.partition("\\")
        put(doc, "user.domain", dom)
        put(doc, "user.name", name)
    else:
        put(doc, "user.name", user)
    proc = _s(obj, "processname")
    if proc:
        put(doc, "process.executable", proc)
        put(doc, "process.name", proc.replace("\\", "/").rsplit("/", 1)[-1])
    if etype == "Threat_Event":
        put(doc, "event.kind", "alert")
        put(doc, "event.category", ["malware"])
        put(doc, "event.type", ["info"])
        put(doc, "rule.name", _s(obj, "threat_name"))
        put(doc, "threat.indicator.type", _s(obj, "threat_type"))
        put(doc, "eset.threat_type", _s(obj, "threat_type"))
        uri = _s(obj, "object_uri") or ""
        path = unquote(uri[len("file://"):]) if uri.startswith("file://") else uri
        if len(path) > 3 and path[0] == "/" and path[2] == ":":
            path = path[1:]  # file:///C:/x -> C:/x
        if path:
            put(doc, "file.path", path.replace("/", "\\") if len(path) > 1 and path[1] == ":" else path)
            put(doc, "file.name", path.replace("\\", "/").rsplit("/", 1)[-1])
        digest = (_s(obj, "hash") or "").lower()
        put(doc, "file.hash." + {40: "sha1", 64: "sha256", 32: "md5"}.get(len(digest), "unknown"),
            digest or None)
        handled = obj.get("threat_handled")
        action = _s(obj, "action_taken") or ""
        put(doc, "event.action", t.av_action(action) if handled is not False else "malware-detected")
        put(doc, "eset.action_taken", action)
        put(doc, "eset.threat_handled", handled if isinstance(handled, bool) else None)
        put(doc, "eset.scanner", _s(obj, "scanner_id") or _s(obj, "scan_id"))
        put(doc, "eset.engine_version", _s(obj, "engine_version"))
        put(doc, "message", _s(obj, "circumstances"))
    else:
        put(doc, "event.kind", "event")
        put(doc, "event.category", ["malware"] if "Threat" in etype else ["host"])
        put(doc, "event.type", ["info"])
        put(doc, "event.action", etype.lower().replace("_event", "").replace("_", "-") or None)
        put(doc, "rule.name", _s(obj, "rule_name") or _s(obj, "threat_name"))
        t.endpoint(doc, "source", _s(obj, "source_address"), _s(obj, "source_port"))
        t.endpoint(doc, "destination", _s(obj, "target_address"), _s(obj, "target_port"))
        put(doc, "message", _s(obj, "event") or _s(obj, "detail"))
    return doc


parse_line = t.line_parser("eset", "av", parse)
parse_stream = t.stream_parser(parse_line)
