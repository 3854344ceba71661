"""Evaluate IR trees (see ir.py) against documents, in process (hunt and stream engines).

Documents are flattened once (`flatten`) to {"dotted.field": value}; a predicate is then a
closure `pred(flat) -> bool`. Strings compare case-insensitively; a list value matches when any
element does; a missing field matches nothing except `null` / `exists: false`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any

from .ir import Node, UnsupportedError

Flat = dict[str, Any]
Pred = Callable[[Flat], bool]


LC = "\0lc"  # key of the lowercased-strings cache inside a flat document


def _flat_into(doc: dict[str, Any], prefix: str, out: Flat) -> None:
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flat_into(value, name + ".", out)
        else:
            out[name] = value


def _lower(v: Any) -> Any:
    if isinstance(v, list):
        return [_lower(x) for x in v]
    t = _text(v)
    return None if t is None else t.lower()


def flatten(doc: dict[str, Any]) -> Flat:
    """{"dotted.field": value}, plus the lowercased text of every value under LC (computed once
    per document, so a thousand case-insensitive rules do not lowercase it a thousand times)."""
    out: Flat = {}
    _flat_into(doc, "", out)
    out[LC] = {k: _lower(v) for k, v in out.items()}
    return out


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
    if op == "re":
        pattern, flags = arg
        f = 0
        for ch, bit in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)):
            if ch in flags:
                f |= bit
        rx = re.compile(pattern, f)
        return lambda s: rx.search(s) is not None
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


def compile_pred(node: Node) -> Pred:
    kind = node[0]
    if kind in ("and", "or"):
        kids = [compile_pred(k) for k in node[1]]
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
        test = _value_test(node[1], node[2])

        def test_kw(d: Flat) -> bool:
            for k, v in d.items():
                if k == LC:
                    continue
                for x in _values(v):
                    if isinstance(x, str) and test(x):
                        return True
            return False

        return test_kw
    raise UnsupportedError(f"IR node {kind}")
