"""One pyevtx-rs style record -> the ECS document (Winlogbeat shape, decision 2 of docs/architecture.md)."""

from __future__ import annotations

import re
from typing import Any

from logwarden.shippers.base import Event, event_id
from logwarden.shippers.windows import enrich
from logwarden.shippers.windows.record import RecordError, attr, event_code, text, timestamp, to_int
from logwarden.shippers.windows.tables import (
    DEFENDER_PROVIDERS,
    KEYWORD_BITS,
    LEVELS,
    OPCODES,
    SYSMON_PROVIDER,
)

DATASET = "windows"


# key a reader sets on a record with the account Winlogbeat resolved (winlog.user name, domain,
# type): an EVTX or XML record carries only the SID, a Winlogbeat document keeps the rest
WINLOG_USER = "logwarden.winlog_user"
UNNAMED = "Data"  # event_data key of the unnamed <Data> values, as Sigma's `Data` field names them


def event_data(node: Any) -> dict[str, Any]:
    """EventData as a dict of strings: named Data, Binary, and the unnamed Data twice: as
    Winlogbeat's param1..N and as the list `Data` (every unnamed value in order), the field
    SigmaHQ's rules on such events name (MSSQL, ESENT, MSI, Application Error, Exchange)."""
    if node.__class__ is dict and "Data" not in node and "#text" not in node and "#attributes" not in node:
        # the usual shape (named Data only): one comprehension, strings kept as they are
        return {k: v if v.__class__ is str else _value(v) for k, v in node.items()
                if v is not None or k != "Binary"}
    out: dict[str, Any] = {}
    if node is None:
        return out
    if not isinstance(node, dict):  # <EventData>text</EventData>
        value = text(node)
        if value:
            out["param1"] = value
            out[UNNAMED] = [value]
        return out
    unnamed: list[str] = []
    for key, value in node.items():
        if key == "#attributes":
            continue
        if key == "Data" or key == "#text":
            items = value.get("#text") if isinstance(value, dict) and "#text" in value else value
            if not isinstance(items, list):
                items = [items]
            n = sum(1 for k in out if k.startswith("param"))
            for item in items:
                n += 1
                unnamed.append(text(item))
                out[f"param{n}"] = unnamed[-1]
            continue
        t = type(value)
        if t is str:
            out[key] = value
        elif t is int:
            out[key] = str(value)
        elif key == "Binary" and value is None:
            continue
        else:
            out[key] = [text(v) for v in value] if isinstance(value, list) else text(value)
    if unnamed:
        out[UNNAMED] = unnamed
    return out


def _value(value: Any) -> Any:
    """A named EventData value that is not a string, as event_data keeps it."""
    if value.__class__ is int:
        return str(value)
    return [text(v) for v in value] if isinstance(value, list) else text(value)


def user_data(node: Any) -> dict[str, Any]:
    """UserData's single child element, flattened like Winlogbeat (plus xml_name)."""
    if not isinstance(node, dict):
        return {}
    for name, child in node.items():
        if name == "#attributes":
            continue
        out: dict[str, Any] = {"xml_name": name}
        if isinstance(child, dict):
            for key, value in child.items():
                if key != "#attributes":
                    out[key] = [text(v) for v in value] if isinstance(value, list) else text(value)
        elif child is not None:
            out["#text"] = text(child)
        return out
    return {}


_NO_ATTRS: dict[str, Any] = {}


def _attrs(node: Any) -> dict[str, Any]:
    """The #attributes of a pyevtx-rs node, or an empty dict."""
    if type(node) is dict:
        attrs = node.get("#attributes")
        if type(attrs) is dict:
            return attrs
    return _NO_ATTRS


def _str(value: Any) -> str:
    t = type(value)
    if t is str:
        return value
    return str(value) if t is int else text(value)


_KEYWORDS_SEEN: dict[Any, list[str]] = {}


def _keywords(value: Any) -> list[str]:
    """Keywords bit mask -> the standard keyword names (cached: few distinct masks exist)."""
    try:
        return list(_KEYWORDS_SEEN[value])
    except (KeyError, TypeError):
        pass
    n = to_int(value)
    names = [name for bit, name in KEYWORD_BITS if n & bit] if n else []
    if isinstance(value, str | int) and len(_KEYWORDS_SEEN) < 4096:
        _KEYWORDS_SEEN[value] = names
    return list(names)


_MODULES: dict[tuple[str, str], tuple[str, str]] = {}


def _module(channel: str, provider: str) -> tuple[str, str]:
    """event.module / event.dataset (cached per channel and provider)."""
    key = (channel, provider)
    found = _MODULES.get(key)
    if found is None:
        found = _module_of(channel, provider)
        if len(_MODULES) < 4096:
            _MODULES[key] = found
    return found


def _module_of(channel: str, provider: str) -> tuple[str, str]:
    """event.module / event.dataset as Elastic's integrations name them."""
    if channel == "Security":
        return "system", "system.security"
    if channel == "System":
        return "system", "system.system"
    if channel == "Application":
        return "system", "system.application"
    if provider == SYSMON_PROVIDER:
        return "windows", "windows.sysmon_operational"
    if provider in DEFENDER_PROVIDERS:
        return "windows", "windows.defender"
    if channel == "Microsoft-Windows-PowerShell/Operational":
        return "windows", "windows.powershell_operational"
    if channel == "Windows PowerShell":
        return "windows", "windows.powershell"
    if channel == "ForwardedEvents":
        return "windows", "windows.forwarded"
    return "windows", "windows.windows"


