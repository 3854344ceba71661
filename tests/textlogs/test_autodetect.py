"""`--source auto`: every golden line a parser accepts is routed to that same parser."""

from __future__ import annotations

import pytest

from logwarden.shippers import autodetect
from logwarden.shippers.base import DeadLetter, Event

from .sources import TEXT_SOURCES, golden_lines, module

ROUTED = [s for s in TEXT_SOURCES if s != "huorong"]  # huorong is a SQLite file, not a wire format


@pytest.mark.parametrize("name", ROUTED)
def test_golden_lines_detected_as_their_source(name: str) -> None:
    for raw in golden_lines(name):
        direct = module(name).parse_line(raw, "s", 1)
        if isinstance(direct, Event):
            auto = autodetect.parse_line(raw, "s", 1)
            assert isinstance(auto, Event), (name, raw[:120], auto)
            assert auto.doc["event"]["dataset"] == direct.doc["event"]["dataset"]  # the same parser
            assert auto.id == direct.id


@pytest.mark.parametrize("raw", [b"hello world", b"<13>Apr 14 00:00:00 host app: something else", b"",
                                 b"\xff\xfe\xfd", b"{\"json\": true}", b"a,b,c,d"])
def test_unknown_is_dead_letter(raw: bytes) -> None:
    item = autodetect.parse_line(raw, "s", 1)
    assert isinstance(item, DeadLetter)
    assert item.reason.startswith("unrecognised format")
    assert item.raw == raw


def test_gbk_payload_decoded() -> None:
    raw = '<134>Apr 14 00:20:11 fw devname="防火墙" devid="X" logid="1" type="traffic" action="deny"'.encode("gbk")
    item = autodetect.parse_line(raw, "s", 1)
    assert isinstance(item, Event)
    assert item.doc["observer"]["name"] == "防火墙"
    assert "防火墙" in item.doc["event"]["original"]
