"""Symantec Endpoint Protection Manager (SEPM) syslog export.

Risk lines: `SymantecServer: Virus found,IP Address: ...,Computer name: ...,Source: ...,
Risk name: ...,Occurrences: ...,<file path>,<description>,Actual action: ...,Event time: ...,User Name: ...`
(SEPM writes the path and description unlabelled; a `File path:` label is read too).
The first item is the event description; the rest are `Name: value` items separated by commas
(a comma inside a value is kept: items split only before `, Known Name:`-shaped text). Risk
events (description mentions risk/virus, or a `Risk name` is present) are alerts; other SEPM
lines with `Name: value` items are plain events. Event time has no zone: configured zone.
"""

from __future__ import annotations

import re
from typing import Any

from logwarden.shippers import textlog as t
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

_ITEM = re.compile(r",(?=[A-Z][A-Za-z0-9 ()/._-]{0,40}: )")
_TIME_FMTS = ("%Y-%m-%d %H:%M:%S",)


def _items(text: str) -> tuple[str, dict[str, str]]:
    parts = _ITEM.split(text)
    head = parts[0].strip()
    kv: dict[str, str] = {}
    for p in parts[1:]:
        key, _, value = p.partition(": ")
        kv[key.strip()] = value.strip()
    if ": " in head and not kv:
        key, _, value = head.partition(": ")
        kv[key.strip()] = value.strip()
        head = ""
    return head, kv


def _unlabelled_path(kv: dict[str, str]) -> None:
    """SEPM's risk log writes the file path and the description without a label, right after
    `Occurrences` (`Occurrences: 1,C:\\x\\eight.exe,,Actual action: ...`): the item split glues them to it."""
    occurrences = kv.get("Occurrences", "")
    if "File path" in kv or "," not in occurrences:
        return
    count, _, rest = occurrences.partition(",")
    path, _, description = rest.partition(",")
    kv["Occurrences"] = count.strip()
    if path.strip():
        kv["File path"] = path.strip()
    if description.strip():
        kv.setdefault("Description", description.strip())


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    text = msg.strip()
    if text.startswith("SymantecServer"):
        text = text.split(":", 1)[1].strip()
    head, kv = _items(text)
    _unlabelled_path(kv)
    app = (hdr.app or "") if hdr else ""
    if len(kv) < 2 and "Symantec" not in app:
        raise ParseError("not a SEPM syslog line (no `Name: value` items)")
    doc: dict[str, Any] = {}
    put(doc, "@timestamp", t.parse_time(kv.get("Event time", "") or kv.get("Begin", ""), _TIME_FMTS))
    put(doc, "observer.vendor", "Symantec")
    put(doc, "observer.product", "Endpoint Protection")
    put(doc, "observer.name", kv.get("Server Name") or kv.get("Server") or (hdr.hostname if hdr else None))
    put(doc, "host.name", kv.get("Computer name") or kv.get("Computer"))
    t.put_ip(doc, "host.ip", kv.get("IP Address"), as_list=True)
    user = kv.get("User Name") or kv.get("User")
    put(doc, "user.name", user if user and user.lower() != "none" else None)
    put(doc, "user.domain", kv.get("Domain Name"))
    risk = kv.get("Risk name")
    is_risk = bool(risk) or bool(re.search(r"risk|virus", head, re.I))
    put(doc, "symantec.event", head)
    put(doc, "symantec.source", kv.get("Source"))
    put(doc, "symantec.group", kv.get("Group Name") or kv.get("Group"))
    if is_risk:
        put(doc, "event.kind", "alert")
        put(doc, "event.type", ["info"])
        put(doc, "rule.name", risk)
        path = kv.get("File path")
        put(doc, "file.path", path)
        put(doc, "file.name", re.split(r"[\\/]", path)[-1] if path else None)
        digest = (kv.get("Application hash") or "").lower()
        kind = {64: "sha256", 40: "sha1", 32: "md5"}.get(len(digest))
        put(doc, f"file.hash.{kind}", digest if kind else None)
        put(doc, "file.size", t.to_int(kv.get("File size (bytes)")))
        actual = kv.get("Actual action")
        put(doc, "event.action", actual or t.av_action(actual))  # as written, as Elastic's pipeline
        put(doc, "symantec.actual_action", actual)
        put(doc, "symantec.requested_action", kv.get("Requested action"))
        put(doc, "symantec.secondary_action", kv.get("Secondary action"))
        put(doc, "symantec.category_type", kv.get("Category type"))
    else:
        put(doc, "event.kind", "event")
        put(doc, "event.category", ["host"])
        put(doc, "event.type", ["info"])
        put(doc, "event.action", re.sub(r"[^a-z0-9]+", "-", head.lower()).strip("-")[:64] or "sepm-event")
    put(doc, "message", head or None)
    return doc


parse_line = t.line_parser("symantec", "av", parse, ecs_dataset="symantec_endpoint.log")
parse_stream = t.stream_parser(parse_line)