def normalise(event: dict[str, Any], source: str = "") -> dict[str, Any]:
    """A record ({"Event": {"System": ..., "EventData"/"UserData": ...}}) -> its ECS document.

    Raises RecordError when the record is not a Windows event (no System / EventID / time).
    """
    ev = event.get("Event", event) if isinstance(event, dict) else None
    if not isinstance(ev, dict):
        raise RecordError("not an event object")
    system = ev.get("System")
    if not isinstance(system, dict):
        raise RecordError("record has no System element")
    code = event_code(system.get("EventID"))
    ts = timestamp(attr(system.get("TimeCreated"), "SystemTime"))
    prov = _attrs(system.get("Provider"))
    provider = text(prov.get("Name") or prov.get("EventSourceName"))
    channel = _str(system.get("Channel"))
    computer = _str(system.get("Computer"))
    module, dataset = _module(channel, provider)

    winlog: dict[str, Any] = {
        "channel": channel,
        "event_id": code,
        "provider_name": provider,
        "computer_name": computer,
        "record_id": _str(system.get("EventRecordID")),
    }
    guid = prov.get("Guid")
    if guid:
        winlog["provider_guid"] = text(guid)
    execution = _attrs(system.get("Execution"))
    pid, tid = to_int(execution.get("ProcessID")), to_int(execution.get("ThreadID"))
    if pid is not None or tid is not None:
        process: dict[str, Any] = {}
        if pid is not None:
            process["pid"] = pid
        if tid is not None:
            process["thread"] = {"id": tid}
        winlog["process"] = process
    sid = attr(system.get("Security"), "UserID")
    if sid:
        winlog["user"] = {"identifier": text(sid)}
    resolved = event.get(WINLOG_USER)
    if type(resolved) is dict:
        winlog.setdefault("user", {}).update(resolved)
    correlation = _attrs(system.get("Correlation"))
    activity, related = correlation.get("ActivityID"), correlation.get("RelatedActivityID")
    if activity:
        winlog["activity_id"] = text(activity)
    if related:
        winlog["related_activity_id"] = text(related)
    keywords = _keywords(system.get("Keywords"))
    if keywords:
        winlog["keywords"] = keywords
    opcode = system.get("Opcode")
    if opcode is not None:
        opcode = _str(opcode)
        winlog["opcode"] = OPCODES.get(opcode, opcode)
    version = to_int(system.get("Version"))
    if version is not None:
        winlog["version"] = version
    data = event_data(ev.get("EventData"))
    if data:
        winlog["event_data"] = data
    udata = user_data(ev.get("UserData"))
    if udata:
        winlog["user_data"] = udata

    doc: dict[str, Any] = {
        "@timestamp": ts,
        "event": {
            "code": code,
            "provider": provider,
            "kind": "event",
            "module": module,
            "dataset": dataset,
        },
        "winlog": winlog,
        "log": {"level": LEVELS.get(_str(system.get("Level")), "information")},
        "host": {"name": computer, "os": {"type": "windows", "family": "windows"}},
    }
    if source:
        doc["log"]["file"] = {"path": source}
    rendering = ev.get("RenderingInfo")
    if type(rendering) is dict and rendering.get("Message"):
        doc["message"] = text(rendering["Message"])  # rendered exports (wevtutil /rd:true, Winlogbeat)
    enrich.enrich(doc, winlog, keywords)
    return doc


def to_event(doc: dict[str, Any], position: int) -> Event:
    """The Event for a normalised document; its id is the same whatever format the record came in.

    The id is not written into the document (`logwarden parse --with-id` adds event.id)."""
    w = doc["winlog"]
    host = doc["host"]["name"]
    # event_id(a, b, ...) hashes "a\x1fb\x1f...": the parts joined by that separator hash the same
    # (every part is a str here), with one hash update instead of six
    eid = event_id(ID_SEPARATOR.join((host, w["channel"], w["record_id"], id_time(doc["@timestamp"]),
                                      w["provider_name"], w["event_id"])))
    return Event(id=eid, dataset=DATASET, key=host, doc=doc, position=position)


ID_SEPARATOR = "\x1f"  # what logwarden.shippers.base.event_id writes after each part


_FRACTION = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)\Z")


def id_time(timestamp: str) -> str:
    """`timestamp` cut to milliseconds, as it goes into the event id: Windows writes 100 ns,
    Winlogbeat and Elastic Agent keep milliseconds, and one event shipped both ways must get one
    id (a record id within a channel of a host is unique anyway)."""
    if len(timestamp) == 28 and timestamp[19] == "." and timestamp[27] == "Z" and timestamp[20:27].isdigit():
        return timestamp[:23] + "Z"  # the form normalise writes (record.timestamp): 7 digits, Z
    m = _FRACTION.match(timestamp)
    if m is None:
        return timestamp
    return f"{m.group(1)}.{(m.group(2) or '').ljust(3, '0')[:3]}{m.group(3)}"


__all__ = ["RecordError", "normalise", "to_event"]
