"""keyvalue.PairTemplates reads every text as kv_pairs does, and FortiGate's documents do not change.

The lines are FortiGate's golden lines taken apart into (key, value, quoted) pairs and written back,
most of them in their own shape with new values (so templates are learned and then used), the rest
with seeded hostile edits a real device or an attacker could make: keys reordered, dropped, added
(another firmware's extra keys), doubled; values emptied, quoted or unquoted, given spaces, `=`,
escaped or stray quotes, backslashes, non-ASCII letters, control and bidi characters, other
whitespace; separators doubled or changed; text before, between and after the pairs. Each line is
compared with kv_pairs and with the regex reading test_keyvalue keeps as the reference, and
FortiGate's parse_line gives the result of the parser before templates (fortigate_reference.py, kept
unchanged): document, key order, id or dead letter.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwarden.shippers import keyvalue, textlog
from logwarden.shippers.base import Event
from logwarden.shippers.fortigate import parser as fortigate
from logwarden.shippers.keyvalue import PairTemplates, kv_pairs

from . import fortigate_reference
from .sources import golden_lines
from .test_keyvalue import reference_kv_pairs

Pair = tuple[str, str, bool]  # key, value, written in quotes


def _taken_apart(text: str) -> list[Pair] | None:
    """`text` as (key, value, quoted) pairs when it is exactly those pairs one space apart."""
    pairs = [(key, value, text.find(f'{key}="') >= 0) for key, value in kv_pairs(text).items()]
    return pairs if _written(pairs) == text else None


def _written(pairs: list[Pair], separators: list[str] | None = None) -> str:
    out = []
    for i, (key, value, quoted) in enumerate(pairs):
        if i:
            out.append(separators[i - 1] if separators else " ")
        out.append(f'{key}="{value}"' if quoted else f"{key}={value}")
    return "".join(out)


def _shapes() -> list[list[Pair]]:
    shapes = []
    for raw in golden_lines("fortigate"):
        _hdr, msg = textlog.split_syslog((textlog.decode(raw) or "").rstrip("\r\n"))
        pairs = _taken_apart(msg)
        if pairs:
            shapes.append(pairs)
    return shapes


HOSTILE_VALUES = ["", " ", "a b", "x=y", "=", 'a\\"b', "\\", "a\\", '"', 'x"y', "名字", "é", "\x1c", "\x00",
                  "\u202e", "\u3000", "\t", "\xa0", "\x85", "N/A", "-", "a=b c=d", "k=\"v\"", "1" * 300]
SEPARATORS = ["  ", "\t", "\u3000", "\xa0", ", ", " x ", ' "" ', "\x1c"]
EXTRA_KEYS = ["fwver", "ftntver", "k.2", "x-y", "srcip", "type", "名", "_", "policyid"]


def _new_values(pairs: list[Pair], rng: random.Random) -> list[Pair]:
    """The same shape with other values of the kinds a device writes (the template should match)."""
    out = []
    for key, value, quoted in pairs:
        if value.isdigit():
            value = str(rng.randrange(10 ** max(1, len(value))))
        elif quoted and rng.random() < 0.3:
            value = rng.choice(["allowed by policy", "Admin login successful", "登录成功", "", "a=b", "N/A"])
        out.append((key, value, quoted))
    return out


def _hostile(pairs: list[Pair], rng: random.Random) -> str:
    """`pairs` written back after one to three seeded hostile edits."""
    pairs = list(pairs)
    separators: list[str] | None = None
    for _ in range(rng.randint(1, 3)):
        edit = rng.randrange(11)
        at = rng.randrange(len(pairs))
        key, value, quoted = pairs[at]
        if edit == 0 and len(pairs) > 1:  # two keys swapped
            other = rng.randrange(len(pairs))
            pairs[at], pairs[other] = pairs[other], pairs[at]
        elif edit == 1 and len(pairs) > 1:  # a key missing
            del pairs[at]
        elif edit == 2:  # another firmware's extra key, quoted or not
            pairs.insert(at, (rng.choice(EXTRA_KEYS), rng.choice(["1", "v6.4.9", "x y"]), rng.random() < 0.5))
        elif edit == 3:  # a key written twice
            pairs.insert(rng.randrange(len(pairs) + 1), (key, rng.choice(HOSTILE_VALUES), rng.random() < 0.5))
        elif edit in (4, 5):  # a hostile value
            pairs[at] = (key, rng.choice(HOSTILE_VALUES), quoted)
        elif edit == 6:  # quoting toggled
            pairs[at] = (key, value, not quoted)
        elif edit == 7:  # a separator of another kind
            separators = separators or [" "] * (len(pairs) - 1)
            if separators:
                separators[rng.randrange(len(separators))] = rng.choice(SEPARATORS)
        elif edit == 8:  # an unclosed quote at the end
            pairs.append(("msg", '"unclosed', False))
        elif edit == 9:  # a key with a character outside `[\w.-]`
            pairs[at] = (key + rng.choice(["!", "/", ":", "é", "\u200b"]), value, quoted)
        else:  # a value with its spaces doubled
            pairs[at] = (key, value.replace(" ", "  ") + " ", True)
    if separators is not None and len(separators) != len(pairs) - 1:
        separators = None
    text = _written(pairs, separators)
    where = rng.randrange(4)
    return text if where == 0 else " " + text if where == 1 else text + " " if where == 2 else text + "\n"


def _lines(seed: str, count: int) -> list[str]:
    rng = random.Random(seed)
    shapes = _shapes()
    lines = []
    for _ in range(count):
        shape = rng.choice(shapes)
        lines.append(_written(_new_values(shape, rng)) if rng.random() < 0.6 else _hostile(shape, rng))
    return lines


def _count_general(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts PairTemplates hands to kv_pairs from now on (the general path), in a list."""
    general: list[str] = []

    def counted(text: str) -> dict[str, str]:
        general.append(text)
        return kv_pairs(text)

    monkeypatch.setattr(keyvalue, "kv_pairs", counted)
    return general


