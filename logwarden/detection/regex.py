"""Rule regular expressions (`|re`) evaluated in time linear in the value, whatever the rule says.

Python's `re` backtracks: a third-party rule with `(a+)+$` takes minutes on a 41-character value
(2^41 paths) and stops hunt, stream and the Elasticsearch confirmation step alike. Decision:
every pattern RE2 accepts runs on RE2 (google-re2: an automaton, linear time, no budget needed;
all 153 regexes of SigmaHQ's Windows rules are accepted). A pattern RE2 refuses (lookaround,
backreference) runs on Python's `re` only when `backtracking_risk` finds no nested or adjacent
unbounded repetition; otherwise the rule is not evaluated and says why (never a hang).
RE2's `\\d`, `\\w`, `\\s`, `\\b` are ASCII (as in Lucene's regexp), Python's are Unicode.
`rules check` warns about every risky pattern, whichever engine would run it: other consumers of
the rule (a SIEM's backtracking engine) may not be as safe.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .ir import UnsupportedError

try:
    import re2
except ImportError:  # pragma: no cover - a dependency; without it every risky pattern is refused
    re2 = None  # type: ignore[assignment]

_PY_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}
_UNBOUNDED = 1 << 16  # a repeat with a larger maximum counts as unbounded (sre's MAXREPEAT is 4G)


def _re2_options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print parse errors on stderr itself
    return options


def _repeat_ops() -> tuple[Any, ...]:
    from re import _constants as c  # type: ignore[attr-defined]

    return (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT))


def _has_unbounded(items: Any) -> bool:
    from re import _constants as c  # type: ignore[attr-defined]

    for op, av in items:
        if op in _repeat_ops():
            low, high, body = av
            if high >= _UNBOUNDED or _has_unbounded(body):
                return True
        elif op == c.SUBPATTERN:
            if _has_unbounded(av[-1]):
                return True
        elif op == c.BRANCH:
            if any(_has_unbounded(alt) for alt in av[1]):
                return True
        elif op in (c.ASSERT, c.ASSERT_NOT):
            if _has_unbounded(av[1]):
                return True
    return False


def _nested(items: Any) -> str | None:
    from re import _constants as c  # type: ignore[attr-defined]

    for op, av in items:
        if op in _repeat_ops():
            low, high, body = av
            if high >= _UNBOUNDED and _has_unbounded(body):
                return "an unbounded repetition inside another (e.g. (a+)+)"
            found = _nested(body)
            if found:
                return found
        elif op == c.SUBPATTERN:
            found = _nested(av[-1])
            if found:
                return found
        elif op == c.BRANCH:
            for alt in av[1]:
                found = _nested(alt)
                if found:
                    return found
        elif op in (c.ASSERT, c.ASSERT_NOT):
            found = _nested(av[1])
            if found:
                return found
    return None


def backtracking_risk(pattern: str) -> str | None:
    """Why `pattern` can take exponential time in a backtracking engine, or None when the
    (partial, syntactic) check finds nothing. Raises re.error for an invalid pattern."""
    from re import _parser  # type: ignore[attr-defined]

    return _nested(_parser.parse(pattern))


def _utf8(s: str) -> bytes:
    """`s` as UTF-8 for RE2; a lone surrogate (JSON's `"\\ud800"` decodes to one) becomes U+FFFD,
    as a UTF-8 reader replaces what it cannot decode: such a value is data to match, never an
    exception that stops hunt or a stream member on one message."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


def _re2_search(rx2: Any) -> Callable[[str], bool]:
    """`value -> does rx2 occur in it`. google-re2's `search` builds a match object through a
    Python generator (~3 µs a call, a few calls per event with the SigmaHQ rule set); asking the
    compiled RE2 object directly for the first span gives the same answer without them. Falls back
    to `search` when the binding does not have the parts this needs."""
    regexp, anchor = getattr(rx2, "_regexp", None), getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
    if regexp is None or anchor is None:
        search = rx2.search
        return lambda s: search(_utf8(s).decode("utf-8")) is not None
    no_match = (-1, -1)

    def search_first(s: str) -> bool:
        encoded = _utf8(s)
        return bool(regexp.Match(anchor, encoded, 0, len(encoded))[0] != no_match)

    return search_first


def compile_search(pattern: str, flags: str) -> Callable[[str], bool]:
    """A test `value -> does pattern occur in it` (re.search semantics, flags a subset of "ims").

    Runs on RE2 when RE2 accepts the pattern; on Python's re when it does not and the pattern
    shows no backtracking risk. Raises UnsupportedError otherwise (the rule is reported, not run)."""
    if re2 is not None:
        try:
            rx2 = re2.compile("".join(f"(?{ch})" for ch in sorted(flags)) + pattern, _re2_options())
        except re2.error:
            pass
        else:
            return _re2_search(rx2)
    risk = backtracking_risk(pattern)
    if risk:
        raise UnsupportedError(f"regex {pattern!r} needs a backtracking engine and has {risk}: "
                               "it could run for minutes on one value")
    py_flags = 0
    for ch in flags:
        py_flags |= _PY_FLAGS[ch]
    search = re.compile(pattern, py_flags).search
    return lambda s: search(s) is not None


LITERALS_PER_PASS = 8  # from this many literals up, one RE2 pass beats one `in` scan per literal (kw text ~1 KB)


def any_literal(literals: tuple[str, ...]) -> Callable[[str], bool]:
    """A test `text -> does one of `literals` occur in it` (the answer of `any(a in text ...)`).

    With LITERALS_PER_PASS or more non-empty literals and RE2 present, one RE2 pass over the text
    looks for all of them at once (an alternation of the escaped literals: a literal's UTF-8 bytes
    occur in the text's exactly where the literal occurs in the text); otherwise, and for a text
    RE2 cannot take (a lone surrogate cannot be encoded, in the text or in a literal), one `in`
    scan per literal."""

    def each(text: str) -> bool:
        for literal in literals:
            if literal in text:
                return True
        return False

    if re2 is None or len(literals) < LITERALS_PER_PASS or "" in literals:
        return each
    try:
        rx2 = re2.compile("|".join(re2.escape(literal) for literal in literals),  # type: ignore[attr-defined]
                          _re2_options())
    except (re2.error, UnicodeEncodeError):  # a literal RE2 cannot take (a lone surrogate)
        return each
    one_pass = _re2_search(rx2)

    def search(text: str) -> bool:
        try:
            return one_pass(text)
        except UnicodeEncodeError:
            return each(text)

    return search
