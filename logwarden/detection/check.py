"""`rules check`: everything wrong with a rule set, each finding with its file path. Offline.

Errors: YAML / Sigma parse errors, conversion failures, duplicate ids or names, dangling
correlation references, fields no pipeline maps (decision: an unmapped field is an error, never
a silent winlog.event_data.X), and for our own rules missing metadata the Sigma spec expects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from logwarden.pipelines.sigma.loader import declared_fields

from .compiler import compile_files, rule_files
from .engine import Detector
from .ir import fields_of
from .model import RuleSet
from .regex import backtracking_risk
from .rule_yaml import RuleLimitError, load_rule_documents

REQUIRED = ("title", "id", "status", "description", "references", "author", "date", "tags", "level",
            "falsepositives")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass
class Finding:
    path: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.severity}: {self.message}"


def metadata_findings(files: list[Path]) -> list[Finding]:
    out: list[Finding] = []
    for f in files:
        try:
            docs = load_rule_documents(f)
        except (OSError, UnicodeDecodeError, yaml.YAMLError, RuleLimitError):
            continue  # reported by the compiler with the parser's message
        for d in docs:
            if not isinstance(d, dict):
                out.append(Finding(str(f), "not a mapping: a Sigma rule is a YAML mapping"))
                continue
            missing = [k for k in REQUIRED if not d.get(k)]
            if missing:
                out.append(Finding(str(f), f"missing {', '.join(missing)}"))
            if d.get("id") and not UUID_RE.match(str(d["id"])):
                out.append(Finding(str(f), f"id {d['id']!r} is not a lowercase UUID"))
            tags = d.get("tags") or []
            if isinstance(tags, list) and tags and not any(str(t).startswith("attack.") for t in tags):
                out.append(Finding(str(f), "no attack.* tag"))
            if "correlation" not in d and not ("logsource" in d and "detection" in d):
                out.append(Finding(str(f), "neither detection + logsource nor correlation"))
    return out


def field_findings(rs: RuleSet) -> list[Finding]:
    known = declared_fields()
    out: list[Finding] = []
    for r in rs.rules:
        bad = sorted(f for f in fields_of(r.ir) | set(r.fields) if f not in known)
        if bad:
            out.append(Finding(r.path, f"rule {r.id}: no pipeline maps field(s) {', '.join(bad)}"))
    for c in rs.correlations:
        used = {f for fs in c.group_by.values() for f in fs} | set(c.value_field.values())
        bad = sorted(f for f in used if f not in known)
        if bad:
            out.append(Finding(c.path, f"correlation {c.id}: no pipeline maps field(s) {', '.join(bad)}"))
    return out


def _regex_leaves(node: list[Any]) -> list[str]:
    kind = node[0]
    if kind in ("and", "or"):
        return [p for kid in node[1] for p in _regex_leaves(kid)]
    if kind == "not":
        return _regex_leaves(node[1])
    if kind == "m" and node[2] == "re":
        return [node[3][0]]
    if kind == "kw" and node[1] == "re":
        return [node[2][0]]
    return []


def regex_findings(rs: RuleSet) -> list[Finding]:
    """A warning per regex that a backtracking engine could take exponential time on (here it
    runs on RE2, or the rule is refused; other consumers of the rule may not be so lucky)."""
    out: list[Finding] = []
    for r in rs.rules:
        for pattern in _regex_leaves(r.ir):
            risk = backtracking_risk(pattern)
            if risk:
                out.append(Finding(r.path, f"rule {r.id}: regex {pattern!r} has {risk}: catastrophic "
                                           "backtracking in engines like Python's re", "warning"))
    return out


def check(
    paths: list[Path] | None, strict_metadata: bool = True, check_fields: bool = True
) -> tuple[RuleSet, list[Finding]]:
    files = rule_files(paths)
    rs = compile_files(files)
    findings = [Finding(e.path, e.message) for e in rs.errors]
    findings += [Finding(r.path, f"rule {r.id}: cannot be evaluated: {why}") for r, why in Detector(rs).failed]
    findings += regex_findings(rs)
    if check_fields:
        findings += field_findings(rs)
    if strict_metadata:
        findings += metadata_findings(files)
    return rs, findings