def test_golden_lines_have_shapes_to_learn() -> None:
    """Most of FortiGate's golden lines are exactly their pairs one space apart (templates apply)."""
    assert len(_shapes()) >= 12


@pytest.mark.parametrize("seed", ["a", "b", "c"])
def test_templates_read_as_kv_pairs_and_the_reference(seed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """6,000 seeded lines a seed: the pairs equal kv_pairs' and the reference's, keys in order; the
    templates were used for most well-formed lines (else nothing would be proven)."""
    general = _count_general(monkeypatch)
    templates = PairTemplates()
    lines = _lines(f"templates-{seed}", 6000)
    for text in lines:
        got = templates.pairs(text)
        assert list(got.items()) == list(kv_pairs(text).items()), repr(text)
        assert list(got.items()) == list(reference_kv_pairs(text).items()), repr(text)
    assert len(templates) >= 12
    assert len(general) < len(lines) * 0.6  # ~60 % are well-formed; most of them met a template


def test_a_line_that_does_not_fit_is_read_by_kv_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a shape is learned, each kind of difference goes to the general reading and is read right."""
    templates = PairTemplates()
    line = 'date=2020-04-14 devname="FG" type="traffic" action="deny" srcip=10.0.0.1 sentbyte=0'
    for _ in range(3):
        templates.pairs(line)
    assert len(templates) == 1
    general = _count_general(monkeypatch)
    assert templates.pairs(line.replace("0.0.1", "9.9.9")) == kv_pairs(line.replace("0.0.1", "9.9.9"))
    assert not general  # same shape, other value: the template read it
    misfits = [
        line.replace('devname="FG" type', 'type="traffic" devname="FG" x'),  # keys moved
        line.replace("srcip", "dstip"),  # another key, same counts
        line.replace('action="deny"', "action=deny"),  # quoting differs (counts differ too)
        line.replace('action="deny"', 'action="de\\"ny"'),  # an escaped quote
        line.replace(" srcip", "  srcip"),  # a doubled space
        line.replace(" srcip", "\tsrcip"),  # a tab
        line.replace("sentbyte=0", "sentbyte=0 sentbyte=1"),  # a key twice
        line + " ",  # trailing space
        line.replace("srcip=10.0.0.1", 'srcip="10.0.0.1'),  # an unclosed quote
        line.replace("srcip=10.0.0.1", 'srcip="x"y'),  # text glued to a closing quote
        line.replace('type="traffic"', 'type="tr\\affic"'),  # a backslash, same counts
        line.replace('type="traffic"', 'type=""traffic'),  # a bare value after an empty quoted one
    ]
    for text in misfits:
        assert templates.pairs(text) == kv_pairs(text) == reference_kv_pairs(text), repr(text)
        assert list(templates.pairs(text)) == list(reference_kv_pairs(text)), repr(text)
    assert len(general) >= len(misfits)
    # a bare value with a quote inside, learned; then the quote opens another bare value (same counts)
    templates.clear()
    line = 'a=x"y b=1 c="z"'
    for _ in range(2):
        templates.pairs(line)
    assert len(templates) == 1
    general.clear()
    misfits = ['a=xy b="1 c="z"', 'a=xy b=""1 c="z"', 'a="xy b=1 c="z"', 'a=x"y b=1 c="z" ']
    for text in misfits:
        assert templates.pairs(text) == kv_pairs(text) == reference_kv_pairs(text), repr(text)
        assert list(templates.pairs(text)) == list(reference_kv_pairs(text)), repr(text)
    assert len(general) >= len(misfits)


def test_pairs_after_a_lead_are_learned_and_read_as_kv_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A line whose pairs follow words without `=` (a syslog header the splitter left, SecGate's
    `[5] kernel:  devid=...`) makes a template that takes any such lead; a lead that holds a pair,
    a quote or a backslash, or a word glued to the first key, goes to the general reading."""
    templates = PairTemplates()
    line = '[5] kernel:  devid=0 date="2020/04/14 00:20:14" dname=themis mod=pf'
    for _ in range(2):
        assert templates.pairs(line) == kv_pairs(line)
    assert len(templates) == 1
    general = _count_general(monkeypatch)
    fits = [line.replace("[5] kernel:  ", lead) for lead in (
        "", " ", "[5] kernel: ", " 2020-04-14 00:20:13 192.168.1.1 192.168.1.1 kernel: ", "\t\u3000 x \x1c",
        "名字 ", "a:b ", "\x00 ")]
    for text in fits:
        assert list(templates.pairs(text).items()) == list(kv_pairs(text).items()), repr(text)
        assert list(templates.pairs(text).items()) == list(reference_kv_pairs(text).items()), repr(text)
    assert not general  # each was read by the template
    misfits = [line.replace("[5] kernel:  ", lead) for lead in (
        "x=1 ", "kernel:", "a\"b ", "a\\b ", '"quoted lead" ', "=", "k= ", "devid=1 ")]
    for text in misfits:
        assert list(templates.pairs(text).items()) == list(kv_pairs(text).items()), repr(text)
        assert list(templates.pairs(text).items()) == list(reference_kv_pairs(text).items()), repr(text)
    assert set(general) == set(misfits)  # each read the general way (one may then make a template of its own)


class _Small(PairTemplates):
    MAX_TEMPLATES = 8
    PER_SIGNATURE = 2
    SIGNATURES_MAX = 32
    RELEARN_AFTER = 100


def test_bounded_under_ever_new_shapes() -> None:
    """A flood of shapes never seen before: templates, per signature and sightings stay within
    their bounds; a full table is emptied after RELEARN_AFTER lines and learns again."""
    templates = _Small()
    rng = random.Random("flood")
    most = 0
    for i in range(3000):
        keys = [f"k{rng.randrange(50)}" for _ in range(rng.randint(1, 6))]
        text = " ".join(f"{key}={i}" for key in dict.fromkeys(keys))
        for _ in range(2):
            assert templates.pairs(text) == kv_pairs(text)
        most = max(most, len(templates))
        assert len(templates) <= _Small.MAX_TEMPLATES
        assert len(templates._sightings) <= _Small.SIGNATURES_MAX
        assert all(len(held) <= _Small.PER_SIGNATURE for held in templates._templates.values())
        assert sum(map(len, templates._templates.values())) == len(templates)
    assert most == _Small.MAX_TEMPLATES
    templates.clear()

    def shape(n: int) -> str:
        return " ".join(f"s{n}x{j}=1" for j in range(n + 1))  # n + 1 pairs: a signature of its own

    for n in range(_Small.MAX_TEMPLATES + 2):
        for _ in range(2):
            templates.pairs(shape(n))
    assert len(templates) == _Small.MAX_TEMPLATES  # the last two shapes found no room (4 lines)
    for i in range(_Small.RELEARN_AFTER - 4 - 1):  # lines no template matches
        templates.pairs(f'q{i}="{i}"')
    assert len(templates) == _Small.MAX_TEMPLATES
    templates.pairs('q="last"')
    assert len(templates) == 0  # emptied after RELEARN_AFTER lines on the general path
    for _ in range(2):
        templates.pairs(shape(_Small.MAX_TEMPLATES + 1))
    assert len(templates) == 1  # a shape that found no room before is learned now


def test_a_line_too_long_or_with_junk_makes_no_template() -> None:
    templates = PairTemplates()
    long_line = " ".join(f"k{i}={i}" for i in range(PairTemplates.MAX_PAIRS + 1))
    junk = 'a=1 not-a-pair b="2"'
    for text in (long_line, junk, 'a="x\\"y" b=1', "a=1 a=2"):
        for _ in range(4):
            assert templates.pairs(text) == kv_pairs(text)
    assert len(templates) == 0


def _outcome(result: object) -> str:
    if isinstance(result, Event):
        return json.dumps([result.id, result.key, result.dataset, result.doc], ensure_ascii=False)
    fields = asdict(result)  # type: ignore[call-overload]
    fields.pop("received")
    return json.dumps(fields, default=repr, ensure_ascii=False)


@pytest.mark.parametrize("seed", ["d", "e"])
def test_fortigate_results_are_those_of_the_reference(seed: str) -> None:
    """FortiGate's parse_line == the reference's (fortigate_reference: the parser before templates,
    every line through kv_pairs), JSON text and key order included, on 4,000 seeded lines with and
    without a syslog header, and the golden lines themselves, twice over (templates learned)."""
    lines = [text.encode() for text in _lines(f"fortigate-{seed}", 4000)]
    lines = [b"<189>" + raw if i % 3 == 0 else raw for i, raw in enumerate(lines)] + golden_lines("fortigate") * 4
    fortigate._TEMPLATES.clear()
    results = [fortigate.parse_line(raw, "t", i) for i, raw in enumerate(lines)]
    assert len(fortigate._TEMPLATES) >= 12
    assert sum(isinstance(result, Event) for result in results) > 3000  # events, not only dead letters
    for i, (raw, result) in enumerate(zip(lines, results, strict=True)):
        assert _outcome(result) == _outcome(fortigate_reference.parse_line(raw, "t", i)), raw


VALUE_TEXT = st.text(alphabet=st.sampled_from(['a', '1', ' ', '"', '=', '\\', '\t', '\n', 'é', '名', '\x1c', '\u3000',
                                                '\xa0', '\u202e', '.', '-']), max_size=6)


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.lists(st.tuples(VALUE_TEXT, st.booleans()), min_size=5, max_size=5), st.sampled_from([" ", "  ", "\t"]))
def test_any_values_in_a_learned_shape(values: list[tuple[str, bool]], separator: str) -> None:
    """A shape learned from plain values, then the same keys with any values (quotes, `=`,
    backslashes, whitespace of every kind inside): whatever the template does, the pairs are
    kv_pairs' and the reference's."""
    keys = ["date", "devname", "k.2", "x-y", "msg"]
    quoted = [flag for _value, flag in values]
    templates = PairTemplates()
    for _ in range(2):
        templates.pairs(_written([(key, "v", flag) for key, flag in zip(keys, quoted, strict=True)]))
    assert len(templates) == 1
    text = separator.join(f'{key}="{value}"' if flag else f"{key}={value}"
                          for key, (value, flag) in zip(keys, values, strict=True))
    assert list(templates.pairs(text).items()) == list(kv_pairs(text).items()) == \
        list(reference_kv_pairs(text).items()), repr(text)
