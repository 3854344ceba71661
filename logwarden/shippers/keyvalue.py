"""key=value splitting for FortiGate-style lines, fast and exact.

The reading (the one every key=value parser shares; `textlog.kv_pairs` before 2026-12): a pair
starts at the start of the text or after whitespace, its key is `[\\w.-]+`, then `=`; a value that
opens with `"` runs to the next unescaped `"` (backslash escapes any character but a newline) or,
with no closing quote, to the end of that run; the quotes are dropped (an unclosed value loses its
opening quote only). Any other value runs to the next whitespace; text that is not a pair is skipped
up to the next whitespace. A key written twice keeps its last value (at the place of its first); `=`
inside a value stays in it.

Why two paths: the general pattern's quoted alternative, `(?:[^"\\]|\\.)*`, costs a group repeat
per character, and its values need their quotes cut off in Python, one pair at a time. A line without
a backslash, which is nearly every line, is read by a pattern with one value group that holds a
value without its quotes, so `dict(findall)` builds the pairs in C. Without a backslash the general
reading of a quoted value is `"[^"]*"?`: the text up to the next `"`, or the rest of the line when
none follows, the same as that pattern gives (`"?` takes the opening quote whenever there is one; the
value then runs to the next quote; the closing `"?` takes it if it is there). An ASCII line is read
with ASCII classes (`[A-Za-z0-9_.-]` is `[\\w.-]` there, tested as a bitmap instead of a Unicode
category per character); any other line's key class tests that bitmap before the category.
tests/textlogs/test_keyvalue.py keeps the general reading as the reference and compares them, key
order included.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# without a backslash: key, value without its quotes (after an opening `"`: up to the next `"`;
# else up to whitespace); `(?<=")` / `(?<!")` say whether the optional opening quote was taken
_UNESCAPED = r'(?<!\S)({key}+)="?((?<=")[^"]*|(?<!")\S*)"?'
# `[A-Za-z0-9_.\w-]` is the set `[\w.-]`, written so that re tests an ASCII bitmap before the Unicode
# category (the keys of a non-ASCII line are still ASCII as a rule: SecGate's values are Chinese)
_UNESCAPED_PAIRS = re.compile(_UNESCAPED.format(key=r"[A-Za-z0-9_.\w-]")).findall
_UNESCAPED_ASCII_PAIRS = re.compile(_UNESCAPED.format(key=r"[A-Za-z0-9_.-]")).findall
# the general reading, quoted alternative unrolled (`[^"\\]*(?:\\.[^"\\]*)*` is `(?:[^"\\]|\\.)*`)
_PAIR = re.compile(r'(?<!\S)([\w.-]+)=("[^"\\]*(?:\\.[^"\\]*)*"?|\S*)')


def kv_pairs(text: str) -> dict[str, str]:
    """The key=value pairs of `text` (values unquoted), in order of first appearance; the module
    docstring gives the exact reading. Never raises."""
    if "\\" not in text:
        return dict(_UNESCAPED_ASCII_PAIRS(text) if text.isascii() else _UNESCAPED_PAIRS(text))
    pairs: dict[str, str] = {}
    for key, value in _PAIR.findall(text):
        if value[:1] == '"':
            value = value[1:-1] if len(value) > 1 and value[-1] == '"' else value[1:]
        pairs[key] = value
    return pairs


class PairTemplates:
    """`kv_pairs(text)` read through templates learned from the lines: a device writes the same keys
    in the same order, quoted the same way, line after line for one log type (FortiGate: ~35 pairs).

    A template is one compiled pattern for one such line shape: `k1=V1 k2=V2 ...` with the keys as
    literals, one space between pairs, and each value `"([^"]*)"` (quoted) or `((?!")\\S*)` (bare),
    matched against the whole of a text without a backslash (kv_pairs' unescaped reading, whose
    quoted value is `[^"]*` too). A text it matches is nothing but those pairs, so kv_pairs reads
    exactly these keys (all different: a template is made only from a line whose pairs, written back,
    give the line itself) with exactly these values: the pairs are `dict(zip(keys, groups))`, without
    the general reading's attempt at every character. A line whose pairs come after a lead (_LEAD:
    words without `=`, `"` or a backslash, each followed by whitespace, e.g. a syslog header the
    splitter left in the message) gives a template that starts with that pattern: kv_pairs finds no
    pair in such words (a pair needs `=` in its word), and the first key then follows whitespace,
    where kv_pairs starts a pair, so the pairs are still exactly the template's. Any text that no
    template matches is read by kv_pairs, never guessed at: a firmware with an extra key, a key
    moved, a value quoted differently, a doubled space, a backslash all fall back.

    Templates are looked up by a cheap signature (the counts of `=` and `"` in the text), at most
    PER_SIGNATURE per signature, and made from a line of a signature seen for the 2nd to the
    LEARN_EACH_UNTIL-th time on the general path, then the 32nd, 64th ... (a compile costs ~1 ms, so
    only repeated shapes pay it; an attempt that makes none, ~5 us, only writes the pairs back). Each
    of the first sightings is tried because shapes that share a signature can come in a fixed turn: at
    the 2nd, 4th, 8th ... sightings alone, the line of a turn of three that comes third was never
    tried (SecGate's goldens, replayed). The general reading is `general` (kv_pairs unless a
    source has a reader of its own that gives kv_pairs' result for every text). Bounded:
    at most MAX_TEMPLATES templates of at most MAX_PAIRS pairs each, and SIGNATURES_MAX signature
    counts (cleared when full); a full table is emptied after RELEARN_AFTER more lines on the general
    path, so a changed mix of log types is learned again while a stream of ever-new shapes costs at
    most MAX_TEMPLATES compiles per RELEARN_AFTER lines. tests/textlogs/test_pair_templates.py
    compares the result with kv_pairs' and with the reading it replaced on seeded hostile lines.
    """

    MAX_TEMPLATES = 64
    PER_SIGNATURE = 4
    MAX_PAIRS = 128
    SIGNATURES_MAX = 4096
    RELEARN_AFTER = 65_536
    LEARN_EACH_UNTIL = 16

    def __init__(self, general: Callable[[str], dict[str, str]] | None = None) -> None:
        self._general = general  # None: kv_pairs
        # signature -> [(keys in order, the compiled pattern's fullmatch)]
        self._templates: dict[tuple[int, int], list[tuple[tuple[str, ...], _FullMatch]]] = {}
        self._template_count = 0
        self._sightings: dict[tuple[int, int], int] = {}
        self._general_since_full = 0

    def pairs(self, text: str) -> dict[str, str]:
        """The key=value pairs of `text`, equal to `kv_pairs(text)` (keys, values and order) for
        every text (given a `general` reader that gives it); learns a template from it when its
        shape keeps coming back. Never raises."""
        signature = (text.count("="), text.count('"'))
        candidates = self._templates.get(signature)
        if candidates is not None and "\\" not in text:
            for keys, fullmatch in candidates:
                found = fullmatch(text)
                if found is not None:
                    return dict(zip(keys, found.groups(), strict=False))  # as many groups as keys: strict costs 7 %
        pairs = kv_pairs(text) if self._general is None else self._general(text)
        if self._template_count >= self.MAX_TEMPLATES:
            self._general_since_full += 1
            if self._general_since_full >= self.RELEARN_AFTER:
                self.clear()
            return pairs
        seen = self._sightings.get(signature, 0) + 1
        if len(self._sightings) >= self.SIGNATURES_MAX:
            self._sightings.clear()
        self._sightings[signature] = seen
        if seen > 1 and (seen <= self.LEARN_EACH_UNTIL or seen & (seen - 1) == 0):  # then log2(n) for n lines
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

    def _learn(self, text: str, signature: tuple[int, int], pairs: dict[str, str]) -> None:
        """Keep a template of `text`'s shape when the text is exactly its pairs written back
        (`key=value` or `key="value"`, one space apart, no backslash) and there is room."""
        if self._template_count >= self.MAX_TEMPLATES or not 0 < len(pairs) <= self.MAX_PAIRS or "\\" in text:
            return
        candidates = self._templates.get(signature, [])
        if len(candidates) >= self.PER_SIGNATURE:
            return
        written: list[str] = []
        pattern: list[str] = []
        found = _LEAD(text)  # matches always (the empty lead at least)
        lead = found.end() if found is not None else 0  # 0 when the text starts with a pair
        at = lead  # where the pair starts in `text` if the text so far is the pairs written back
        for key, value in pairs.items():
            quoted = text.startswith('"', at + len(key) + 1)
            written.append(f'{key}="{value}"' if quoted else f"{key}={value}")
            pattern.append(re.escape(key) + (_QUOTED if quoted else _BARE))
            at += len(written[-1]) + 1
        if " ".join(written) != text[lead:]:
            return
        fullmatch = re.compile((_LEAD_PATTERN if lead else "") + " ".join(pattern)).fullmatch
        found = fullmatch(text)
        if found is None or dict(zip(pairs, found.groups(), strict=True)) != pairs:  # so by construction: a guard
            return
        # a new list, so that a reader in another thread never sees one half-made
        self._templates[signature] = [*candidates, (tuple(pairs), fullmatch)]
        self._template_count += 1


_QUOTED = '="([^"]*)"'  # `[^"]` is one negated literal to re: faster than a class of two
# words holding no pair before the pairs: each without `=`, `"` or a backslash, then whitespace
# (possessive: a word ends at whitespace or at a character it cannot hold, nothing to give back)
_LEAD_PATTERN = r'(?:[^\s="\\]*+\s++)*+'
_LEAD = re.compile(_LEAD_PATTERN).match
_BARE = '=((?!")\\S*)'
_FullMatch = Callable[[str], "re.Match[str] | None"]
