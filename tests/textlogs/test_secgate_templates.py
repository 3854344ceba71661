"""SecGate reads its pairs through keyvalue.PairTemplates (general reading: its own `_pairs`), and
its results do not change: parse_line gives, document, key order, id or dead letter, what it gave
with every line read by `_pairs` (the reader before templates, tested equal to kv_pairs in
test_secgate_pairs.py), on seeded lines made from the golden lines' shapes with new values and with
the hostile edits of test_pair_templates, with and without a syslog header, and on the golden lines.

Also the learning schedule: a shape that comes third in a fixed turn of three lines sharing one
signature is learned (at the 2nd, 4th, 8th ... sightings alone it never was).
"""

from __future__ import annotations

import random

import pytest

from logwarden.shippers import textlog
from logwarden.shippers.base import Event
from logwarden.shippers.keyvalue import PairTemplates, kv_pairs
from logwarden.shippers.secgate import parser as secgate

from .sources import golden_lines
from .test_pair_templates import Pair, _hostile, _new_values, _outcome, _written

_HEADER = b"<6>Apr 14 00:20:11 192.168.1.1 kernel: "


def _shapes() -> list[list[Pair]]:
    """The golden lines' messages that are exactly their pairs one space apart, taken apart."""
    shapes = []
    for raw in golden_lines("secgate"):
        _hdr, msg = textlog.split_syslog((textlog.decode(raw) or "").rstrip("\r\n"))
        pairs = [(key, value, msg.find(f'{key}="') >= 0) for key, value in kv_pairs(msg).items()]
        if _written(pairs) == msg:
            shapes.append(pairs)
    return shapes


def _lines(seed: str, count: int) -> list[bytes]:
    rng = random.Random(seed)
    shapes = _shapes()
    assert len(shapes) >= 4
    lines = []
    for i in range(count):
        shape = rng.choice(shapes)
        text = _written(_new_values(shape, rng)) if rng.random() < 0.6 else _hostile(shape, rng)
        lines.append((_HEADER if i % 3 else b"") + text.encode())
    return lines


@pytest.mark.parametrize("seed", ["s", "t"])
def test_results_are_those_of_the_reader_before(seed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _lines(f"secgate-{seed}", 4000) + golden_lines("secgate") * 4
    secgate._TEMPLATES.clear()
    results = [secgate.parse_line(raw, "t", i) for i, raw in enumerate(lines)]
    assert len(secgate._TEMPLATES) >= 4  # templates were learned and read the lines after
    assert sum(isinstance(result, Event) for result in results) > 2000  # events, not only dead letters
    monkeypatch.setattr(secgate, "_PAIRS", secgate._pairs)
    for i, (raw, result) in enumerate(zip(lines, results, strict=True)):
        assert _outcome(result) == _outcome(secgate.parse_line(raw, "t", i)), raw


def test_the_general_reading_is_the_one_given() -> None:
    read: list[str] = []

    def general(text: str) -> dict[str, str]:
        read.append(text)
        return secgate._pairs(text)

    templates = PairTemplates(general=general)
    line = 'devid=0 date="2020/04/14 00:20:11" dname=themis mod=pf sa=203.0.113.80'
    assert templates.pairs(line) == kv_pairs(line) and read == [line]
    templates.pairs(line)
    assert len(templates) == 1 and len(read) == 2
    assert templates.pairs(line.replace("themis", "other")) == kv_pairs(line.replace("themis", "other"))
    assert len(read) == 2  # read by the template


def test_the_third_of_a_turn_of_three_is_learned() -> None:
    """Three shapes with the same counts of `=` and `"`, in a fixed turn; only the third can be a
    template (the others have a doubled space or text before the pairs)."""
    learnable = 'a=1 b="x" c=2'
    turn = ['a=1  b="x" c=2', 'z: a=1 b="x" c=2', learnable]
    templates = PairTemplates()
    for _ in range(6):
        for text in turn:
            assert templates.pairs(text) == kv_pairs(text)
    assert len(templates) == 1
    assert templates._templates[(3, 2)][0][0] == ("a", "b", "c")
