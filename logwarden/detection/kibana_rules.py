"""Kibana detection rules (the NDJSON that Kibana's rule import API reads) built from the
compiled rule set, with the es engine's own query builder.

Why not pySigma's `siem_rule_ndjson` output: it needs ATT&CK data from the network on first use
(offline it wrote nothing), keeps Sigma's `informational` severity (Kibana accepts low, medium,
high, critical), searches the backend's default indices, compares ip fields with `-` (the query
fails at every run), passes Python regex syntax to Lucene, and pairs tactics with techniques by
position. Here each rule's filter is the DSL query `detect` itself runs (es.QueryBuilder over the
same IR), so Kibana and the es engine search the same documents; the ATT&CK names come from
the packaged data/attack.json.

Keyword rules query the template's catch-all field (schema_template.ALL_VALUES_FIELD), as
`detect` does, so Kibana finds a keyword inside any value too (before it, a keyword-only rule
was exported as match-all: an alert on every event).
What Kibana cannot express exactly is said, never hidden: a rule whose query the es engine
widens and confirms in process (some regexes, cased keywords, long values) is exported with the
`logwarden: approximate` tag and a note (Kibana alerts on the wider query); correlations become
threshold rules where Kibana's threshold type has the same meaning (event_count and value_count
with `gte`/`gt` and one group-by list), and are listed as skipped otherwise, with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from logwarden.schema import DYNAMIC_OBJECTS, all_fields
from logwarden.schema_template import ALL_VALUES_FIELD

from .attack import attack_data, tagged, technique_tactics
from .attack import tactic_id as attack_tactic_id
from .es import MATCH_NONE, QueryBuilder
from .model import BaseRule, Correlation, RuleSet

SEVERITY = {"informational": "low", "low": "low", "medium": "medium", "high": "high", "critical": "critical"}
RISK_SCORE = {"low": 21, "medium": 47, "high": 73, "critical": 99}  # the top of each Kibana band
APPROXIMATE_TAG = "logwarden: approximate"
ATTACK_URL = "https://attack.mitre.org"
INTERVAL, LOOKBACK = "5m", "now-6m"  # Kibana's defaults: every 5 minutes over the last 6
TIMESTAMP_FIELD = "event.ingested"  # as Elastic's prebuilt rules: late or replayed events are seen


@dataclass
class KibanaExport:
    rules: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (rule id or path, reason)
    approximate: list[str] = field(default_factory=list)  # rule ids whose query is wider


class SchemaTypes(dict[str, str]):
    """Field name -> Elasticsearch type, from the declared schema (offline: what field_caps would
    say on indices made from our template), including every `.caseless` sub-field and the
    dynamic winlog.event_data / winlog.user_data keywords (answered by `get` and `in`, the two
    lookups es.QueryBuilder makes)."""

    def __init__(self) -> None:
        super().__init__()
        for name, f in all_fields().items():
            if f.type == "object":
                continue
            self[name] = f.type
            if "caseless" in f.mapping().get("fields", {}):
                self[f"{name}.caseless"] = "keyword"
        self[ALL_VALUES_FIELD] = "keyword"  # the template's keyword catch-all: keyword rules query it

    @staticmethod
    def _dynamic(name: str) -> str | None:
        base = name.removesuffix(".caseless")
        for prefix in DYNAMIC_OBJECTS:
            if base.startswith(prefix + ".") and len(base) > len(prefix) + 1:
                return "keyword"
        return None

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        found = super().get(name)
        return found if found is not None else (self._dynamic(name) or default)

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or (isinstance(name, str) and self._dynamic(name) is not None)


def threat(tags: list[str]) -> list[dict[str, Any]]:
    """Kibana's `threat` array from a rule's Sigma tags: one entry per tactic (`attack.tagged`),
    each holding the rule's techniques that ATT&CK files under that tactic (sub-techniques under
    their parent); unknown technique ids are left out (Kibana requires a name for each)."""
    data = attack_data()
    resolved = tagged(tags)
    tactics, techniques = resolved.tactics, resolved.known_techniques
    out = []
    for short in tactics:
        tactic_id = attack_tactic_id(short)
        entry: dict[str, Any] = {
            "framework": "MITRE ATT&CK",
            "tactic": {"id": tactic_id, "name": data["tactics"][tactic_id]["name"],
                       "reference": f"{ATTACK_URL}/tactics/{tactic_id}/"},
            "technique": [],
        }
        for tid in techniques:
            parent = tid.split(".")[0]
            if short not in technique_tactics(tid):
                continue
            tech = next((t for t in entry["technique"] if t["id"] == parent), None)
            if tech is None:
                pname = data["techniques"].get(parent, {}).get("name", parent)
                tech = {"id": parent, "name": pname, "reference": f"{ATTACK_URL}/techniques/{parent}/",
                        "subtechnique": []}
                entry["technique"].append(tech)
            if tid != parent and all(s["id"] != tid for s in tech["subtechnique"]):
                tech["subtechnique"].append({"id": tid, "name": data["techniques"][tid]["name"],
                                             "reference": f"{ATTACK_URL}/techniques/{parent}/{tid.split('.')[1]}/"})
        out.append(entry)
    return out


def rule_indices(logsource: Mapping[str, str | None], index_prefix: str) -> list[str]:
    """The index patterns a rule reads: the dataset family its logsource names (windows,
    firewall, av), or every event family when it names none of them."""
    from logwarden.schema import EVENT_DATASETS

    if logsource.get("product") == "windows":
        return [f"{index_prefix}windows-*"]
    if logsource.get("category") == "firewall":
        return [f"{index_prefix}firewall-*"]
    if logsource.get("category") == "antivirus":
        return [f"{index_prefix}av-*"]
    return [f"{index_prefix}{d}-*" for d in EVENT_DATASETS]


def _filter(title: str, query: dict[str, Any]) -> dict[str, Any]:
    """A Kibana custom filter holding a DSL query (what Kibana's filter editor saves)."""
    return {"meta": {"alias": title, "negate": False, "disabled": False, "type": "custom", "key": "query",
                     "value": json.dumps(query, ensure_ascii=False)},
            "query": query}


def _common(meta: BaseRule | Correlation, indices: list[str], approximate: bool) -> dict[str, Any]:
    severity = SEVERITY.get(meta.level.lower(), "medium")
    tags = ["Sigma", *(t for t in meta.tags if not t.lower().startswith("attack."))]
    note = f"Exported by logwarden from the Sigma rule {meta.id} ({meta.path})."
    if approximate:
        tags.append(APPROXIMATE_TAG)
        note += (" The query is wider than the rule: logwarden's engines confirm each hit in process"
                 " (regular expression dialects, keywords or values too long to index); Kibana alerts"
                 " on every hit of the wider query.")
    return {
        "rule_id": meta.id,
        "name": meta.title,
        "description": meta.description.strip() or meta.title,
        "severity": severity,
        "risk_score": RISK_SCORE[severity],
        "tags": tags,
        "threat": threat(meta.tags),
        "index": indices,
        "enabled": True,
        "interval": INTERVAL,
        "from": LOOKBACK,
        "timestamp_override": TIMESTAMP_FIELD,
        "max_signals": 100,
        "version": 1,
        "author": ["logwarden (Sigma export)"],
        "false_positives": [],
        "references": [],
        "note": note,
    }


def query_rule(rule: BaseRule, index_prefix: str, types: dict[str, str]) -> tuple[dict[str, Any] | None, bool]:
    """A Kibana query rule for a base rule, and whether its query is wider than the rule; None
    when the query can match no document of ours (it names fields our schema does not have)."""
    qb = QueryBuilder(types)
    query = qb.build(rule.ir)
    if query == MATCH_NONE:
        return None, False
    out = _common(rule, rule_indices(rule.logsource, index_prefix), qb.inexact)
    out.update(type="query", language="kuery", query="", filters=[_filter(rule.title, query)])
    return out, qb.inexact


def _span(seconds: float) -> str:
    s = max(1, int(round(seconds)))
    for unit, size in (("h", 3600), ("m", 60)):
        if s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def threshold_rule(corr: Correlation, rules: Mapping[str, BaseRule], index_prefix: str,
                   types: dict[str, str]) -> tuple[dict[str, Any] | None, str, bool]:
    """A Kibana threshold rule for an event_count or value_count correlation: (rule, "", wider)
    or (None, reason, False) when Kibana's threshold type cannot say the same thing."""
    if corr.type not in ("event_count", "value_count"):
        return None, (f"{corr.type} correlation: Kibana would need an EQL sequence of each rule's query"
                      " (not exported; logwarden's engines run it)"), False
    if corr.op not in ("gte", "gt"):
        return None, f"condition {corr.op}: Kibana threshold rules only alert at or above a count", False
    bases = [rules.get(r) for r in corr.rules]
    if any(b is None for b in bases):
        return None, "refers to another correlation: Kibana threshold rules cannot chain", False
    groups = {tuple(v) for v in corr.group_by.values()} or {()}
    if len(groups) != 1:
        return None, "the rules group by different fields: a Kibana threshold groups by one list", False
    qb = QueryBuilder(types)
    parts = [qb.build(b.ir) for b in bases if b is not None]
    query = parts[0] if len(parts) == 1 else {"bool": {"should": parts, "minimum_should_match": 1}}
    logsources = [b.logsource for b in bases if b is not None]
    indices = sorted({i for ls in logsources for i in rule_indices(ls, index_prefix)})
    count = corr.count + (1 if corr.op == "gt" else 0)
    threshold: dict[str, Any] = {"field": list(next(iter(groups))), "value": max(1, count)}
    if corr.type == "value_count":
        fields = set(corr.value_field.values())
        if len(fields) != 1:
            return None, "the rules count different fields: a Kibana threshold counts one", False
        threshold.update(value=1, cardinality=[{"field": fields.pop(), "value": count}])
    out = _common(corr, indices, qb.inexact)
    span = _span(corr.timespan)
    out.update(type="threshold", language="kuery", query="", filters=[_filter(corr.title, query)],
               threshold=threshold, interval=span, **{"from": f"now-{span}"})
    out["note"] += (f" Threshold over {span}: Kibana counts the events of each run's {span} lookback,"
                    " where logwarden's window slides: a burst that straddles two runs alerts in"
                    " logwarden and can be missed by Kibana.")
    return out, "", qb.inexact


def export(ruleset: RuleSet, index_prefix: str) -> KibanaExport:
    """Every alerting rule of `ruleset` as a Kibana rule (base rules that only feed correlations
    are left out: alone they would alert on each event)."""
    types = SchemaTypes()
    out = KibanaExport()
    by_id = {r.id: r for r in ruleset.rules}
    for rule in ruleset.rules:
        if not rule.generate:
            continue
        doc, wider = query_rule(rule, index_prefix, types)
        if doc is None:
            out.skipped.append((rule.id, "names no field of logwarden's documents: it could never match"))
            continue
        out.rules.append(doc)
        if wider:
            out.approximate.append(rule.id)
    for corr in ruleset.correlations:  # (a correlation's `generate` is about its rules' own alerts)
        doc, reason, wider = threshold_rule(corr, by_id, index_prefix, types)
        if doc is None:
            out.skipped.append((corr.id, reason))
            continue
        out.rules.append(doc)
        if wider:
            out.approximate.append(corr.id)
    for err in ruleset.errors:
        out.skipped.append((err.rule_id or err.path, err.message))
    return out


def render(export: KibanaExport) -> str:
    """The NDJSON Kibana's `POST /api/detection_engine/rules/_import` takes, one rule per line."""
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in export.rules)
