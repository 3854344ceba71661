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
