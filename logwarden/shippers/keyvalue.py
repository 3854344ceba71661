"""key=value splitting for FortiGate-style lines, fast and exact.

The reading (the one every key=value parser shares; `textlog.kv_pairs` before 2026-12): a pair
starts at the start of the text or after whitespace, its key is `[\\w.-]+`, then `=`; a value that
opens with `"` runs to the next unescaped `"` (backslash escapes any character but a newline) or,
with no closing quote, to the end of that run; the quotes are dropped (an unclosed value loses its
opening quote only). Any other value runs to the next whitespace; text that is not a pair is skipped
up to the next whitespace. A key written twice keeps its last value (at the place of its first); `=`
inside a value stays in it.

Why two paths: the general pattern's quoted alternative, `(?:[^"\\]|\\.)*`, costs a group repeat
per character (about 10 us for a 400-character FortiGate line). A line without a backslash, which is
nearly every line, is read by a pattern that captures a quoted value without its quotes, whose
results are the same pairs provided no value opens a quote it never closes; such a value can only
be the text's last `"` and that `"` follows a `=`, so that one check sends the line the careful way.
tests/textlogs/test_keyvalue.py holds the general reading as the reference and compares them.
"""

from __future__ import annotations

import re

# one pair: key, value in quotes (closed: without them), value without quotes
_PLAIN_PAIR = re.compile(r'(?<!\S)([\w.-]+)=(?:"([^"]*)"|(\S*))')
# the general reading, quoted alternative unrolled (`[^"\\]*(?:\\.[^"\\]*)*` is `(?:[^"\\]|\\.)*`)
_PAIR = re.compile(r'(?<!\S)([\w.-]+)=("[^"\\]*(?:\\.[^"\\]*)*"?|\S*)')


def kv_pairs(text: str) -> dict[str, str]:
    """The key=value pairs of `text` (values unquoted), in order of first appearance; the module
    docstring gives the exact reading. Never raises."""
    if "\\" not in text:
        last_quote = text.rfind('"')
        if last_quote < 1 or text[last_quote - 1] != "=":
            # a closed quoted value has group 3 empty and an unquoted one group 2 empty
            return {key: quoted or plain for key, quoted, plain in _PLAIN_PAIR.findall(text)}
    pairs: dict[str, str] = {}
    for key, value in _PAIR.findall(text):
        if value[:1] == '"':
            value = value[1:-1] if len(value) > 1 and value[-1] == '"' else value[1:]
        pairs[key] = value
    return pairs
