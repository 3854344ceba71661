"""Sigma condition trees -> a small JSON-serialisable intermediate representation (IR).

The IR is what the compiled-rule cache stores and what every engine evaluates, so hunt, stream
and es agree by construction. Nodes (lists, so they survive JSON):

    ["and", [node...]]   ["or", [node...]]   ["not", node]   ["const", bool]
    ["m", field, op, arg]       field match; ops below
    ["kw", op, arg]             keyword (no field): found inside any string value of the document

String ops are case-insensitive (Sigma semantics; args are lowercased here):
    eq, contains, startswith, endswith, glob (regex source from wildcards, fullmatch)
    cased_eq, cased_glob       (the `cased` modifier)
    re [pattern, flags]        Python `re.search`; flags a subset of "ims"
    num number, cmp [op, number], cidr "net", null, exists bool, bool bool, ref field
Field names lose a `.caseless` suffix: the in-process engines read it as the field itself.

Keywords (a detection item with no field) are searched *inside* values, as Chainsaw, Hayabusa
and Zircolite search them: `keyword_op` turns every keyword into `contains` (or, when it has
wildcards, an unanchored `glob`: `.*` on both ends), so a keyword matches anywhere in any string
value of the event, case-insensitively unless `cased`; wildcards inside it are still honoured.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pySigma is imported only when compiling (a warm cache never needs it)
    from sigma.types import (
        SigmaString,
    )

Node = list[Any]

_CMP = {"LT": "lt", "LTE": "lte", "GT": "gt", "GTE": "gte", "NEQ": "neq"}
_RE_FLAGS = {"IGNORECASE": "i", "MULTILINE": "m", "DOTALL": "s"}


class UnsupportedError(ValueError):
    """A construct the in-process engines cannot evaluate (reported, never silently dropped)."""


def field_name(name: str) -> str:
    return name.removesuffix(".caseless")


def _string_op(value: SigmaString) -> tuple[str, Any]:
    from sigma.types import Placeholder, SigmaCasedString, SpecialChars

    cased = isinstance(value, SigmaCasedString)
    parts = value.s
    for p in parts:
        if isinstance(p, Placeholder):
            raise UnsupportedError(f"unexpanded placeholder %{p.name}%")
    plain = [p for p in parts if isinstance(p, str)]
    specials = [p for p in parts if not isinstance(p, str)]

    def norm(s: str) -> str:
        return s if cased else s.lower()

    if not specials:
        return ("cased_eq" if cased else "eq"), norm("".join(plain))
    if not cased and len(plain) <= 1 and all(p is SpecialChars.WILDCARD_MULTI for p in specials):
        text = plain[0] if plain else ""
        if len(parts) == 1:  # just "*"
            return "glob", ".*"
        if len(parts) == 3 and parts[0] is SpecialChars.WILDCARD_MULTI and parts[2] is SpecialChars.WILDCARD_MULTI:
            return "contains", norm(text)
        if len(parts) == 2 and parts[1] is SpecialChars.WILDCARD_MULTI:
            return "startswith", norm(text)
        if len(parts) == 2 and parts[0] is SpecialChars.WILDCARD_MULTI:
            return "endswith", norm(text)
    pattern = []
    for p in parts:
        if p is SpecialChars.WILDCARD_MULTI:
            pattern.append(".*")
        elif p is SpecialChars.WILDCARD_SINGLE:
            pattern.append(".")
        elif isinstance(p, str):
            pattern.append(re.escape(norm(p)))
        else:
            raise UnsupportedError(f"special character {p!r} in a value")
    return ("cased_glob" if cased else "glob"), "".join(pattern)


def keyword_op(op: str, arg: Any) -> tuple[str, Any]:
    """(op, arg) of a keyword: the field op of the same value, made to match anywhere in a value.

    Returns `contains` for a plain or `*`-edged literal, an unanchored `glob`/`cased_glob` for
    other wildcards or `cased`, `re` unchanged (already a search), `contains` of the number's text
    for a number; raises UnsupportedError for values a keyword cannot be (null, exists, ...)."""
    if op in ("eq", "contains", "startswith", "endswith"):
        return "contains", arg
    if op in ("glob", "cased_glob"):
        return op, _unanchored(arg)
    if op == "cased_eq":
        return "cased_glob", _unanchored(re.escape(arg))
    if op == "re":
        return op, arg
    if op == "num":
        return "contains", str(arg).lower()
    raise UnsupportedError(f"keyword of type {op}")


def _unanchored(pattern: str) -> str:
    """A fullmatch glob regex that also matches inside a longer value (a redundant `.*` at an
    edge that already had one changes nothing)."""
    return f".*{pattern}.*"


def value_op(value: Any) -> tuple[str, Any]:
    """(op, arg) for one Sigma value."""
    from sigma.types import (
        SigmaBool,
        SigmaCIDRExpression,
        SigmaCompareExpression,
        SigmaExists,
        SigmaFieldReference,
        SigmaNull,
        SigmaNumber,
        SigmaRegularExpression,
        SigmaString,
    )

    if isinstance(value, SigmaString):
        return _string_op(value)
    if isinstance(value, SigmaRegularExpression):
        flags = "".join(sorted(_RE_FLAGS[f.name] for f in value.flags))
        pattern = str(value.regexp.original if hasattr(value.regexp, "original") else value.regexp)
        re.compile(pattern)
        return "re", [pattern, flags]
    if isinstance(value, SigmaCIDRExpression):
        return "cidr", str(value.network)
    if isinstance(value, SigmaCompareExpression):
        return "cmp", [_CMP[value.op.name], value.number.number]
    if isinstance(value, SigmaBool):
        return "bool", bool(value.boolean)
    if isinstance(value, SigmaNumber):
        return "num", value.number
    if isinstance(value, SigmaNull):
        return "null", None
    if isinstance(value, SigmaExists):
        return "exists", bool(value.exists)
    if isinstance(value, SigmaFieldReference):
        if value.starts_with or value.ends_with:
            raise UnsupportedError("field reference with startswith/endswith")
        return "ref", field_name(value.field)
    raise UnsupportedError(f"value type {type(value).__name__}")


def to_ir(cond: Any) -> Node:
    """Convert a parsed pySigma condition (after the pipeline ran) to IR."""
    from sigma.conditions import (
        ConditionAND,
        ConditionFieldEqualsValueExpression,
        ConditionNOT,
        ConditionOR,
        ConditionValueExpression,
    )
    from sigma.types import SigmaExpansion

    if isinstance(cond, ConditionAND | ConditionOR):
        kind = "and" if isinstance(cond, ConditionAND) else "or"
        kids: list[Node] = []
        for arg in cond.args:
            sub = to_ir(arg)
            kids.extend(sub[1] if sub[0] == kind else [sub])
        return [kind, kids]
    if isinstance(cond, ConditionNOT):
        return ["not", to_ir(cond.args[0])]
    if isinstance(cond, ConditionFieldEqualsValueExpression):
        if isinstance(cond.value, SigmaExpansion):
            return ["or", [to_ir(ConditionFieldEqualsValueExpression(cond.field, v)) for v in cond.value.values]]
        op, arg = value_op(cond.value)
        if cond.field is None:
            return ["kw", *keyword_op(op, arg)]
        return ["m", field_name(cond.field), op, arg]
    if isinstance(cond, ConditionValueExpression):
        if isinstance(cond.value, SigmaExpansion):
            return ["or", [to_ir(ConditionValueExpression(v)) for v in cond.value.values]]
        op, arg = value_op(cond.value)
        return ["kw", *keyword_op(op, arg)]
    raise UnsupportedError(f"condition element {type(cond).__name__}")


def fields_of(node: Node) -> set[str]:
    """Every document field an IR tree reads."""
    if node[0] in ("and", "or"):
        out: set[str] = set()
        for kid in node[1]:
            out |= fields_of(kid)
        return out
    if node[0] == "not":
        return fields_of(node[1])
    if node[0] == "m":
        return {node[1]} | ({node[3]} if node[2] == "ref" else set())
    return set()


def required_fields(node: Node) -> set[str]:
    """Fields that must be present in any document the tree matches (for rule indexing)."""
    kind = node[0]
    if kind == "and":
        out: set[str] = set()
        for kid in node[1]:
            out |= required_fields(kid)
        return out
    if kind == "or":
        sets = [required_fields(k) for k in node[1]]
        return set.intersection(*sets) if sets else set()
    if kind == "m" and node[2] not in ("null", "exists"):
        return {node[1]}
    if kind == "m" and node[2] == "exists" and node[3]:
        return {node[1]}
    return set()


def required_equals(node: Node, fld: str) -> set[str] | None:
    """Values `fld` must equal (caseless) for the tree to match, or None if unconstrained."""
    kind = node[0]
    if kind == "and":
        for kid in node[1]:
            got = required_equals(kid, fld)
            if got is not None:
                return got
        return None
    if kind == "or":
        acc: set[str] = set()
        for kid in node[1]:
            got = required_equals(kid, fld)
            if got is None:
                return None
            acc |= got
        return acc
    if kind == "m" and node[1] == fld and node[2] == "eq":
        return {node[3]}
    return None


def assume_equal(node: Node, known: dict[str, str]) -> Node:
    """The tree for documents whose fields in `known` equal the given (lowercased) values: each
    `eq` leaf on such a field becomes a constant, and constants fold away (a decided `and`/`or`/
    `not` becomes one), so the engine does not test again what picked the rule's bucket. The
    same verdict as `node` on every such document."""
    kind = node[0]
    if kind == "m" and node[2] == "eq" and node[1] in known:
        return ["const", node[3] == known[node[1]]]
    if kind == "not":
        inner = assume_equal(node[1], known)
        return ["const", not inner[1]] if inner[0] == "const" else ["not", inner]
    if kind in ("and", "or"):
        decides = kind == "or"  # a true kid decides an `or`, a false one an `and`
        kids: list[Node] = []
        for kid in node[1]:
            kid = assume_equal(kid, known)
            if kid[0] == "const":
                if bool(kid[1]) == decides:
                    return ["const", decides]
                continue
            kids.append(kid)
        if not kids:
            return ["const", not decides]
        return kids[0] if len(kids) == 1 else [kind, kids]
    return node
