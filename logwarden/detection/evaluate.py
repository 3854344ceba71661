"""Evaluate IR trees (see ir.py) against documents, in process (hunt and stream engines).

Documents are flattened once (`flatten`) to {"dotted.field": value}; a predicate is then a
closure `pred(flat) -> bool`. Strings compare case-insensitively; a list value matches when any
element does; a missing field matches nothing except `null` / `exists: false`. A keyword
(`kw`, see ir.keyword_op) is found inside any string value of the document, whatever its field
(except the stored raw input, NOT_KEYWORD_SEARCHED).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from .ir import Node, UnsupportedError
from .regex import any_literal, compile_search

Flat = dict[str, Any]
Pred = Callable[[Flat], bool]


LC = "\0lc"  # key of the lowercased-strings cache inside a flat document
# copies of the raw input kept for reprocessing (stored, not indexed: Elasticsearch cannot search
# them), so keywords search the event's parsed values only, in every engine
NOT_KEYWORD_SEARCHED = frozenset({"event.original", "event.original_base64"})
KWS = "\0kws"  # lazily: the lowercased string values joined (keyword rules), see kw_text()


def _flat_into(doc: dict[str, Any], prefix: str, out: Flat, lc: dict[str, Any]) -> None:
    for key, value in doc.items():
        name = prefix + key
        t = type(value)
        if t is str:
            out[name] = value
            lc[name] = value.lower()
        elif t is dict:
            _flat_into(value, name + ".", out, lc)
        elif t is int:  # what _lower gives, without its type tests (digits have no case)
            out[name] = value
            lc[name] = str(value)
        else:
            out[name] = value
            lc[name] = _lower(value)


def _flat_into_some(doc: dict[str, Any], prefix: str, out: Flat, lc: dict[str, Any], lowered: frozenset[str]) -> None:
    """`_flat_into`, with the lowercased text of the fields in `lowered` only."""
    for key, value in doc.items():
        name = prefix + key
        t = type(value)
        if t is dict:
            _flat_into_some(value, name + ".", out, lc, lowered)
            continue
        out[name] = value
        if name in lowered:
            lc[name] = value.lower() if t is str else str(value) if t is int else _lower(value)


def _lower(v: Any) -> Any:
    if type(v) is str:
        return v.lower()
    if isinstance(v, list):
        return [_lower(x) for x in v]
    t = _text(v)
    return None if t is None else t.lower()


def flatten(doc: dict[str, Any], lowered: frozenset[str] | None = None) -> Flat:
    """{"dotted.field": value}, plus the lowercased text of the values under LC (computed once
    per document, so a thousand case-insensitive rules do not lowercase it a thousand times):
    of every field, or only of the fields in `lowered` (`Detector.lowered`: the fields its rules
    and its prefilter read lowercased; a third of a Windows event's, a third of the work)."""
    out: Flat = {}
    lc: dict[str, Any] = {}
    if lowered is None:
        _flat_into(doc, "", out, lc)
    else:
        _flat_into_some(doc, "", out, lc, lowered)
    out[LC] = lc
    return out


# A partial flat (`flatten_partial`): only the fields some compiled rule reads, and under PARTIAL
# the document and the lowered field names, to make the whole flat (`complete`) when a rule
# matched (alerts and correlations read any field) or a keyword needs every value
PARTIAL = "\0partial"
JSON_SCREEN = "\0jsonscreen"  # lazily: a partial flat's document as JSON text, lowercased (json_screen())
SPLIT_DOTS_MAX = 8  # a field name with more dots has 2^dots spellings: such rule sets flatten in full
FieldPaths = dict[str, list[Any]]  # document key -> [dotted name or None, the keys below it]


def _splits(parts: list[str]) -> list[list[str]]:
    """Every way to write a dotted name's parts as nested keys (a key may hold dots itself):
    ["a", "b", "c"] -> [["a", "b", "c"], ["a", "b.c"], ["a.b", "c"], ["a.b.c"]]."""
    if len(parts) == 1:
        return [parts]
    out = []
    for rest in _splits(parts[1:]):
        out.append([parts[0], *rest])
        out.append([parts[0] + "." + rest[0], *rest[1:]])
    return out


def field_paths(names: Iterable[str]) -> FieldPaths | None:
    """A tree of document keys that leads to each of `names` however the document nests it (every
    spelling in `_splits`), for `flatten_partial`; None when a name has more than SPLIT_DOTS_MAX dots."""
    root: FieldPaths = {}
    for name in names:
        parts = name.split(".")
        if len(parts) > SPLIT_DOTS_MAX + 1:
            return None
        for keys in _splits(parts):
            node = root
            for key in keys[:-1]:
                node = node.setdefault(key, [None, {}])[1]
            node.setdefault(keys[-1], [None, {}])[0] = name
    return root


def _flat_along(doc: dict[str, Any], paths: FieldPaths, out: Flat, lc: dict[str, Any]) -> None:
    """`_flat_into_some` for the names `paths` leads to only: the same values, written in the
    document's order (so a name two spellings reach keeps the later value, as in `flatten`)."""
    for key, value in doc.items():
        entry = paths.get(key)
        if entry is None:
            continue
        t = type(value)
        if t is dict:
            if entry[1]:
                _flat_along(value, entry[1], out, lc)
            continue
        name = entry[0]
        if name is not None:
            out[name] = value
            lc[name] = value.lower() if t is str else str(value) if t is int else _lower(value)


def flatten_partial(doc: dict[str, Any], paths: FieldPaths, lowered: frozenset[str]) -> Flat:
    """A partial flat: `flatten(doc, lowered)` restricted to the fields in `lowered` (`paths` is
    `field_paths(lowered)`), plus what `complete` needs to make the whole one. Every predicate
    `compile_pred` makes for rules reading only `lowered` answers on it as on the whole flat."""
    out: Flat = {}
    lc: dict[str, Any] = {}
    _flat_along(doc, paths, out, lc)
    out[LC] = lc
    out[PARTIAL] = (doc, lowered)
    return out


def complete(d: Flat) -> None:
    """Make a partial flat (`flatten_partial`) the whole `flatten(doc, lowered)`, in place (same
    keys in the same order); a whole flat is left as it is."""
    part = d.get(PARTIAL)
    if part is None:
        return
    doc, lowered = part
    d.clear()
    lc: dict[str, Any] = {}
    _flat_into_some(doc, "", d, lc, lowered)
    d[LC] = lc


def json_needle(literal: str) -> str | None:
    """What `json_screen` holds where a value's lowercased text holds `literal` (a lowercased
    keyword): the literal as a JSON string's inside (each character escaped on its own),
    lowercased. None when no screen is exact for it: a sigma (lowercased by its neighbours, which
    differ between a value and its JSON text) or a lone surrogate (no JSON text)."""
    if "σ" in literal or "ς" in literal:
        return None
    try:
        return orjson.dumps(literal)[1:-1].decode("utf-8").lower()
    except TypeError:
        return None


def json_screen(d: Flat) -> str:
    """For a partial flat: the document's JSON text (orjson), lowercased, cached; "" when orjson
    cannot write it (a lone surrogate, an integer beyond 64 bits, a key that is not a string).
    Each string value is in it escaped character by character, so where a value's lowercased
    text holds a keyword, this holds the keyword's `json_needle` (keys and the raw input too: a
    screen, never the decision)."""
    got = d.get(JSON_SCREEN)
    if got is None:
        part = d.get(PARTIAL)
        try:
            got = orjson.dumps(part[0]).decode("utf-8").lower() if part is not None else ""
        except TypeError:
            got = ""
        d[JSON_SCREEN] = got
    return got


def kw_text(d: Flat) -> str:
    """The lowercased string values of the document joined by NUL (what a keyword `contains`
    searches: one substring test finds a keyword in any value), cached in the document. Joined,
    then lowercased once: NUL is neither cased nor case-ignorable, so no value's lowercasing (the
    final sigma's context included) sees its neighbours, and the text is the values' own
    lowercased text joined. A partial flat is made whole first."""
    got = d.get(KWS)
    if got is None:
        complete(d)
        vals: list[str] = []
        for k, v in d.items():
            if k in NOT_KEYWORD_SEARCHED:
                continue
            t = type(v)
            if t is str:
                vals.append(v)
            elif t is list:
                vals.extend(x for x in v if isinstance(x, str))
            elif isinstance(v, str):  # a str subclass
                vals.append(v)
        got = d[KWS] = "\0".join(vals).lower()
    return got


def _values(value: Any) -> Iterable[Any]:
    if isinstance(value, list):
        return value
    return (value,)


def _text(v: Any) -> str | None:
    if v is None or isinstance(v, dict | list):
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return v
    try:
        return float(str(v).strip())
    except ValueError:
        try:
            return int(str(v).strip(), 0)
        except ValueError:
            return None


def _string_test(op: str, arg: Any) -> Callable[[str], bool]:
    if op == "eq":
        return lambda s: s.lower() == arg
    if op == "contains":
        return lambda s: arg in s.lower()
    if op == "startswith":
        return lambda s: s.lower().startswith(arg)
    if op == "endswith":
        return lambda s: s.lower().endswith(arg)
    if op == "glob":
        rx = re.compile(arg, re.IGNORECASE | re.DOTALL)
        return lambda s: rx.fullmatch(s) is not None
    if op == "cased_eq":
        return lambda s: s == arg
    if op == "cased_glob":
        rx = re.compile(arg, re.DOTALL)
        return lambda s: rx.fullmatch(s) is not None
    if op == "re":  # linear time whatever the rule says (see regex.py)
        pattern, flags = arg
        return compile_search(pattern, flags)
    raise UnsupportedError(f"string op {op}")


LOWERED_OPS = frozenset({"eq", "contains", "startswith", "endswith", "glob"})


def _lowered_test(op: str, arg: Any) -> Callable[[str], bool]:
    """Tests on already-lowercased text (args are lowercased by the compiler)."""
    if op == "eq":
        return arg.__eq__
    if op == "contains":
        return lambda s: arg in s
    if op == "startswith":
        return lambda s: s.startswith(arg)
    if op == "endswith":
        return lambda s: s.endswith(arg)
    rx = re.compile(arg, re.IGNORECASE | re.DOTALL)
    return lambda s: rx.fullmatch(s) is not None


def _value_test(op: str, arg: Any) -> Callable[[Any], bool]:
    """Test for one scalar document value."""
    if op in ("eq", "contains", "startswith", "endswith", "glob", "cased_eq", "cased_glob", "re"):
        st = _string_test(op, arg)

        def test(v: Any) -> bool:
            s = _text(v)
            return s is not None and st(s)

        return test
    if op == "num":
        target = arg

        def test_num(v: Any) -> bool:
            n = _num(v)
            return n is not None and n == target

        return test_num
    if op == "cmp":
        cmp, target = arg
        fn = {
            "lt": lambda n: n < target,
            "lte": lambda n: n <= target,
            "gt": lambda n: n > target,
            "gte": lambda n: n >= target,
            "neq": lambda n: n != target,
        }[cmp]

        def test_cmp(v: Any) -> bool:
            n = _num(v)
            return n is not None and fn(n)

        return test_cmp
    if op == "cidr":
        net = ipaddress.ip_network(arg)

        def test_cidr(v: Any) -> bool:
            try:
                return ipaddress.ip_address(str(v).strip()) in net
            except ValueError:
                return False

        return test_cidr
    if op == "bool":
        want = "true" if arg else "false"
        return lambda v: _text(v) is not None and _text(v).lower() == want  # type: ignore[union-attr]
    raise UnsupportedError(f"value op {op}")


GROUPABLE = frozenset({"eq", "contains", "startswith", "endswith"})


def _group_pred(fld: str | None, op: str, args: list[str]) -> Pred:
    """One predicate for an OR of same-field, same-op lowercased leaves (same verdict, fewer calls)."""
    if fld is None:  # keywords (contains, none holding NUL: see _or_kids)
        literals = tuple(dict.fromkeys(args))
        found_in = any_literal(literals)
        needles = tuple(n for n in map(json_needle, literals) if n is not None)
        screened_in = any_literal(tuple(dict.fromkeys(needles))) if len(needles) == len(literals) else None

        def test_keywords(d: Flat) -> bool:  # the text once per call, not once per keyword
            if screened_in is not None and PARTIAL in d:
                screen = json_screen(d)
                if screen and not screened_in(screen):
                    return False
            return found_in(kw_text(d))

        return test_keywords
    if op == "eq":
        argset = frozenset(args)

        def one(s: str) -> bool:
            return s in argset
    elif op == "startswith":
        tup = tuple(args)

        def one(s: str) -> bool:
            return s.startswith(tup)
    elif op == "endswith":
        tup = tuple(args)

        def one(s: str) -> bool:
            return s.endswith(tup)
    else:
        chars = frozenset(a for a in args if len(a) == 1)
        tup = tuple(dict.fromkeys(a for a in args if len(a) != 1))
        firsts = frozenset(a[0] for a in tup if a)
        screen = len(tup) > 4 and "" not in tup  # a literal can only occur where its first char does

        def one(s: str) -> bool:
            if chars and not chars.isdisjoint(s):
                return True
            if screen and firsts.isdisjoint(s):
                return False
            for a in tup:
                if a in s:
                    return True
            return False

    def test_group(d: Flat) -> bool:
        v = d[LC].get(fld)
        if v is None:
            return False
        if isinstance(v, list):
            return any(x is not None and one(x) for x in v)
        return one(v)

    return test_group


def _or_kids(kids: list[Node]) -> list[Pred]:
    groups: dict[tuple[str | None, str], list[str]] = {}
    rest: list[Node] = []
    for k in kids:
        if k[0] == "m" and k[2] in GROUPABLE:
            groups.setdefault((k[1], k[2]), []).append(k[3])
        elif k[0] == "kw" and k[1] == "contains" and "\0" not in k[2]:
            groups.setdefault((None, "contains"), []).append(k[2])
        else:
            rest.append(k)
    preds: list[Pred] = []
    for (fld, op), args in groups.items():
        if len(args) == 1:
            preds.append(compile_pred(["m", fld, op, args[0]] if fld is not None else ["kw", op, args[0]]))
        else:
            preds.append(_group_pred(fld, op, args))
    preds.extend(compile_pred(k) for k in rest)
    return preds


def compile_pred(node: Node) -> Pred:
    kind = node[0]
    if kind in ("and", "or"):
        kids = _or_kids(node[1]) if kind == "or" else [compile_pred(k) for k in node[1]]
        if len(kids) == 1:
            return kids[0]
        if len(kids) == 2:
            a, b = kids
            return (lambda d: a(d) and b(d)) if kind == "and" else (lambda d: a(d) or b(d))
        if kind == "and":
            def all_of(d: Flat) -> bool:
                for k in kids:
                    if not k(d):
                        return False
                return True

            return all_of

        def any_of(d: Flat) -> bool:
            for k in kids:
                if k(d):
                    return True
            return False

        return any_of
    if kind == "not":
        inner = compile_pred(node[1])
        return lambda d: not inner(d)
    if kind == "const":
        val = bool(node[1])
        return lambda d: val
    if kind == "m":
        fld, op, arg = node[1], node[2], node[3]
        if op == "null":
            return lambda d: d.get(fld) in (None, [])
        if op == "exists":
            want = bool(arg)
            return lambda d: (d.get(fld) not in (None, [])) == want
        if op == "ref":
            def test_ref(d: Flat) -> bool:
                a, b = _text(d.get(fld)), _text(d.get(arg))
                return a is not None and b is not None and a.lower() == b.lower()

            return test_ref
        if op in LOWERED_OPS:
            lt = _lowered_test(op, arg)

            def test_lowered(d: Flat) -> bool:
                v = d[LC].get(fld)
                if v is None:
                    return False
                if isinstance(v, list):
                    return any(x is not None and lt(x) for x in v)
                return lt(v)

            return test_lowered
        test = _value_test(op, arg)

        def test_field(d: Flat) -> bool:
            v = d.get(fld)
            if v is None:
                return False
            if isinstance(v, list):
                return any(test(x) for x in v)
            return test(v)

        return test_field
    if kind == "kw":
        if node[1] == "contains" and "\0" not in node[2]:
            want, needle = node[2], json_needle(node[2])

            def test_keyword(d: Flat) -> bool:
                if needle is not None and PARTIAL in d:
                    screen = json_screen(d)
                    if screen and needle not in screen:
                        return False
                return want in kw_text(d)

            return test_keyword
        test = _value_test(node[1], node[2])

        def test_kw(d: Flat) -> bool:
            complete(d)
            for k, v in d.items():
                if k[:1] == "\0" or k in NOT_KEYWORD_SEARCHED:
                    continue
                for x in _values(v):
                    if isinstance(x, str) and test(x):
                        return True
            return False

        return test_kw
    raise UnsupportedError(f"IR node {kind}")
