"""Alert documents (ECS): the same shape and the same deterministic id from every engine.

    @timestamp            time of the (last) contributing event
    event.kind=alert, event.id (deterministic), event.severity (0-100), event.reason
    rule.id/name/description/uuid, sigma.level, sigma.type (rule | <correlation type>)
    threat.*              from attack.* tags
    host.name, sigma.events (contributing event ids), sigma.group / sigma.count (correlations)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from logwarden.shippers.base import dumps, event_id

from .correlate import Fired, fired_id
from .evaluate import Flat
from .model import BaseRule, RuleMeta

SEVERITY = {"informational": 21, "low": 21, "medium": 47, "high": 73, "critical": 99}
TACTICS = {
    "reconnaissance": "TA0043", "resource-development": "TA0042", "initial-access": "TA0001",
    "execution": "TA0002", "persistence": "TA0003", "privilege-escalation": "TA0004",
    "defense-evasion": "TA0005", "credential-access": "TA0006", "discovery": "TA0007",
    "lateral-movement": "TA0008", "collection": "TA0009", "command-and-control": "TA0011",
    "exfiltration": "TA0010", "impact": "TA0040",
}
MAX_EVENT_IDS = 200


def _parse_time(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value) / (1000.0 if value > 1e11 else 1.0)
    if isinstance(value, str) and value:
        s = value.strip().replace("Z", "+00:00")
        m = re.match(r"^(.*?\.\d{6})\d+(.*)$", s)  # fromisoformat takes at most microseconds
        if m:
            s = m.group(1) + m.group(2)
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            return 0.0
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    return 0.0


def doc_time(flat: Flat) -> float:
    return _parse_time(flat.get("@timestamp"))


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def doc_host(flat: Flat) -> str:
    for f in ("host.name", "winlog.computer_name", "observer.name", "host.hostname"):
        v = flat.get(f)
        if isinstance(v, str) and v:
            return v
    return ""


def doc_id(doc: dict[str, Any], flat: Flat | None = None) -> str:
    """The event's deterministic id: event.id when the shipper set it, else a content hash."""
    flat = flat if flat is not None else {}
    ev = doc.get("event") if isinstance(doc.get("event"), dict) else {}
    v = ev.get("id") if isinstance(ev, dict) else None
    if isinstance(v, str) and v:
        return v
    return event_id("doc", dumps(doc))


def threat(tags: list[str]) -> dict[str, Any]:
    techniques: list[str] = []
    tactics: list[str] = []
    for t in tags:
        t = t.lower()
        if not t.startswith("attack."):
            continue
        name = t[len("attack."):]
        if re.fullmatch(r"t\d{4}(\.\d{3})?", name):
            techniques.append(name.upper())
        elif name in TACTICS:
            tactics.append(name)
    if not techniques and not tactics:
        return {}
    out: dict[str, Any] = {"framework": "MITRE ATT&CK"}
    if techniques:
        out["technique"] = {"id": techniques}
    if tactics:
        out["tactic"] = {"name": tactics, "id": [TACTICS[t] for t in tactics]}
    return out


def _base(rule: RuleMeta, ts: float, aid: str, host: str, kind: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@timestamp": iso(ts),
        "event": {
            "kind": "alert",
            "id": aid,
            "dataset": "alerts",
            "severity": SEVERITY.get(rule.level, 47),
            "reason": rule.title,
        },
        "rule": {
            "id": rule.id,
            "uuid": rule.id,
            "name": rule.title,
            "description": rule.description,
            "ruleset": "sigma",
        },
        "sigma": {"level": rule.level, "type": kind, "name": rule.name or ""},
        "tags": list(rule.tags),
    }
    if host:
        doc["host"] = {"name": host}
    th = threat(rule.tags)
    if th:
        doc["threat"] = th
    return doc


def alert_for_match(rule: BaseRule, flat: Flat, eid: str) -> dict[str, Any]:
    ts = doc_time(flat)
    aid = event_id("alert", rule.id, eid)
    doc = _base(rule, ts, aid, doc_host(flat), "rule")
    doc["sigma"]["events"] = [eid]
    doc["sigma"]["count"] = 1
    reasons = [f"{f}={flat[f]}" for f in rule.fields if flat.get(f) not in (None, "", [])]
    if reasons:
        doc["event"]["reason"] = f"{rule.title}: {', '.join(reasons)}"
    return doc


def alert_for_fired(f: Fired) -> dict[str, Any]:
    c = f.correlation
    doc = _base(c, f.ts, fired_id(f), f.host, c.type)
    doc["sigma"]["events"] = f.event_ids[:MAX_EVENT_IDS]
    doc["sigma"]["count"] = f.count
    doc["sigma"]["group"] = dict(f.group)
    key = ", ".join(f"{k}={v}" for k, v in f.group.items())
    doc["event"]["reason"] = f"{c.title}: {key} ({f.count})" if key else f"{c.title} ({f.count})"
    return doc


def verdict(alert: dict[str, Any]) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """What the differential test compares: (rule id, alert id, group)."""
    sig = alert.get("sigma", {})
    return (alert["rule"]["id"], alert["event"]["id"], tuple(sorted(sig.get("group", {}).items())))
