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
from logwarden.shippers.textlog import ParseError, SyslogHeader

# one item separator: `,` then a `Known Name: ` (up to 41 name characters, no colon among them, so the
# `: ` is the first in the item); the name is the group, so a split gives head, name, value, name, value, ...
_ITEM = re.compile(r",([A-Z][A-Za-z0-9 ()/._-]{0,40}): ")
_TIME_FMTS = ("%Y-%m-%d %H:%M:%S",)
_RISK = re.compile(r"risk|virus", re.I)
_PATH_SEP = re.compile(r"[\\/]")
_NOT_ACTION = re.compile(r"[^a-z0-9]+")


def _items(text: str) -> tuple[str, dict[str, str]]:
    """(the first item, {name: value}) of a stripped line; names and values without the
    whitespace around them, the last of a repeated name wins."""
    parts = _ITEM.split(text)
    head = parts[0].strip()
    kv = {key.strip(): value.strip() for key, value in zip(parts[1::2], parts[2::2], strict=True)}
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
    g = kv.get
    # written where they go, "" absent as `put` has it (a put per field was most of the cost)
    doc: dict[str, Any] = {}
    stamp = t.parse_time(g("Event time", "") or g("Begin", ""), _TIME_FMTS)
    if stamp:
        doc["@timestamp"] = stamp
    observer = {"vendor": "Symantec", "product": "Endpoint Protection"}
    value = g("Server Name") or g("Server") or (hdr.hostname if hdr else None)
    if value:
        observer["name"] = value
    doc["observer"] = observer
    value = g("Computer name") or g("Computer")
    if value:
        doc["host"] = {"name": value}
    if "IP Address" in kv:
        t.put_ip(doc, "host.ip", kv["IP Address"], as_list=True)
    user: dict[str, Any] = {}
    value = g("User Name") or g("User")
    if value and value.lower() != "none":
        user["name"] = value
    value = g("Domain Name")
    if value:
        user["domain"] = value
    if user:
        doc["user"] = user
    risk = g("Risk name")
    is_risk = bool(risk) or bool(_RISK.search(head))
    symantec: dict[str, Any] = {}
    if head:
        symantec["event"] = head
    value = g("Source")
    if value:
        symantec["source"] = value
    value = g("Group Name") or g("Group")
    if value:
        symantec["group"] = value
    ev: dict[str, Any] = {}
    doc["event"] = ev
    if is_risk:
        ev["kind"] = "alert"
        ev["type"] = ["info"]
        if risk:
            doc["rule"] = {"name": risk}
        file: dict[str, Any] = {}
        path = g("File path")
        if path:
            file["path"] = path
            value = _PATH_SEP.split(path)[-1]
            if value:
                file["name"] = value
        digest = (g("Application hash") or "").lower()
        kind = _HASH_KINDS.get(len(digest))
        if kind:
            file["hash"] = {kind: digest}
        size = t.to_int(g("File size (bytes)"))
        if size is not None:
            file["size"] = size
        if file:
            doc["file"] = file
        actual = g("Actual action")
        ev["action"] = actual or t.av_action(actual)  # as written, as Elastic's pipeline
        for leaf, key in _ACTIONS:
            value = g(key)
            if value:
                symantec[leaf] = value
    else:
        ev["kind"] = "event"
        ev["category"] = ["host"]
        ev["type"] = ["info"]
        ev["action"] = _NOT_ACTION.sub("-", head.lower()).strip("-")[:64] or "sepm-event"
    if symantec:
        doc["symantec"] = symantec
    if head:
        doc["message"] = head
    return doc


_HASH_KINDS = {64: "sha256", 40: "sha1", 32: "md5"}
_ACTIONS = (("actual_action", "Actual action"), ("requested_action", "Requested action"),
            ("secondary_action", "Secondary action"), ("category_type", "Category type"))


parse_line = t.line_parser("symantec", "av", parse, ecs_dataset="symantec_endpoint.log")
parse_stream = t.stream_parser(parse_line)
