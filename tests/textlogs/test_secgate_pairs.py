"""secgate.parser._pairs (split at quotes and spaces for the usual shape) gives what
keyvalue.kv_pairs gives, pairs and their order, on the golden lines, on generated text made of
the pieces that decide the reading (quotes, `=`, spaces and other whitespace, backslashes, keys
that are not keys) and on mutated SecGate lines."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwarden.shippers.keyvalue import kv_pairs
from logwarden.shippers.secgate import parser
from logwarden.shippers.secgate.parser import _pairs

from .sources import golden_lines

_LINE = ('devid=0 date="2020/04/14 00:20:11" dname=themis logtype=1 pri=5 ver=0.3.0 rule_name=rdp-map mod=pf '
         'sa=203.0.113.80 sport=50100 type=NULL da=198.51.100.21 dport=3389 code=NULL proto=IPPROTO_TCP '
         'policy=POLICY_NAT_PERMIT duration=0 rcvd=52 sent=52 pa=192.168.10.21 pport=3389 fwlog=0 dsp_msg="包过滤日志"')
# whitespace of every kind str.split() and the pattern's \\s know (and \u200b, which neither does)
_SPACES = [" ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000", "\u200b"]
_PIECES = st.sampled_from(['"', "=", *_SPACES, "\\", "a", "k", "dsp_msg", "é", "/", ".",
                           "-", "0", "NULL", '=""', '="', '" ', "ab=cd", 'x="y z"', '"\t', '\t"', "=\x85"])


def _same(text: str) -> None:
    fast, reference = _pairs(text), kv_pairs(text)
    assert list(fast.items()) == list(reference.items()), text


def test_golden_lines() -> None:
    lines = golden_lines("secgate")
    assert lines
    for line in lines:
        _same(line.decode("utf-8"))


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PIECES, max_size=24).map("".join))
def test_generated_text(text: str) -> None:
    _same(text)


@settings(max_examples=3000, deadline=None)
@given(st.integers(0, len(_LINE)), st.integers(0, 8), st.lists(_PIECES, max_size=3).map("".join))
def test_mutated_lines(at: int, cut: int, inserted: str) -> None:
    _same(_LINE[:at] + inserted + _LINE[at + cut:])
    _same(_LINE[:at] + inserted + _LINE[at:])


def test_whitespace_is_what_the_pattern_calls_whitespace() -> None:
    """The split reading rests on str.split() and the pattern's \\s agreeing on every character."""
    every = "".join(map(chr, range(0x110000)))
    spaces = [char for char in every if char.isspace()]
    assert re.findall(r"\s", every) == spaces
    assert all(kv_pairs(f"a=1{space}b=2") == {"a": "1", "b": "2"} for space in spaces)
    assert kv_pairs("a=1\u200bb=2") == {"a": "1\u200bb=2"}


def test_usual_lines_are_read_without_kv_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The golden lines (a tab between pairs added to one of them) are read by splitting."""
    lines = [raw.decode("utf-8").partition("kernel:")[2] or raw.decode("utf-8") for raw in golden_lines("secgate")]
    lines.append(_LINE.replace(" dname=", "\tdname=").replace(' dsp_msg="', '\u3000dsp_msg="'))
    expected = [kv_pairs(line) for line in lines]

    def refuse(text: str) -> dict[str, str]:
        raise AssertionError(f"read by kv_pairs: {text}")

    monkeypatch.setattr(parser, "kv_pairs", refuse)
    assert [_pairs(line) for line in lines] == expected
