"""Huawei's comma-separated `Key=value` bodies read through templates learned from repeated shapes.

`parser.kv_pairs` reads a body segment by segment (split at commas, each segment cached); a segment
holding a new address, port or time misses that cache, so a stream where every address is new pays
the whole reading on most segments. A device writes one log type with the same keys in the same
order, line after line: a template is one compiled pattern for such a shape, the learned line's text
as literals with a slot for each value, so a matching body is read by one `fullmatch` and
`dict(zip(keys, groups))`.

Why a match is kv_pairs' reading, exactly. A template is made only from a body that kv_pairs reads
by its split path (at most one pair of parentheses, no `=` outside them, no `;` inside, every segment
with `=` naming a key, every quoted value closed with no `=` after its quote, no key written twice),
and only when every value is one of: a bare value `PRE V POST`, PRE spaces and POST spaces with at
most one `.` (kv_pairs' strip and closing-period cut remove them); a quoted value `"PRE V POST"TAIL`
with PRE/POST spaces and TAIL a literal without `=`; or an empty or `-` value. A slot's V holds
no character of `,;()"=`, no whitespace at either end (re's `\\s` is the set str.strip removes,
tested) and for a bare value no `.` at the end; an empty V or `-` is read as None. Everything else in the pattern is
the learned text. So a matching text has the learned parentheses, commas and keys, no `;` between the
parentheses, and each value reads as V (V absent, empty or `-`: None): kv_pairs' result, keys in the
same order. Any other text (an extra key, a doubled space, a quote, a `;`, a parenthesis, `=` in a
value, a repeated key) matches no template and is read by kv_pairs.

Lookup by a cheap signature (the counts of `=` and `,`), at most PER_SIGNATURE templates each;
learning and its bounds are keyvalue.PairTemplates' (see there): a signature's 2nd to
LEARN_EACH_UNTIL-th sighting on the general path, then the 32nd, 64th ...; MAX_TEMPLATES templates,
SIGNATURES_MAX signature counts, a full table emptied after RELEARN_AFTER more general readings.
tests/textlogs/test_huawei_kv.py compares the result with kv_pairs' on generated and hostile text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Pairs = dict[str, str | None]
_FullMatch = Callable[[str], "re.Match[str] | None"]

_KEY_AT_END = re.compile(r"[A-Za-z][\w-]*\Z")  # kv_pairs' key: the longest key ending the text before `=`
# a value's slot: no `,;()"=`, no whitespace at either end (an empty value: "", read as None); a bare
# value does not end with `.`; one class repeat and two one-character assertions (cheaper in re
# than a group holding the ends' classes)
_BARE = r'((?!\s)[^,;()"=]*)(?<![\s.])'
_QUOTED = r'((?!\s)[^,;()"=]*)(?<!\s)'
_BARE_VALUE = re.compile(_BARE).fullmatch
_QUOTED_VALUE = re.compile(_QUOTED).fullmatch
_SPACES = re.compile(r"\s*").fullmatch
_SPACES_PERIOD = re.compile(r"\s*\.?\s*").fullmatch


class BodyTemplates:
    """kv_pairs(text) (the `general` reader) read through learned templates; the module docstring
    says why a match gives exactly the general reading."""

    MAX_TEMPLATES = 64
    PER_SIGNATURE = 4
    MAX_PAIRS = 128
    SIGNATURES_MAX = 4096
    RELEARN_AFTER = 65_536
    LEARN_EACH_UNTIL = 16

    def __init__(self, general: Callable[[str], Pairs]) -> None:
        self._general = general
        self._templates: dict[tuple[int, int], list[tuple[tuple[str, ...], _FullMatch]]] = {}
        self._template_count = 0
        self._sightings: dict[tuple[int, int], int] = {}
        self._general_since_full = 0

    def pairs(self, text: str) -> Pairs:
        """The general reading of `text`, whatever the text; learns a template from it when its shape
        keeps coming back. The result is a new dict (the caller may change it)."""
        signature = (text.count("="), text.count(","))
        candidates = self._templates.get(signature)
        if candidates is not None:
            for keys, fullmatch in candidates:
                found = fullmatch(text)
                if found is not None:
                    read: Pairs = dict(zip(keys, found.groups(), strict=False))
                    values = read.values()
                    if "" in values or "-" in values:  # kv_pairs reads an empty value or `-` as None
                        return _read(keys, found)
                    return read
        pairs = self._general(text)
        if self._template_count >= self.MAX_TEMPLATES:
            self._general_since_full += 1
            if self._general_since_full >= self.RELEARN_AFTER:
                self.clear()
            return pairs
        seen = self._sightings.get(signature, 0) + 1
        if len(self._sightings) >= self.SIGNATURES_MAX:
            self._sightings.clear()
        self._sightings[signature] = seen
        if seen > 1 and (seen <= self.LEARN_EACH_UNTIL or seen & (seen - 1) == 0):
            self._learn(text, signature, pairs)
        return pairs

    def clear(self) -> None:
        """Forget every template and signature count."""
        self._templates.clear()
        self._template_count = 0
        self._sightings.clear()
        self._general_since_full = 0

    def __len__(self) -> int:
        """How many templates are held."""
        return self._template_count

    def _learn(self, text: str, signature: tuple[int, int], pairs: Pairs) -> None:
        """Keep a template of `text`'s shape when it has room and the text is in the shape the
        module docstring allows."""
        if self._template_count >= self.MAX_TEMPLATES or not 0 < len(pairs) <= self.MAX_PAIRS:
            return
        candidates = self._templates.get(signature, [])
        if len(candidates) >= self.PER_SIGNATURE:
            return
        made = template(text)
        if made is None:
            return
        keys, pattern = made
        fullmatch = re.compile(pattern).fullmatch
        found = fullmatch(text)
        if found is None or list(_read(keys, found).items()) != list(pairs.items()):  # so by construction: a guard
            return
        # a new list, so that a reader in another thread never sees one half-made
        self._templates[signature] = [*candidates, (keys, fullmatch)]
        self._template_count += 1


def _read(keys: tuple[str, ...], found: re.Match[str]) -> Pairs:
    return {key: value if value and value != "-" else None for key, value in zip(keys, found.groups(), strict=True)}


def template(text: str) -> tuple[tuple[str, ...], str] | None:
    """(keys, pattern) of `text`'s shape, or None when the text is not in a shape a template reads
    exactly (the module docstring)."""
    if text.count("(") > 1 or text.count(")") > 1:
        return None
    open_at = text.find("(")
    close_at = text.find(")")
    if (open_at < 0) != (close_at < 0):
        return None
    if open_at >= 0:
        if close_at < open_at or "=" in text[:open_at] or "=" in text[close_at:]:
            return None
        start, end = open_at + 1, close_at
    else:
        start, end = 0, len(text)
    if ";" in text[start:end]:
        return None
    keys: list[str] = []
    parts = [re.escape(text[:start])]
    for n, segment in enumerate(text[start:end].split(",")):
        if n:
            parts.append(",")
        left, eq, value = segment.partition("=")
        if not eq:
            parts.append(re.escape(segment))
            continue
        found = _KEY_AT_END.search(left)
        if found is None or found.group() in keys:
            return None
        keys.append(found.group())
        slot = _slot(value)
        if slot is None:
            return None
        parts.append(re.escape(left + "=") + slot)
    parts.append(re.escape(text[end:]))
    return tuple(keys), "".join(parts)


def _slot(value: str) -> str | None:
    """The pattern of one value's text (after its `=`), its value a group; None when the value is
    not in a shape the slot reads exactly."""
    if value[:1] == '"':
        close = value.find('"', 1)
        if close < 0 or "=" in value[close:]:
            return None
        inner, tail = value[1:close], value[close + 1:]
        core = inner.strip()
        if core in ("", "-"):
            if inner != core:
                return None
            pre = post = ""
        else:
            pre = inner[:len(inner) - len(inner.lstrip())]
            post = inner[len(pre) + len(core):]
        if _QUOTED_VALUE(core) is None or _SPACES(pre) is None or _SPACES(post) is None:
            return None
        return '"' + re.escape(pre) + _QUOTED + re.escape(post) + '"' + re.escape(tail)
    if value in ("", "-"):
        return _BARE
    pre = value[:len(value) - len(value.lstrip())]
    core = value.strip()
    if core[-1:] == ".":
        core = core[:-1].rstrip()
    if not core or core == "-" or not value.startswith(core, len(pre)):
        return None
    post = value[len(pre) + len(core):]
    if _BARE_VALUE(core) is None or _SPACES_PERIOD(post) is None:
        return None
    return re.escape(pre) + _BARE + re.escape(post)
