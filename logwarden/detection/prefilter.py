"""The prefilter: which compiled rules can possibly match a document, found without evaluating
them (an accelerator, never an evaluator: every candidate is still evaluated in full).

- keyed rules: a required `eq` (or a file-name `endswith`) found by dictionary lookup;
- anchored rules: a required literal found through an n-gram index of the rule set's literals
  (`literal_index`, computed once and stored in the compiled-rule cache);
- the rest are always candidates.
`Bucket` holds the rules of one (channel, event code); the engine picks the buckets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .evaluate import Pred
from .model import BaseRule
from .required import glob_literals, regex_literals

GATE_FIELDS = {"winlog.channel", "event.code", "logwarden.family"}  # the engine's own routing fields
GRAM = 4  # length of the literal prefilter's n-grams
LITERAL_OPS = frozenset({"eq", "contains", "startswith", "endswith"})
GRAM_MEMO_CHARS = 256  # longer values (command lines, scripts) are mostly unique: not remembered
GRAM_MEMO_VALUES = 8192  # per bucket; a bound, so a member's memory does not grow with its input


@dataclass(slots=True)
class Compiled:
    """A rule with its evaluation closures: `pred` answers for any document; `gated` for the
    documents of the bucket holding it (its channel and event code known: `ir.assume_equal`)."""

    rule: BaseRule
    pred: Pred
    gated: Pred


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


def anchors(node: list[Any]) -> set[tuple[str, str]] | None:
    """(field, literal) pairs such that a matching document has one literal inside that field's
    lowercased value (a necessary condition; None when the tree gives none). A glob or a regex
    gives the longest literal every value it matches holds (required.py)."""
    kind = node[0]
    if kind == "m":
        fld, op, arg = node[1], node[2], node[3]
        if fld in GATE_FIELDS:
            return None
        if op in LITERAL_OPS and isinstance(arg, str) and len(arg) >= GRAM:
            return {(fld, arg)}
        held = (glob_literals(arg) if op == "glob" and isinstance(arg, str)
                else regex_literals(arg[0], arg[1]) if op == "re" and isinstance(arg, list) and len(arg) == 2
                else [])
        longest = max(held, key=len, default="")
        return {(fld, longest)} if len(longest) >= GRAM else None
    if kind == "or":
        out: set[tuple[str, str]] = set()
        for kid in node[1]:
            got = anchors(kid)
            if got is None:
                return None
            out |= got
        return out
    if kind == "and":
        best: set[tuple[str, str]] | None = None
        for kid in node[1]:
            got = anchors(kid)
            if got is not None and (best is None or _anchor_score(got) > _anchor_score(best)):
                best = got
        return best
    return None


def _anchor_score(a: set[tuple[str, str]]) -> tuple[int, int]:
    return (min(len(lit) for _, lit in a), -len(a))


def literal_index(rules: list[BaseRule]) -> dict[str, list[list[str]] | None]:
    """Per rule: its anchors as [field, literal, n-gram] (the literal's rarest n-gram, rarity judged
    by how many rules' literals share it), or None. Stored in the compiled-rule cache."""
    per_rule = {r.id: (None if rule_keys(r.ir) else anchors(r.ir)) for r in rules}
    lits = {lit for a in per_rule.values() if a for _, lit in a}
    grams_of = {lit: {lit[i:i + GRAM] for i in range(len(lit) - GRAM + 1)} for lit in lits}
    freq: dict[str, int] = {}
    for gs in grams_of.values():
        for g in gs:
            freq[g] = freq.get(g, 0) + 1
    rarest = {lit: min(gs, key=lambda g: (freq[g], g)) for lit, gs in grams_of.items()}
    return {rid: sorted([fld, lit, rarest[lit]] for fld, lit in a) if a else None for rid, a in per_rule.items()}


class Bucket:
    """Rules of one (channel, event code): keyed ones found by dictionary lookups on the document,
    literal-anchored ones by an n-gram index (`finish`), the rest always evaluated."""

    def __init__(self) -> None:
        self.plain: list[Compiled] = []
        self.keyed: dict[tuple[str, str, str], list[Compiled]] = {}
        self.fields: set[tuple[str, str]] = set()
        self.anchored: list[Compiled] = []
        self.anchor_fields: set[str] = set()
        self.grams: dict[str, list[tuple[str, str, Compiled]]] = {}
        self.gram_fields: tuple[str, ...] = ()
        self._memo: dict[str, tuple[str, ...]] = {}  # field value -> its indexed n-grams (_indexed_grams)

    def add(self, c: Compiled, keys: set[tuple[str, str, str]] | None,
            anchor: list[tuple[str, str, str]] | None) -> None:
        if not keys:
            if anchor:
                for fld, lit, gram in anchor:
                    self.grams.setdefault(gram, []).append((fld, lit, c))
                    self.anchor_fields.add(fld)
                self.anchored.append(c)
            else:
                self.plain.append(c)
            return
        for k in keys:
            self.keyed.setdefault(k, []).append(c)
            self.fields.add((k[0], k[1]))

    def _indexed_grams(self, value: str) -> tuple[str, ...]:
        """The n-grams of `value` this bucket indexes. A literal inside one field value has all its
        n-grams in that value, so these are all the lookups the value needs. Remembered for values
        up to GRAM_MEMO_CHARS long (paths, names, hashes: most repeat from event to event), at most
        GRAM_MEMO_VALUES of them per bucket (forgotten all at once when full)."""
        got = self._memo.get(value)
        if got is None:
            grams = self.grams
            got = tuple({value[i:i + GRAM] for i in range(len(value) - GRAM + 1)}.intersection(grams))
            if len(value) <= GRAM_MEMO_CHARS:
                if len(self._memo) >= GRAM_MEMO_VALUES:
                    self._memo.clear()
                self._memo[value] = got
        return got

    def finish(self) -> None:
        self.gram_fields = tuple(sorted(self.anchor_fields))

    def all(self) -> list[Compiled]:
        seen = {id(c): c for c in self.plain}
        seen.update({id(c): c for c in self.anchored})
        for cs in self.keyed.values():
            seen.update({id(c): c for c in cs})
        return list(seen.values())

    def candidates(self, lc: dict[str, Any]) -> list[Compiled]:
        """The rules of this bucket a document with lowercased values `lc` can match."""
        found: list[Compiled] = []
        self.collect(lc, found)
        return found

    def collect(self, lc: dict[str, Any], found: list[Compiled]) -> None:
        """Append to `found` the rules of this bucket a document with lowercased values `lc` can
        match: the plain ones, then those whose anchor literal is in the document, then the keyed
        ones whose key is (a list filled in place: no generator frames per candidate)."""
        found.extend(self.plain)
        if self.grams:
            present: set[str] = set()
            for f in self.gram_fields:
                v = lc.get(f)
                if isinstance(v, str):
                    present.update(self._indexed_grams(v))
                elif isinstance(v, list):
                    for x in v:
                        if isinstance(x, str):
                            present.update(self._indexed_grams(x))
            done: set[int] = set()
            for g in present:
                for fld, lit, c in self.grams[g]:
                    if id(c) in done:
                        continue
                    v = lc.get(fld)
                    if isinstance(v, str):
                        ok = lit in v
                    elif isinstance(v, list):
                        ok = any(isinstance(x, str) and lit in x for x in v)
                    else:
                        ok = False
                    if ok:
                        done.add(id(c))
                        found.append(c)
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
                        found.append(c)
