"""What Kibana's detection rule import API requires of a query or threshold rule, written down
from its published rule schema (Kibana 9, security_solution rule_schema): required fields, their
types and the enumerations the API rejects values outside of. `problems(rule)` lists every way
one exported rule breaks it (empty: Kibana accepts it)."""

from __future__ import annotations

import re
from typing import Any

SEVERITIES = {"low", "medium", "high", "critical"}
LANGUAGES = {"kuery", "lucene"}
TYPES = {"query", "threshold"}  # the two rule types logwarden exports
_DATE_MATH = re.compile(r"now(-\d+[smhd])?\Z")
_DURATION = re.compile(r"\d+[smhd]\Z")
_STRING_LISTS = ("tags", "index", "author", "false_positives", "references")


def _threat_problems(threat: Any) -> list[str]:
    out: list[str] = []
    if not isinstance(threat, list):
        return ["threat is not a list"]
    for entry in threat:
        if not isinstance(entry, dict) or not entry.get("framework") or not isinstance(entry.get("tactic"), dict):
            out.append(f"threat entry without framework/tactic: {entry!r}")
            continue
        for key in ("id", "name", "reference"):
            if not isinstance(entry["tactic"].get(key), str) or not entry["tactic"][key]:
                out.append(f"tactic without {key}: {entry['tactic']!r}")
        for tech in entry.get("technique", []):
            for key in ("id", "name", "reference"):
                if not isinstance(tech.get(key), str) or not tech[key]:
                    out.append(f"technique without {key}: {tech!r}")
            for sub in tech.get("subtechnique", []):
                for key in ("id", "name", "reference"):
                    if not isinstance(sub.get(key), str) or not sub[key]:
                        out.append(f"subtechnique without {key}: {sub!r}")
                if not str(sub.get("id", "")).startswith(str(tech.get("id")) + "."):
                    out.append(f"subtechnique {sub.get('id')} under {tech.get('id')}")
    return out


def problems(rule: dict[str, Any]) -> list[str]:
    """Every way `rule` breaks the import schema."""
    out: list[str] = []
    for key in ("rule_id", "name", "description", "type"):
        if not isinstance(rule.get(key), str) or not rule[key].strip():
            out.append(f"{key} missing or empty")
    if rule.get("type") not in TYPES:
        out.append(f"type {rule.get('type')!r}")
    if rule.get("severity") not in SEVERITIES:
        out.append(f"severity {rule.get('severity')!r}")
    score = rule.get("risk_score")
    if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 100:
        out.append(f"risk_score {score!r}")
    if rule.get("language", "kuery") not in LANGUAGES:
        out.append(f"language {rule.get('language')!r}")
    if not isinstance(rule.get("query", ""), str):
        out.append("query is not a string")
    for key in _STRING_LISTS:
        value = rule.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            out.append(f"{key} is not a list of strings")
    if not rule.get("index"):
        out.append("no index patterns (Kibana would search its default indices)")
    if not isinstance(rule.get("filters", []), list):
        out.append("filters is not a list")
    if not _DATE_MATH.match(str(rule.get("from", "now-6m"))):
        out.append(f"from {rule.get('from')!r}")
    if not _DURATION.match(str(rule.get("interval", "5m"))):
        out.append(f"interval {rule.get('interval')!r}")
    version = rule.get("version", 1)
    if not isinstance(version, int) or version < 1:
        out.append(f"version {version!r}")
    signals = rule.get("max_signals", 100)
    if not isinstance(signals, int) or signals < 1:
        out.append(f"max_signals {signals!r}")
    out.extend(_threat_problems(rule.get("threat", [])))
    if rule.get("type") == "threshold":
        th = rule.get("threshold")
        if not isinstance(th, dict):
            out.append("threshold missing")
        else:
            fld = th.get("field")
            if not (isinstance(fld, str) or (isinstance(fld, list) and all(isinstance(f, str) for f in fld))):
                out.append(f"threshold.field {fld!r}")
            if not isinstance(th.get("value"), int) or th["value"] < 1:
                out.append(f"threshold.value {th.get('value')!r}")
            for card in th.get("cardinality", []):
                value = card.get("value")
                if not isinstance(card.get("field"), str) or not isinstance(value, int) or value < 0:
                    out.append(f"threshold.cardinality {card!r}")
    return out
