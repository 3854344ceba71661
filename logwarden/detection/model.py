"""The compiled rule model every engine reads: base rules (an IR tree each), correlations, the
errors found while compiling, and the rule set that holds them (JSON round-trip for the cache).

Kept apart from the compiler so the engines, the prefilter and the alert builder can use the
model without importing pySigma or the compiler (and without import cycles).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

CACHE_VERSION = "5"  # bump when the cached JSON's shape or meaning changes


@dataclass
class RuleMeta:
    """What every rule carries, base rule or correlation: identity, texts for the alert, origin."""

    id: str
    name: str | None
    title: str
    description: str
    level: str
    tags: list[str]
    path: str


@dataclass
class BaseRule(RuleMeta):
    """A detection rule: its log source and its condition as an IR tree (see ir.py)."""

    logsource: dict[str, str | None]
    ir: list[Any]
    fields: list[str] = field(default_factory=list)  # mapped `fields:` (alert reason)
    generate: bool = True  # False when only correlations use it


@dataclass
class Correlation(RuleMeta):
    """A Sigma correlation over base rules or other correlations (see correlate.py)."""

    type: str  # event_count | value_count | temporal | temporal_ordered
    rules: list[str]  # referenced rule ids, in order
    group_by: dict[str, list[str]]  # referenced rule id -> mapped group-by fields
    timespan: float  # seconds
    op: str  # gte, gt, lte, lt, eq, neq
    count: int
    value_field: dict[str, str] = field(default_factory=dict)  # value_count: rule id -> field
    generate: bool = False


@dataclass
class RuleError:
    path: str
    message: str
    rule_id: str = ""


@dataclass
class RuleSet:
    rules: list[BaseRule]
    correlations: list[Correlation]
    errors: list[RuleError]
    total_files: int = 0
    key: str = ""
    index: dict[str, Any] | None = None  # the matcher's literal prefilter (prefilter.literal_index)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CACHE_VERSION,
            "key": self.key,
            "total_files": self.total_files,
            "rules": [asdict(r) for r in self.rules],
            "correlations": [asdict(c) for c in self.correlations],
            "errors": [asdict(e) for e in self.errors],
            "index": self.index,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RuleSet:
        return cls(
            rules=[BaseRule(**r) for r in data["rules"]],
            correlations=[Correlation(**c) for c in data["correlations"]],
            errors=[RuleError(**e) for e in data["errors"]],
            total_files=data.get("total_files", 0),
            key=data.get("key", ""),
            index=data.get("index"),
        )
