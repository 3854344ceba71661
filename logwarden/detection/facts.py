"""The facts behind an alert: which fields of the contributing event an alert copies, and the
sentence a person reads (`event.reason`, `message`).

The copy list is declared per ECS `event.category` of the event (plus one list for every
event), never per rule: a new rule gets the same facts as the rules of its kind. Each alert
field takes the first non-empty event field of its list, so Windows event data
(`winlog.event_data.*`) fills the gap where a shipper had no ECS name for it. Values stay the
raw data (Elasticsearch stores what the log said); whoever shows them to a person escapes them.

Where an event came from (`logwarden.source.*`) is the runner's to say: hunt knows the file and
record, stream the topic, partition and offset, detect the index and `_id`.
"""

from __future__ import annotations

from typing import Any

from .evaluate import Flat

FactList = dict[str, tuple[str, ...]]  # alert field -> event fields, first non-empty wins

EVERY_EVENT: FactList = {
    "user.name": ("user.name", "winlog.event_data.TargetUserName", "winlog.event_data.SubjectUserName"),
    "user.domain": ("user.domain", "winlog.event_data.TargetDomainName", "winlog.event_data.SubjectDomainName"),
    "source.ip": ("source.ip",),
    "source.domain": ("source.domain", "winlog.event_data.WorkstationName"),
}
BY_CATEGORY: dict[str, FactList] = {
    "authentication": {
        "source.port": ("source.port",),
        "winlog.logon.type": ("winlog.logon.type", "winlog.event_data.LogonType"),
    },
    "process": {
        "process.executable": ("process.executable", "winlog.event_data.NewProcessName", "winlog.event_data.Image"),
        "process.command_line": ("process.command_line", "winlog.event_data.CommandLine"),
        "process.parent.executable": ("process.parent.executable", "winlog.event_data.ParentImage"),
    },
    "file": {
        "file.path": ("file.path", "winlog.event_data.TargetFilename"),
    },
    "configuration": {
        "service.name": ("service.name", "winlog.event_data.ServiceName"),
        "winlog.event_data.ImagePath": ("winlog.event_data.ImagePath",),
    },
    "iam": {
        "service.name": ("service.name", "winlog.event_data.ServiceName"),
        "winlog.event_data.ImagePath": ("winlog.event_data.ImagePath",),
    },
    "malware": {
        "threat.software.name": ("winlog.event_data.Threat Name", "rule.name"),
        "file.path": ("file.path", "winlog.event_data.Path"),
        "process.executable": ("process.executable", "winlog.event_data.Process Name"),
    },
    "intrusion_detection": {
        "threat.software.name": ("winlog.event_data.Threat Name", "rule.name"),
        "file.path": ("file.path", "winlog.event_data.Path"),
    },
    "network": {
        "destination.ip": ("destination.ip",),
        "destination.port": ("destination.port",),
        "network.transport": ("network.transport",),
        "event.action": ("event.action",),
    },
}
# Events whose category the shipper does not set still carry facts under these names: a
# service-install event (7045) with no category keeps its service name and image path.
WHEN_PRESENT: FactList = {
    "service.name": ("winlog.event_data.ServiceName",),
    "winlog.event_data.ImagePath": ("winlog.event_data.ImagePath",),
    "process.executable": ("process.executable",),
    "process.command_line": ("process.command_line",),
    "file.path": ("file.path",),
}
MAX_FACT_CHARS = 2000  # a command line longer than this is cut (the event keeps all of it)
UNSET = frozenset({"", "-", "null", "(null)"})  # Windows writes "-" for "no value"


def _value(flat: Flat, fields: tuple[str, ...]) -> Any:
    for f in fields:
        v = flat.get(f)
        if isinstance(v, list):
            v = next((x for x in v if x not in (None, "")), None)
        if v is None or (isinstance(v, str) and v.strip() in UNSET):
            continue
        if isinstance(v, str) and len(v) > MAX_FACT_CHARS:
            v = v[:MAX_FACT_CHARS] + "..."
        return v
    return None


def _categories(flat: Flat) -> list[str]:
    cat = flat.get("event.category")
    if isinstance(cat, str):
        return [cat]
    if isinstance(cat, list):
        return [c for c in cat if isinstance(c, str)]
    return []


def event_facts(flat: Flat) -> dict[str, Any]:
    """{alert field (dotted): value} copied from one flattened event by the declared lists;
    fields the event does not have are left out."""
    lists = [EVERY_EVENT, WHEN_PRESENT] + [BY_CATEGORY[c] for c in _categories(flat) if c in BY_CATEGORY]
    out: dict[str, Any] = {}
    for fact_list in lists:
        for target, fields in fact_list.items():
            if target in out:
                continue
            v = _value(flat, fields)
            if v is not None:
                out[target] = v
    return out


def put_dotted(doc: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b.c` in nested dicts, leaving what is already there beside it; the last part may
    itself hold dots for Windows event data names (`winlog.event_data.Threat Name`)."""
    if dotted.startswith("winlog.event_data."):
        parts = ["winlog", "event_data", dotted[len("winlog.event_data."):]]
    else:
        parts = dotted.split(".")
    node = doc
    for p in parts[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    node.setdefault(parts[-1], value)


def origin_text(origin: dict[str, Any]) -> str:
    """Where an event came from, for a person: `file record N`, `topic/partition@offset` or
    `index/_id`; "" when unknown."""
    if "file" in origin:
        rec = origin.get("record")
        return f"{origin['file']}" + (f" record {rec}" if rec not in (None, "") else "")
    if "topic" in origin:
        return f"{origin['topic']}/{origin.get('partition', '?')}@{origin.get('offset', '?')}"
    if "index" in origin:
        return f"{origin['index']}/{origin.get('id', '?')}"
    return ""


def sentence(facts: dict[str, Any], host: str, origin: dict[str, Any] | None = None) -> str:
    """The facts as one line a person reads: who, from where, on what, what, where from.
    Returns "" when there is nothing to say."""
    parts: list[str] = []
    user, domain = facts.get("user.name"), facts.get("user.domain")
    if user:
        parts.append(f"user {domain}\\{user}" if domain else f"user {user}")
    src, ws = facts.get("source.ip"), facts.get("source.domain")
    if src or ws:
        parts.append("from " + " ".join(str(x) for x in (src, f"({ws})" if src and ws else ws) if x))
    if host:
        parts.append(f"on {host}")
    if facts.get("process.executable") or facts.get("process.command_line"):
        exe, cmd = facts.get("process.executable"), facts.get("process.command_line")
        parts.append("process " + (f"{exe}: {cmd}" if exe and cmd else str(exe or cmd)))
    if facts.get("service.name"):
        img = facts.get("winlog.event_data.ImagePath")
        parts.append(f"service {facts['service.name']}" + (f" ({img})" if img else ""))
    if facts.get("threat.software.name"):
        parts.append(f"threat {facts['threat.software.name']}")
    if facts.get("file.path"):
        parts.append(f"file {facts['file.path']}")
    if facts.get("destination.ip"):
        port = facts.get("destination.port")
        parts.append(f"to {facts['destination.ip']}" + (f":{port}" if port else ""))
    where = origin_text(origin or {})
    if where:
        parts.append(f"[{where}]")
    return ", ".join(parts)
