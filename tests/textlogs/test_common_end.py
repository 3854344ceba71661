"""The common end of every text line (textlog: header, id, Community ID; autodetect's routing)
gives, after its 2026-12 speed-ups, the answers of the plain definitions it replaces:

- the one-match RFC 3164 header with possessive runs matches where, and captures what, the same
  pattern without them does (composed from textlog's step-by-step patterns; its one extra group is
  the date's text), on seeded random texts made of the pieces and characters a header is read from;
- the line id (the source's blake2b state copied per line, bytes added without a repr for a long
  clean line) is `base.event_id` for any source, position and bytes, also once the per-source
  cache was emptied;
- `--source auto` picks the source the registry's signatures pick in priority order, and gives the
  document and id the picked source's own `parse_line` gives, on every golden line and on seeded
  random lines cut and mixed from them.
"""

from __future__ import annotations

import random
import re

import pytest

from logwarden.shippers import autodetect, registry
from logwarden.shippers import textlog as t
from logwarden.shippers.base import DeadLetter, Event, event_id

from .sources import TEXT_SOURCES, golden_lines

# textlog._FAST3164 as it was before its runs were made possessive: the same pieces, greedy runs
_PLAIN3164 = re.compile(
    r"(?:<(\d{1,3})>)?" + t._R3164_TS.pattern
    + r"(?:(?!" + r"[\w./-]{1,48}(?:\[\d{1,10}\])?:(?: |(?=\[))" + r"|%)([\w.:-]{1,255}) )?(?:"
    + t._TAG.pattern + r")?")

HEADER_PIECES = ["<134>", "<4>", "<1234>", "<>", "Apr", "Foo", " ", "  ", "14", "4", "2020", "00:20:11", ".123",
                 ":", "gw01", "192.168.1.1", "fe80::1", "kernel", "%ASA-6-1", "[812]", "[x]", "fwlog", "a.b/c-d",
                 "x" * 50, "h" * 260, "\t", "]", "[", "日志类型", "IN=eth0"]


def _header_texts(count: int) -> list[str]:
    rnd = random.Random(20261205)
    texts = []
    for _ in range(count):
        pieces = [rnd.choice(HEADER_PIECES) for _ in range(rnd.randrange(1, 12))]
        if rnd.random() < 0.7:  # most texts start the way a header does, so the runs are exercised
            pieces[:0] = [rnd.choice(["", "<134>", "<6>"]), "Apr ", rnd.choice(["14 ", " 4 ", "14 2020 "]),
                          "00:20:11", rnd.choice([" ", ": ", ".5 "])]
        texts.append("".join(pieces))
    return texts


def test_possessive_header_match_is_the_plain_match() -> None:
    texts = _header_texts(20000)
    differ = []
    for text in texts:
        fast, plain = t._FAST3164.match(text), _PLAIN3164.match(text)
        if (fast is None) != (plain is None) or (fast is not None and plain is not None and (
                (fast.group(1), *fast.groups()[2:]) != plain.groups() or fast.end() != plain.end()
                or fast.group(2) != text[plain.start(2):plain.end(7)])):  # group 2: the whole date
            differ.append(text)
    assert differ == []
    assert sum(1 for text in texts if t._FAST3164.match(text) is not None) > 5000  # the runs were exercised


def _random_lines(count: int) -> list[bytes]:
    rnd = random.Random(7)
    alphabet = b"aZ09 =:,'\"\\\t\x00\x1f\x7f\x80\xe4\xb8\xad\xff<>%|"
    lines = []
    for _ in range(count):
        length = rnd.choice((0, 1, 40, t._BYTES_JOIN_FROM - 1, t._BYTES_JOIN_FROM, t._BYTES_JOIN_FROM + 1, 600))
        kind = rnd.random()
        if kind < 0.4:  # printable ASCII without a quote: the bytes way
            lines.append(bytes(rnd.choice(b"aZ09 =:,\\\"<>%|") for _ in range(length)))
        elif kind < 0.7:  # the same with bytes from 0x80 (UTF-8, GB18030 or not text): the bytes way, \\xhh
            lines.append(bytes(rnd.choice(b"aZ09 =:,\\\"<>%|\x80\x9f\xa0\xe4\xb8\xad\xfe\xff") for _ in range(length)))
        else:
            lines.append(bytes(rnd.choice(alphabet) for _ in range(length)))
    return lines


