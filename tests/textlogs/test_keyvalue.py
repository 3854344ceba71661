"""keyvalue.kv_pairs (the fast split) gives the pairs of the regex reading it replaced, kept here as the reference.

Generated lines are built from the pieces that decide the reading: quotes (closed, unclosed, escaped,
a quote after a backslash at the end), backslash before a newline, `=` in values and keys, empty values,
duplicate keys, Unicode letters and spaces. ASCII-only lines get their own generator (kv_pairs reads
them with ASCII classes), and golden lines of the key=value sources are cut and spliced at seeded
random places (a quote, a backslash, a space, an `=`, a control or non-ASCII character dropped in or a
character removed). Golden lines of every text source and the kept fuzz inputs are compared too.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logwarden.shippers import textlog
from logwarden.shippers.keyvalue import kv_pairs

from .sources import TEXT_SOURCES, golden_lines

_REFERENCE_PAIR = re.compile(r'(?:^|(?<=\s))([\w.-]+)=("(?:[^"\\]|\\.)*"?|\S*)')  # textlog's, as on main


def reference_kv_pairs(text: str) -> dict[str, str]:
    """The reading before the fast split, as it was written."""
    out: dict[str, str] = {}
    for key, val in _REFERENCE_PAIR.findall(text):
        if val[:1] == '"':
            val = val[1:-1] if len(val) > 1 and val[-1] == '"' else val[1:]
        out[key] = val
    return out


PIECES = st.sampled_from([
    "a", "key", "k.2", "x-y", "é", "名", "=", '"', '\\"', "\\", "\\\n", "\n", " ", "  ", "\t", "\u3000", "\x1c",
    '="', '=""', '"=', "a=", "a=1", 'a="x y"', 'b="', "N/A", "-", ",", "%", "\r",
])
LINES = st.lists(PIECES, max_size=30).map("".join)
PROPERTY = settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@PROPERTY
@given(LINES)
@example('a="x" b="y')  # unclosed last value
@example('msg="a="')  # the last quote closes a value and follows `=`
@example('a="x\\"y" b=2')  # escaped quote
@example('a="x\\')  # backslash at the end
@example('a="x"b=1 c=2')  # a pair glued to a closing quote is not a pair
@example('a=1 a="2" a=')  # duplicate keys: the last wins
@example('"k=v" x "a b=c"')  # quotes that open no value
def test_fast_split_equals_the_reference(text: str) -> None:
    assert kv_pairs(text) == reference_kv_pairs(text)
    assert list(kv_pairs(text)) == list(reference_kv_pairs(text))  # key order too


# ASCII only: every character class the ASCII pattern spells out, at its edges (`_`, `.`, `-`, digits,
# the ASCII separators \x1c-\x1f that are whitespace to `\s`, DEL, other punctuation)
ASCII_PIECES = st.sampled_from([
    "a", "Z", "k_1", "k.2", "x-y", "_", ".", "-", "0", "9", "=", '"', '\\"', "\\", "\\\n", "\n", " ", "\t", "\x0b",
    "\x0c", "\r", "\x1c", "\x1f", "\x7f", "\x00", '="', '=""', '"=', "a=", "a=1", 'a="x y"', 'b="', "N/A", "+", "/",
    ":", "@", "[", "`", "{", "~",
])


@PROPERTY
@given(st.lists(ASCII_PIECES, max_size=30).map("".join))
@example('a="x y')  # unclosed quote, read to the end of the line
@example('a=x"y b="z"')  # a quote inside an unquoted value opens nothing
@example('"a=1" b="2"')  # a quote before a key: no pair starts there
def test_fast_split_equals_the_reference_on_ascii(text: str) -> None:
    assert text.isascii()
    assert list(kv_pairs(text).items()) == list(reference_kv_pairs(text).items())


@given(st.text(max_size=200))
@settings(max_examples=1500, deadline=None, database=None)
def test_fast_split_equals_the_reference_on_any_text(text: str) -> None:
    assert list(kv_pairs(text).items()) == list(reference_kv_pairs(text).items())


@pytest.mark.parametrize("name", TEXT_SOURCES)
def test_golden_lines_split_the_same(name: str) -> None:
    lines = golden_lines(name)
    assert lines
    for raw in lines:
        text = textlog.decode(raw) or ""
        assert list(kv_pairs(text).items()) == list(reference_kv_pairs(text).items()), text


KV_SOURCES = ("fortigate", "huawei_usg", "secgate")
SPLICES = ['"', '\\', "\\\n", " ", "=", '="', '" ', "\x1c", "\x00", "é", "名", "\u3000", "\xa0", "\x85", "²", "a=", ""]


@pytest.mark.parametrize("name", KV_SOURCES)
def test_mutated_golden_lines_split_the_same(name: str) -> None:
    """Real lines with seeded random edits (3,000 a source): up to three places each get a piece
    from SPLICES or lose a character, so quotes open and close at places real logs never put them."""
    lines = [textlog.decode(raw) or "" for raw in golden_lines(name)]
    assert lines
    rng = random.Random(f"kv-{name}")
    for _ in range(3000):
        text = rng.choice(lines)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text) + 1)
            piece = rng.choice(SPLICES)
            text = text[:at] + piece + text[at + (0 if piece else 1):]
        assert list(kv_pairs(text).items()) == list(reference_kv_pairs(text).items()), text


def test_kept_fuzz_inputs_split_the_same() -> None:
    corpus = Path(__file__).resolve().parents[1] / "fuzz" / "corpus"
    files = [p for p in corpus.rglob("*") if p.is_file()]
    assert files
    for path in files:
        for raw in path.read_bytes().splitlines():
            text = textlog.decode(raw) or raw.decode("latin-1")
            assert kv_pairs(text) == reference_kv_pairs(text), path
