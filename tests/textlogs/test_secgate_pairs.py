"""secgate.parser._pairs (split at quotes and spaces for the usual shape) gives what
keyvalue.kv_pairs gives, pairs and their order, on the golden lines, on generated text made of
the pieces that decide the reading (quotes, `=`, spaces and other whitespace, backslashes, keys
that are not keys) and on mutated SecGate lines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from logwarden.shippers.keyvalue import kv_pairs
from logwarden.shippers.secgate.parser import _pairs

from .sources import golden_lines

_LINE = ('devid=0 date="2020/04/14 00:20:11" dname=themis logtype=1 pri=5 ver=0.3.0 rule_name=rdp-map mod=pf '
         'sa=203.0.113.80 sport=50100 type=NULL da=198.51.100.21 dport=3389 code=NULL proto=IPPROTO_TCP '
         'policy=POLICY_NAT_PERMIT duration=0 rcvd=52 sent=52 pa=192.168.10.21 pport=3389 fwlog=0 dsp_msg="包过滤日志"')
_PIECES = st.sampled_from(['"', "=", " ", "  ", "\t", "\u3000", "\x1c", "\\", "a", "k", "dsp_msg", "é", "/", ".",
                           "-", "0", "NULL", '=""', '="', '" ', "ab=cd", 'x="y z"'])


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