def test_line_id_is_event_id_on_random_lines_and_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    sources = ["udp:127.0.0.1:5514", "/var/log/网神.log", "surrogate \udcff", "", "b"]
    positions = [0, 1, 255, 2**31, 2**63 + 5]
    rnd = random.Random(11)
    for raw in _random_lines(3000):
        source, position = rnd.choice(sources), rnd.choice(positions)
        assert t.line_id(source, position, raw) == event_id(source, position, raw), (source, position, raw)
    monkeypatch.setattr(t, "_CACHE_MAX", 2)  # the per-source states emptied again and again
    for i, raw in enumerate(_random_lines(300)):
        source = sources[i % len(sources)]
        assert t.line_id(source, i, raw) == event_id(source, i, raw)


def test_line_id_bytes_way_takes_long_lines_without_escapes_only() -> None:
    """The lines the bytes way takes (those repr writes without an escape of its own: no control
    byte, DEL or single quote), with and without bytes from 0x80, and none other."""
    lines = _random_lines(3000)
    marked = [raw for raw in lines if raw.translate(t._REPR_MARKS) is raw]
    assert all(not any(b < 0x20 or b in b"'\x7f" for b in raw) for raw in marked)
    assert all(any(b < 0x20 or b in b"'\x7f" for b in raw) for raw in lines if raw.translate(t._REPR_MARKS) is not raw)
    long = [raw for raw in marked if len(raw) >= t._BYTES_JOIN_FROM]
    assert sum(1 for raw in long if raw.isascii()) > 100 and sum(1 for raw in long if not raw.isascii()) > 100


def _plain_detect(msg: str, app: str | None) -> str | None:
    """The detector as the registry defines it: the first signature, in priority order, that matches."""
    tag = (app or "").lower()
    for source in registry.signatures():
        if source.matches is not None and source.matches(msg, tag):
            return source.name
    return None


def _auto_lines() -> list[bytes]:
    golden = [raw for name in TEXT_SOURCES for raw in golden_lines(name)]
    rnd = random.Random(3)
    mixed = []
    for _ in range(3000):
        a, b = rnd.choice(golden), rnd.choice(golden)
        cut_a, cut_b = rnd.randrange(len(a) + 1), rnd.randrange(len(b) + 1)
        mixed.append(a[:cut_a] + b[cut_b:])  # the start of one line with the end of another
        mixed.append(a[cut_a:])  # a line without its start (its header, its marker)
    return golden + mixed


def test_auto_picks_and_parses_as_the_plain_route() -> None:
    picked: set[str | None] = set()
    for position, raw in enumerate(_auto_lines()):
        text = t.decode(raw)
        auto = autodetect.parse_line(raw, "s", position)
        if text is None:
            assert isinstance(auto, DeadLetter)
            continue
        text = text.rstrip("\r\n")
        hdr, msg = t.split_syslog(text)
        name = _plain_detect(msg, hdr.app if hdr else None)
        assert autodetect.detect(msg, hdr.app if hdr else None) == name, raw
        picked.add(name)
        if name is None:
            assert isinstance(auto, DeadLetter) and auto.reason == "unrecognised format"
            continue
        direct = registry.source(name).line_parser()(raw, "s", position)
        assert type(auto) is type(direct), raw
        if isinstance(direct, Event):
            assert isinstance(auto, Event)
            assert (auto.id, auto.dataset, auto.key, auto.doc) == (direct.id, direct.dataset, direct.key, direct.doc)
        else:
            assert isinstance(auto, DeadLetter) and auto.reason == direct.reason
    assert len(picked) >= 12  # most sources were picked, and lines no signature takes were seen
    assert None in picked
