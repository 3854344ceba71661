"""Literals that every value a glob or a regular expression matches must hold, written as they
appear in that value's lowercased text: what lets the prefilter anchor rules whose conditions
are wildcards (`glob`) or regexes (`re`) instead of evaluating them on every event (issue 12).

A necessary condition only (the prefilter is an accelerator, never an evaluator): a literal is
returned only where a match provably contains it in the lowercased value.
- A glob (compiler-made: `.*`, `.` and `re.escape`d text, fullmatched case-insensitively on the
  lowercased value) holds each of its text pieces.
- A regex holds the runs of plain characters of its top-level sequence (no group, branch or
  repetition is looked into). Case-sensitive: ASCII runs, lowercased (lowercasing maps each
  ASCII character on its own; only Greek capital sigma looks at its neighbours).
- Case-insensitive (a glob, or a regex with `i`): only characters that every engine here folds
  to themselves (CASE_SAFE): `i` also matches the dotless `ı` in Python's `re`, `s` the long `ſ`
  in Python's `re` and RE2, and neither lowercases to the ASCII letter. Runs are split there.
tests/detection/test_required_literals.py checks CASE_SAFE over every code point, with both engines.
"""

from __future__ import annotations

import re
import string

# printable ASCII whose case-insensitive matches (Python re and RE2, every code point) all
# lowercase to the character's own lowercase
CASE_SAFE = frozenset(string.printable) - frozenset("iIsS")


def _runs(chars: list[str | None], safe: frozenset[str] | None) -> list[str]:
    """The maximal runs of characters in `chars` (None breaks a run; so does a character outside
    `safe` when given), lowercased."""
    runs: list[str] = []
    current: list[str] = []
    for ch in chars:
        if ch is None or (safe is not None and ch not in safe):
            if current:
                runs.append("".join(current).lower())
            current = []
        else:
            current.append(ch)
    if current:
        runs.append("".join(current).lower())
    return runs


def glob_literals(pattern: str) -> list[str]:
    """The text pieces of a compiler-made glob pattern (ir._string_op: `.*`, `.`, escaped text)
    that every value it fullmatches case-insensitively holds in its lowercased text."""
    chars: list[str | None] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            chars.append(pattern[i + 1])
            i += 2
        elif ch == ".":
            chars.append(None)
            i += 2 if pattern[i + 1:i + 2] == "*" else 1
        elif ch in "*+?()[]{}|^$":  # not what the compiler writes: nothing is claimed past it
            chars.append(None)
            i += 1
        else:
            chars.append(ch)
            i += 1
    return _runs(chars, CASE_SAFE)


def regex_literals(pattern: str, flags: str) -> list[str]:
    """The runs of plain characters of the regex's top-level sequence, lowercased, that every value
    it finds a match in holds in its lowercased text; [] when the pattern does not parse."""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    try:
        parsed = _parser.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return []
    caseless = "i" in flags or bool(parsed.state.flags & re.IGNORECASE)
    chars: list[str | None] = []
    for op, av in parsed:
        chars.append(chr(av) if op == c.LITERAL else None)
    if caseless:
        return _runs(chars, CASE_SAFE)
    return _runs([ch if ch is not None and ch.isascii() else None for ch in chars], None)
