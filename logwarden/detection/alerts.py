"""Alert documents (ECS): the same shape and the same deterministic id from every engine.

    @timestamp            time of the contributing event (a correlation: its first one,
                          event.start / event.end: the episode's first and last so far)
    event.kind=alert, event.id (deterministic), event.severity (0-100), event.reason
    rule.id/name/description/uuid, sigma.level, sigma.type (rule | <correlation type>)
    threat.*              from attack.* tags
    host.name, sigma.events (contributing event ids), sigma.group / sigma.count (correlations)
    user.*, source.*, process.*, service.name, file.path, threat.software.name ...
                          the facts of the (last) contributing event, copied by `facts.py`'s
                          declared lists; `event.reason` says them in one line, `message`
                          is the title and that line
    logwarden.source.*    where the (last) contributing event came from (file + record,
                          topic + partition + offset, index + _id)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from logwarden.shippers.base import dumps, event_id

from .attack import tactic_id, tagged
from .correlate import Fired, fired_id
from .evaluate import Flat
from .facts import event_facts, put_dotted, sentence
from .model import BaseRule, RuleMeta

SEVERITY = {"informational": 21, "low": 21, "medium": 47, "high": 73, "critical": 99}
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
    """ECS `threat.*` from a rule's `attack.*` tags, read by `attack.tagged` (the Kibana export's
    reading): technique ids, and tactic shortnames and ids, tagged or implied by a technique;
    {} when the rule has no ATT&CK tag."""
    resolved = tagged(tags)
    if not resolved.techniques and not resolved.tactics:
        return {}
    out: dict[str, Any] = {"framework": "MITRE ATT&CK"}
    if resolved.techniques:
        out["technique"] = {"id": resolved.techniques}
    if resolved.tactics:
        out["tactic"] = {"name": resolved.tactics, "id": [tactic_id(t) for t in resolved.tactics]}
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


def _add_facts(doc: dict[str, Any], rule: RuleMeta, facts: dict[str, Any], lead: str,
               origin: dict[str, Any] | None) -> None:
    """Copy `facts` into the alert (never over what the alert already set) and write the
    reason (`lead` first, then the facts) and the message (title: reason)."""
    for dotted, value in facts.items():
        put_dotted(doc, dotted, value)
    if origin:
        doc.setdefault("logwarden", {})["source"] = dict(origin)
    said = sentence(facts, str((doc.get("host") or {}).get("name") or ""), origin)
    reason = "; ".join(x for x in (lead, said) if x) or "no facts in the event"
    doc["event"]["reason"] = reason
    doc["message"] = f"{rule.title}: {reason}"


def alert_for_match(rule: BaseRule, flat: Flat, eid: str, origin: dict[str, Any] | None = None) -> dict[str, Any]:
    """The alert for one event matching one rule. `origin`: where the event came from
    (`logwarden.source.*`: file/record, topic/partition/offset or index/id)."""
    ts = doc_time(flat)
    aid = event_id("alert", rule.id, eid)
    doc = _base(rule, ts, aid, doc_host(flat), "rule")
    doc["sigma"]["events"] = [eid]
    doc["sigma"]["count"] = 1
    facts = event_facts(flat)
    said = {str(v) for v in facts.values()}
    extra = [f"{f}={flat[f]}" for f in rule.fields
             if f not in facts and flat.get(f) not in (None, "", []) and str(flat[f]) not in said]
    _add_facts(doc, rule, facts, ", ".join(extra), origin)
    return doc


def alert_for_fired(f: Fired, last: Flat | None = None, origin: dict[str, Any] | None = None) -> dict[str, Any]:
    """The alert for a correlation that fired. `last`: the flattened last contributing event
    when the runner still has it (its facts are copied), `origin`: where that event came from."""
    c = f.correlation
    # dated by the episode's start: every version lands in the same daily index, same _id
    doc = _base(c, f.first or f.ts, fired_id(f), f.host, c.type)
    doc["sigma"]["events"] = f.event_ids[:MAX_EVENT_IDS]
    doc["sigma"]["count"] = f.count
    doc["sigma"]["group"] = dict(f.group)
    doc["event"]["start"] = iso(f.first or f.ts)
    doc["event"]["end"] = iso(f.ts)
    key = ", ".join(f"{k}={v}" for k, v in f.group.items())
    span = f" from {iso(f.first)} to {iso(f.ts)}" if f.first and f.first < f.ts else ""
    lead = f"{f.count} events" + (f" with {key}" if key else "") + span
    facts = event_facts(last) if last is not None else {}
    for k, v in f.group.items():  # the group's values are facts of every contributing event
        facts.setdefault(k, v)
    _add_facts(doc, c, facts, lead, origin)
    return doc


def verdict(alert: dict[str, Any]) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """What the differential test compares: (rule id, alert id, group)."""
    sig = alert.get("sigma", {})
    return (alert["rule"]["id"], alert["event"]["id"], tuple(sorted(sig.get("group", {}).items())))
