"""`rules convert`: pySigma's Elasticsearch backends over our pipelines (exports, decision 8).

lucene: one Lucene query per rule (case-insensitive through `.caseless` sub-fields)
dsl:    the same wrapped in Elasticsearch query DSL
esql:   ES|QL queries (for full-stack users; the test server has no ES|QL)
kibana: NDJSON of Kibana detection rules (siem_rule_ndjson), for Kibana's own engine
Correlation rules have no Lucene form; they are listed as skipped (the es engine runs them).

Exports that name indices (kibana, esql) name the configured ones: `<index_prefix><dataset>-*`
for the dataset the rule's logsource reads (windows, firewall, av; all three when it says
neither), so a SOC with LOGWARDEN_INDEX_PREFIX=soc- gets rules that search soc-windows-*.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule

from logwarden import schema
from logwarden.config import load
from logwarden.pipelines.sigma.loader import HERE, load_pipeline
from logwarden.schema import EVENT_DATASETS

from .compiler import rule_files
from .rule_yaml import load_rule_documents

TARGETS = {
    "lucene": ("lucene", "default"),
    "dsl": ("lucene", "dsl_lucene"),
    "esql": ("esql", "default"),
    "kibana": ("lucene", "siem_rule_ndjson"),
}


@dataclass
class Converted:
    outputs: list[tuple[str, Any]] = field(default_factory=list)  # (rule id, query)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path or id, reason)


def caseless_pipeline() -> ProcessingPipeline:
    """caseless.yml, its list of fields that keep their name completed from the schema: every
    declared field without a `.caseless` sub-field (ip, numbers, dates, unindexed keywords)."""
    data = yaml.safe_load((HERE / "caseless.yml").read_text(encoding="utf-8"))
    keep = data["transformations"][0]["field_name_conditions"][0]
    keep["fields"] = [*keep["fields"], *(re.escape(name) for name in schema.without_caseless())]
    return ProcessingPipeline.from_dict(data)


def es_pipeline(caseless: bool = True) -> ProcessingPipeline:
    p = load_pipeline()
    if caseless:
        p = p + caseless_pipeline()
    return p


_LOGSOURCE_DATASETS = (("product", "windows", "windows"), ("category", "firewall", "firewall"),
                       ("category", "antivirus", "av"))


def rule_indices(rule: SigmaRule, index_prefix: str) -> list[str]:
    """The index patterns a rule's export searches: the dataset its logsource reads."""
    for attribute, value, dataset in _LOGSOURCE_DATASETS:
        if getattr(rule.logsource, attribute, None) == value:
            return [f"{index_prefix}{dataset}-*"]
    return [f"{index_prefix}{d}-*" for d in EVENT_DATASETS]


def _backend(kind: str, caseless: bool, indices: list[str]) -> Any:
    if kind == "esql":
        from sigma.backends.elasticsearch import ESQLBackend
        from sigma.processing.pipeline import ProcessingItem
        from sigma.processing.transformations import SetStateTransformation

        index_state = ProcessingPipeline([ProcessingItem(SetStateTransformation("index", indices))])
        return ESQLBackend(processing_pipeline=es_pipeline(caseless=False) + index_state)
    from sigma.backends.elasticsearch import LuceneBackend

    return LuceneBackend(processing_pipeline=es_pipeline(caseless), index_names=indices)


def convert(paths: list[Path] | None, target: str, caseless: bool = True,
            index_prefix: str | None = None) -> Converted:
    """Every rule under `paths` (default: the bundled rules) as `target` queries; exports that name
    indices use `index_prefix` (default: the configuration's, logwarden.yml / environment).

    Raises:
        ConfigError: no prefix given and the configuration is invalid.
    """
    if index_prefix is None:
        index_prefix = load().index_prefix
    kind, fmt = TARGETS[target]
    out = Converted()
    for f in rule_files(paths):
        try:
            docs = load_rule_documents(f)  # RuleLimitError before parsing a huge file
            coll = SigmaCollection.from_dicts(docs, resolve_references=False)
        except Exception as exc:  # noqa: BLE001 - record boundary: pySigma raises anything on a hostile rule; named
            out.skipped.append((str(f), f"{type(exc).__name__}: {exc}"))
            continue
        for rule in coll.rules:
            if isinstance(rule, SigmaCorrelationRule):
                out.skipped.append((str(f), "correlation rule: run by the es engine (no Lucene form)"))
                continue
            try:
                backend = _backend(kind, caseless, rule_indices(rule, index_prefix))
                for q in backend.convert_rule(rule, fmt) or []:
                    out.outputs.append((str(rule.id), q))
            except Exception as exc:  # noqa: BLE001 - record boundary: any error is this rule's skip reason, named
                out.skipped.append((str(f), f"{type(exc).__name__}: {exc}"))
    return out


def render(conv: Converted, target: str) -> str:
    lines: list[str] = []
    for rid, q in conv.outputs:
        if target == "kibana":
            lines.append(json.dumps(q, ensure_ascii=False, default=str))
        elif target == "dsl":
            lines.append(json.dumps({"rule_id": rid, "query": q}, ensure_ascii=False, default=str))
        else:
            lines.append(f"{rid}\t{q}")
    return "\n".join(lines) + ("\n" if lines else "")
