"""The in-process detector: compiled predicates indexed by channel / dataset / required field.

`Detector.match(flat)` -> the base rules a document matches (all engines' single-event verdict
for hunt and stream). `Detector.process(doc)` -> alert documents, running correlations too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .alerts import alert_for_fired, alert_for_match, doc_host, doc_id, doc_time
from .compiler import BaseRule, RuleSet
from .correlate import CorrelationEngine, Hit
from .evaluate import LC, Flat, Pred, compile_pred, flatten
from .ir import UnsupportedError, required_equals, required_fields

GENERIC = {"winlog.channel", "event.dataset", "event.code"}


@dataclass(slots=True)
class Compiled:
    rule: BaseRule
    pred: Pred


GATE_FIELDS = {"winlog.channel", "event.code", "event.dataset"}


def _leaf_keys(node: list[Any]) -> set[tuple[str, str, str]] | None:
    """Index keys for one conjunct: an eq, an endswith of a file name, or an OR of those."""
    if node[0] == "m" and node[1] not in GATE_FIELDS:
        fld, op, arg = node[1], node[2], node[3]
        if op == "eq":
            return {(fld, "eq", arg)}
        if op == "endswith" and arg.startswith("\\") and "\\" not in arg[1:] and len(arg) > 1:
            return {(fld, "base", arg[1:])}
        return None
    if node[0] == "or":
        out: set[tuple[str, str, str]] = set()
        for kid in node[1]:
            got = _leaf_keys(kid)
            if got is None:
                return None
            out |= got
        return out
    return None


def rule_keys(ir: list[Any]) -> set[tuple[str, str, str]] | None:
    """Keys such that a document can only match the rule if one of them is in the document."""
    kids = ir[1] if ir[0] == "and" else [ir]
    best: set[tuple[str, str, str]] | None = None
    for kid in kids:
        got = _leaf_keys(kid)
        if got is not None and (best is None or len(got) < len(best)):
            best = got
    return best


class Bucket:
    """Rules of one (channel, event code): keyed ones found by dictionary lookups on the document."""

    def __init__(self) -> None:
        self.plain: list[Compiled] = []
        self.keyed: dict[tuple[str, str, str], list[Compiled]] = {}
        self.fields: set[tuple[str, str]] = set()

    def add(self, c: Compiled) -> None:
        keys = rule_keys(c.rule.ir)
        if not keys:
            self.plain.append(c)
            return
        for k in keys:
            self.keyed.setdefault(k, []).append(c)
            self.fields.add((k[0], k[1]))

    def all(self) -> list[Compiled]:
        seen = {id(c): c for c in self.plain}
        for cs in self.keyed.values():
            seen.update({id(c): c for c in cs})
        return list(seen.values())

    def candidates(self, lc: dict[str, Any]) -> Iterable[Compiled]:
        yield from self.plain
        if not self.fields:
            return
        seen: set[int] = set()
        for fld, kind in self.fields:
            v = lc.get(fld)
            if v is None:
                continue
            for x in v if isinstance(v, list) else (v,):
                if not isinstance(x, str):
                    continue
                k = x if kind == "eq" else x.rsplit("\\", 1)[-1]
                for c in self.keyed.get((fld, kind, k), ()):
                    if id(c) not in seen:
                        seen.add(id(c))
                        yield c


class Detector:
    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.failed: list[tuple[BaseRule, str]] = []
        self.by_channel: dict[str, dict[str, Bucket]] = {}  # channel -> event code | "*" -> rules
        self.by_dataset: dict[str, list[Compiled]] = {}
        self.by_field: dict[str, list[Compiled]] = {}
        self.always: list[Compiled] = []
        for rule in ruleset.rules:
            try:
                c = Compiled(rule, compile_pred(rule.ir))
            except (UnsupportedError, ValueError, KeyError) as exc:
                self.failed.append((rule, str(exc)))
                continue
            self._index(c)
        self.correlations = CorrelationEngine(ruleset.correlations)

    def _index(self, c: Compiled) -> None:
        chans = required_equals(c.rule.ir, "winlog.channel")
        if chans:
            codes = required_equals(c.rule.ir, "event.code")
            for ch in chans:
                per = self.by_channel.setdefault(ch, {})
                for code in codes or ("*",):
                    per.setdefault(code, Bucket()).add(c)
            return
        sets = required_equals(c.rule.ir, "event.dataset")
        if sets:
            for ds in sets:
                self.by_dataset.setdefault(ds, []).append(c)
            return
        req = sorted(required_fields(c.rule.ir) - GENERIC) or sorted(required_fields(c.rule.ir))
        if req:
            self.by_field.setdefault(req[0], []).append(c)
        else:
            self.always.append(c)

    def candidates(self, flat: Flat) -> Iterable[Compiled]:
        lc = flat[LC]
        ch = lc.get("winlog.channel")
        if isinstance(ch, str):
            per = self.by_channel.get(ch)
            if per:
                code = lc.get("event.code")
                if isinstance(code, str) and code in per:
                    yield from per[code].candidates(lc)
                if "*" in per:
                    yield from per["*"].candidates(lc)
        ds = lc.get("event.dataset")
        if isinstance(ds, str):
            yield from self.by_dataset.get(ds, ())
        for fld, rules in self.by_field.items():
            if fld in flat:
                yield from rules
        yield from self.always

    def match(self, flat: Flat) -> list[BaseRule]:
        return [c.rule for c in self.candidates(flat) if c.pred(flat)]

    def process(self, doc: dict[str, Any], eid: str | None = None) -> list[dict[str, Any]]:
        """Stream-style: evaluate one document, feed correlations, return alert documents."""
        flat = flatten(doc)
        eid = eid or doc_id(doc, flat)
        alerts: list[dict[str, Any]] = []
        hits: list[Hit] = []
        for rule in self.match(flat):
            if rule.generate:
                alerts.append(alert_for_match(rule, flat, eid))
            if self.correlations.interested(rule.id):
                hits.append(Hit(rule.id, doc_time(flat), eid, flat, doc_host(flat)))
        for h in hits:
            alerts.extend(alert_for_fired(f) for f in self.correlations.feed(h))
        return alerts


def run_batch(detector: Detector, docs: Iterable[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Batch semantics (hunt): single-event alerts, then correlations fed in (time, id) order."""
    alerts: list[dict[str, Any]] = []
    hits: list[Hit] = []
    for eid, doc in docs:
        flat = flatten(doc)
        for rule in detector.match(flat):
            if rule.generate:
                alerts.append(alert_for_match(rule, flat, eid))
            if detector.correlations.interested(rule.id):
                hits.append(Hit(rule.id, doc_time(flat), eid, _keep(flat), doc_host(flat)))
    alerts.extend(correlate_hits(detector.correlations, hits))
    return alerts


def _keep(flat: Flat) -> Flat:
    return flat


def correlate_hits(engine: CorrelationEngine, hits: list[Hit]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    hits.sort(key=lambda h: (h.ts, h.event_id, h.rule_id))
    for h in hits:
        out.extend(alert_for_fired(f) for f in engine.feed(h))
    return out
