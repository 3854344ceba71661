"""`--source auto` hands a text parser the line it already decoded and header-split
(`after_split`, attached to every `textlog.line_parser`): the answer must be the one the
parser's own `parse_line` gives for the same bytes, event or dead letter, on every golden line
and on lines no parser accepts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from logwarden.shippers import autodetect, golden, registry
from logwarden.shippers import textlog as t
from logwarden.shippers.base import DeadLetter, Event

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(t.CONFIG, "now", lambda: NOW)  # timestamp-missing documents compare equal
    monkeypatch.setattr(t.CONFIG, "tz", UTC)


def _golden_lines() -> Iterator[tuple[str, bytes]]:
    for name, log in golden.cases():
        for raw in log.read_bytes().splitlines():
            yield name, raw


def _same(a: Event | DeadLetter, b: Event | DeadLetter) -> bool:
    if isinstance(a, Event) and isinstance(b, Event):
        return a == b
    if isinstance(a, DeadLetter) and isinstance(b, DeadLetter):
        return (a.raw, a.reason, a.dataset, a.position) == (b.raw, b.reason, b.dataset, b.position)
    return False


def _after_split(name: str, raw: bytes, position: int) -> Event | DeadLetter:
    fn = getattr(registry.source(name).line_parser(), t.AFTER_SPLIT)
    text = t.decode(raw)
    assert text is not None
    text = text.rstrip("\r\n")
    hdr, msg = t.split_syslog(text)
    result: Event | DeadLetter = fn(raw, text, hdr, msg, "f", position)
    return result


def test_after_split_is_parse_line_on_every_golden_line() -> None:
    compared = events = 0
    for name, raw in _golden_lines():
        parse_line = registry.source(name).line_parser()
        if getattr(parse_line, t.AFTER_SPLIT, None) is None or t.decode(raw) is None:
            continue
        direct = parse_line(raw, "f", compared)
        assert _same(_after_split(name, raw, compared), direct), (name, raw)
        compared += 1
        events += isinstance(direct, Event)
    assert compared > 140 and events > 100


@pytest.mark.parametrize("raw", [b"   ", b"\t\r", b"not a firewall line", b"<134>Jan  1 00:00:00 fw kernel: x",
                                 b"<13>1 2026-01-01T00:00:00Z h app - - - \xe4\xb8\xad \x1b[31m"])
def test_after_split_dead_letters_match(raw: bytes) -> None:
    for name in ("iptables", "fortigate", "cisco_asa", "panos"):
        direct = registry.source(name).line_parser()(raw, "f", 3)
        assert isinstance(direct, DeadLetter)
        assert _same(_after_split(name, raw, 3), direct), (name, raw)


def test_autodetect_gives_the_detected_parser_answer() -> None:
    detected = 0
    for _, raw in _golden_lines():
        text = t.decode(raw)
        if text is None:
            continue
        hdr, msg = t.split_syslog(text.rstrip("\r\n"))
        name = autodetect.detect(msg, hdr.app if hdr else None)
        if name is None:
            continue
        assert _same(autodetect.parse_line(raw, "f", 9), registry.source(name).line_parser()(raw, "f", 9)), raw
        detected += 1
    assert detected > 140
