"""The in-process detector: ties the rule model, the prefilter, evaluation, correlation and the
alert builder together. Compiled predicates are indexed by channel / family (logwarden.family) /
required field.

`Detector.match(flat)` -> the base rules a document matches (all engines' single-event verdict
for hunt and stream). `Detector.process(doc)` -> alert documents, running correlations too.
`Detector.flatten(doc)` flattens only the fields the compiled rules and the prefilter read
(`lowered`), with their lowercased text; `match` gives the same answer for it as for
evaluate.flatten's full one, and completes it when a rule matched (alerts read any field).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .alerts import alert_for_fired, alert_for_match, doc_host, doc_id, doc_time
from .correlate import CorrelationEngine, Fired, Hit
from .evaluate import LC, Flat, compile_pred, complete, field_paths, flatten, flatten_partial
from .ir import UnsupportedError, assume_equal, fields_of, required_equals, required_fields
from .model import BaseRule, RuleSet
from .prefilter import Bucket, Compiled, literal_index, rule_keys

GENERIC = {"winlog.channel", "logwarden.family", "event.code"}


class Detector:
    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.failed: list[tuple[BaseRule, str]] = []
        self.by_channel: dict[str, dict[str, Bucket]] = {}  # channel -> event code | "*" -> rules
        self.by_dataset: dict[str, list[Compiled]] = {}
        self.by_field: dict[str, list[Compiled]] = {}
        self.always: list[Compiled] = []
        index = ruleset.index if ruleset.index is not None else literal_index(ruleset.rules)
        self._anchors = {rid: [tuple(a) for a in v] if v else None for rid, v in index.items()}
        for rule in ruleset.rules:
            try:
                pred = compile_pred(rule.ir)
                c = Compiled(rule, pred, pred)
            except (UnsupportedError, ValueError, KeyError) as exc:
                self.failed.append((rule, str(exc)))
                continue
            self._index(c)
        for per in self.by_channel.values():
            for b in per.values():
                b.finish()
        # every field a compiled rule reads (the prefilter's keys and anchors are rule fields too)
        # and the routing fields `candidates` reads: what LC must hold for `match`
        self.lowered = frozenset(GENERIC.union(*(fields_of(c.rule.ir) for c in self._compiled())))
        self._paths = field_paths(self.lowered)
        self.correlations = CorrelationEngine(ruleset.correlations)

    def _compiled(self) -> list[Compiled]:
        """Every compiled rule, once."""
        every = {id(c): c for per in self.by_channel.values() for b in per.values() for c in b.all()}
        every.update({id(c): c for cs in (*self.by_dataset.values(), *self.by_field.values(), self.always)
                      for c in cs})
        return list(every.values())

    def flatten(self, doc: dict[str, Any]) -> Flat:
        """`doc` flattened for `match`: a partial flat (evaluate.flatten_partial: the fields in
        `lowered` only, what every compiled rule and the prefilter read), which `match` makes the
        whole `flatten(doc, lowered)` when it returns a rule (alerts and correlations read any
        field). A rule name too dotted to follow gives the whole flat at once."""
        if self._paths is None:
            return flatten(doc, self.lowered)
        return flatten_partial(doc, self._paths, self.lowered)

    def _index(self, c: Compiled) -> None:
        chans = required_equals(c.rule.ir, "winlog.channel")
        if chans:
            codes = required_equals(c.rule.ir, "event.code")
            keys = rule_keys(c.rule.ir)
            anchor = None if keys else self._anchors.get(c.rule.id)
            for ch in chans:
                per = self.by_channel.setdefault(ch, {})
                for code in codes or ("*",):
                    known = {"winlog.channel": ch} if code == "*" else {"winlog.channel": ch, "event.code": code}
                    gated = Compiled(c.rule, c.pred, compile_pred(assume_equal(c.rule.ir, known)))
                    per.setdefault(code, Bucket()).add(gated, keys, anchor)
            return
        sets = required_equals(c.rule.ir, "logwarden.family")
        if sets:
            for ds in sets:
                self.by_dataset.setdefault(ds, []).append(c)
            return
        req = sorted(required_fields(c.rule.ir) - GENERIC) or sorted(required_fields(c.rule.ir))
        if req:
            self.by_field.setdefault(req[0], []).append(c)
        else:
            self.always.append(c)

    def candidates(self, flat: Flat) -> list[Compiled]:
        """The compiled rules `flat` can match (the prefilter's answer; each still to be evaluated),
        in a fixed order: channel and event code, channel, family, required field, always."""
        lc = flat[LC]
        found: list[Compiled] = []
        ch = lc.get("winlog.channel")
        if isinstance(ch, str):
            per = self.by_channel.get(ch)
            if per:
                code = lc.get("event.code")
                if isinstance(code, str) and code in per:
                    per[code].collect(lc, found)
                if "*" in per:
                    per["*"].collect(lc, found)
        ds = lc.get("logwarden.family")
        if isinstance(ds, str):
            found.extend(self.by_dataset.get(ds, ()))
        for fld, rules in self.by_field.items():
            if fld in flat:
                found.extend(rules)
        found.extend(self.always)
        return found

    def match(self, flat: Flat) -> list[BaseRule]:
        """The base rules `flat` (a `flatten`ed document) matches, in candidate order; when there
        is one, `flat` is then whole (a partial flat is completed in place)."""
        matched = [c.rule for c in self.candidates(flat) if c.gated(flat)]
        if matched:
            complete(flat)
        return matched

    def process(self, doc: dict[str, Any], eid: str | None = None,
                origin: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Stream-style: evaluate one document, feed correlations, return alert documents.
        `origin` (e.g. topic, partition, offset) goes into the alerts as `logwarden.source`."""
        flat = self.flatten(doc)
        eid = eid or doc_id(doc, flat)
        alerts: list[dict[str, Any]] = []
        hits: list[Hit] = []
        for rule in self.match(flat):
            if rule.generate:
                alerts.append(alert_for_match(rule, flat, eid, origin))
            if self.correlations.interested(rule.id):
                hits.append(Hit(rule.id, doc_time(flat), eid, flat, doc_host(flat)))
        for h in hits:
            for f in self.correlations.feed(h):
                here = bool(f.event_ids) and f.event_ids[-1] == eid
                alerts.append(alert_for_fired(f, flat if here else None, origin if here else None))
        return alerts


OriginOf = Callable[[str], "dict[str, Any] | None"]  # event id -> where the event came from


def run_batch(detector: Detector, docs: Iterable[tuple[str, dict[str, Any]]],
              origin_of: OriginOf | None = None,
              matched: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Batch semantics (hunt): single-event alerts, then correlations fed in (time, id) order.
    `origin_of(event id)` says where an event came from (the alerts' `logwarden.source`);
    `matched`, when given, receives every event some rule matched (event id -> document)."""
    alerts: list[dict[str, Any]] = []
    hits: list[Hit] = []
    for eid, doc in docs:
        flat = detector.flatten(doc)
        rules = detector.match(flat)
        if rules and matched is not None:
            matched[eid] = doc
        for rule in rules:
            if rule.generate:
                alerts.append(alert_for_match(rule, flat, eid, origin_of(eid) if origin_of else None))
            if detector.correlations.interested(rule.id):
                hits.append(Hit(rule.id, doc_time(flat), eid, flat, doc_host(flat)))
    alerts.extend(correlate_hits(detector.correlations, hits, origin_of))
    return alerts


def correlate_hits(engine: CorrelationEngine, hits: list[Hit],
                   origin_of: OriginOf | None = None) -> list[dict[str, Any]]:
    """Feed `hits` in (time, id) order; the alerts of what fired, each with the facts of its
    last contributing event (the hits carry their flattened events), one per alert id: an
    episode's last version, open episodes included."""
    hits.sort(key=lambda h: (h.ts, h.event_id, h.rule_id))
    flats = {h.event_id: h.fields for h in hits}
    latest: dict[str, dict[str, Any]] = {}  # alert id -> its last version (an episode's grow)

    def add(f: Fired) -> None:
        last = f.event_ids[-1] if f.event_ids else ""
        alert = alert_for_fired(f, flats.get(last), origin_of(last) if origin_of and last else None)
        latest.pop(alert["event"]["id"], None)
        latest[alert["event"]["id"]] = alert

    for h in hits:
        for f in engine.feed(h):
            add(f)
    for f in engine.pending():  # episodes still going on: their latest version
        add(f)
    return list(latest.values())
