"""Sigma v2 correlations with true sliding windows: the one implementation all engines share.

Feed `Hit`s (a base rule or an inner correlation matched an event) in time order; get back
`Fired` results. State is a dict keyed by (correlation id, group key), so a runner can shard it
by group key (stream: by Kafka partition). Semantics, identical in every engine:

- group key = the group-by fields' values, lowercased (Sigma is case-insensitive); a hit
  missing a group-by field is not counted (as an Elasticsearch terms aggregation would skip it).
- window: a hit at time t sees the hits with time >= t - timespan of its group.
- event_count / value_count fire on the hit that makes the condition true, then the group's
  window is cleared (the next alert needs a fresh set of events).
- temporal: every referenced rule has a hit in the window. temporal_ordered: additionally in
  the listed order (t0 <= t1 <= ...), checked when the last rule's hit arrives.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .model import Correlation

_OPS = {
    "gte": lambda n, c: n >= c,
    "gt": lambda n, c: n > c,
    "eq": lambda n, c: n == c,
}


@dataclass(slots=True)
class Hit:
    rule_id: str
    ts: float
    event_id: str
    fields: dict[str, Any]  # flat document (or the group fields of an inner correlation)
    host: str = ""


@dataclass(slots=True)
class Fired:
    correlation: Correlation
    ts: float
    group: dict[str, str]
    event_ids: list[str]
    count: int
    host: str


@dataclass
class _Group:
    items: deque[tuple[float, str, str, str]] = field(default_factory=deque)  # ts, id, rule, value


def _scalar(v: Any) -> str | None:
    if isinstance(v, list):
        v = v[0] if v else None
    if v is None:
        return None
    return str(v).lower()


class CorrelationEngine:
    def __init__(self, correlations: list[Correlation]) -> None:
        self.by_rule: dict[str, list[Correlation]] = {}
        for c in correlations:
            if c.op not in _OPS and c.type in ("event_count", "value_count"):
                raise ValueError(f"correlation {c.id}: condition {c.op} is not supported")
            for rid in dict.fromkeys(c.rules):
                self.by_rule.setdefault(rid, []).append(c)
        self.state: dict[tuple[str, tuple[str, ...]], _Group] = {}

    def interested(self, rule_id: str) -> bool:
        return rule_id in self.by_rule

    def feed(self, hit: Hit) -> list[Fired]:
        out: list[Fired] = []
        pending = [hit]
        while pending:  # a fired correlation is itself a hit for correlations that chain on it
            h = pending.pop(0)
            for c in self.by_rule.get(h.rule_id, ()):
                fired = self._feed_one(c, h)
                if fired is not None:
                    out.append(fired)
                    if c.id in self.by_rule:
                        pending.append(Hit(c.id, fired.ts, fired_id(fired), dict(fired.group), fired.host))
        return out

    def _feed_one(self, c: Correlation, h: Hit) -> Fired | None:
        gfields = c.group_by.get(h.rule_id, [])
        key_vals = []
        for f in gfields:
            v = _scalar(h.fields.get(f))
            if v is None:
                return None
            key_vals.append(v)
        value = ""
        if c.type == "value_count":
            v = _scalar(h.fields.get(c.value_field.get(h.rule_id, "")))
            if v is None:
                return None
            value = v
        key = (c.id, tuple(key_vals))
        g = self.state.get(key)
        if g is None:
            g = self.state[key] = _Group()
        g.items.append((h.ts, h.event_id, h.rule_id, value))
        lo = h.ts - c.timespan
        while g.items and g.items[0][0] < lo:
            g.items.popleft()
        if c.type == "event_count":
            n = len(g.items)
        elif c.type == "value_count":
            n = len({it[3] for it in g.items})
        elif c.type == "temporal":
            n = len({it[2] for it in g.items})
            if n < len(set(c.rules)):
                return None
            return self._fire(c, h, g, key_vals, gfields, n)
        else:
            if h.rule_id != c.rules[-1] or not _ordered(c.rules, g.items):
                return None
            return self._fire(c, h, g, key_vals, gfields, len(g.items))
        if not _OPS[c.op](n, c.count):
            return None
        return self._fire(c, h, g, key_vals, gfields, n)

    def _fire(self, c: Correlation, h: Hit, g: _Group, key_vals: list[str], gfields: list[str], n: int) -> Fired:
        # the group is reported under the field names of the correlation's first rule
        names = c.group_by.get(c.rules[0], gfields)
        group = dict(zip(names, key_vals, strict=False))
        ids = [it[1] for it in g.items]
        g.items.clear()
        return Fired(c, h.ts, group, ids, n, h.host)


def _ordered(rules: list[str], items: deque[tuple[float, str, str, str]]) -> bool:
    """Is there t0 <= t1 <= ... with a hit of rules[i] at ti (all inside the window already)?"""
    t = float("inf")
    for rid in reversed(rules):
        cands = [it[0] for it in items if it[2] == rid and it[0] <= t]
        if not cands:
            return False
        t = max(cands)
    return True


def fired_id(f: Fired) -> str:
    from logwarden.shippers.base import event_id

    key = "|".join(f"{k}={v}" for k, v in sorted(f.group.items()))
    return event_id("alert", f.correlation.id, key, f.event_ids[0] if f.event_ids else "", f.ts)
