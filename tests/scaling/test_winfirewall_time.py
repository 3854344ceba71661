"""pfirewall.log times go through the cached `textlog.parse_time` (issue 12): a record's time is
read in the configured zone, or as UTC under `#Time Format: UTC`; a date that is not
YYYY-MM-DD (slashes, impossible days) stays a dead letter naming the bad value."""

from __future__ import annotations

import io
from datetime import UTC, timedelta, timezone

import pytest

from logwarden.shippers import textlog as t
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.winfirewall import parser

ROW = "{date} {time} ALLOW TCP 10.0.0.1 10.0.0.2 5000 443 0 - - - - - - - SEND 1234"


def _one(header: str, date: str, time: str) -> Event | DeadLetter:
    data = (header + ROW.format(date=date, time=time) + "\n").encode()
    (item,) = list(parser.parse_stream("pfirewall.log", io.BytesIO(data)))
    return item


@pytest.fixture(autouse=True)
def _zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(t.CONFIG, "tz", timezone(timedelta(hours=8)))


@pytest.mark.parametrize("header,date,time,expected", [
    ("", "2024-01-05", "10:11:12", "2024-01-05T02:11:12.000Z"),  # the configured zone, +08:00
    ("#Time Format: Local\n", "2024-1-5", "1:2:3", "2024-01-04T17:02:03.000Z"),
    ("#Time Format: UTC\n", "2024-01-05", "10:11:12", "2024-01-05T10:11:12.000Z"),
])
def test_record_time(header: str, date: str, time: str, expected: str) -> None:
    item = _one(header, date, time)
    assert isinstance(item, Event)
    assert item.doc["@timestamp"] == expected


def test_zone_change_is_not_served_from_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    first = _one("", "2024-01-05", "10:11:12")
    monkeypatch.setattr(t.CONFIG, "tz", UTC)
    second = _one("", "2024-01-05", "10:11:12")
    assert isinstance(first, Event) and isinstance(second, Event)
    assert (first.doc["@timestamp"], second.doc["@timestamp"]) == ("2024-01-05T02:11:12.000Z",
                                                                   "2024-01-05T10:11:12.000Z")


@pytest.mark.parametrize("header", ["", "#Time Format: UTC\n"])
@pytest.mark.parametrize("date,time", [("2024/01/05", "10:11:12"), ("2024-02-30", "00:00:00"),
                                       ("2024-01-05", "24:00:00"), ("2024-01-05T", "10:11:12")])
def test_bad_time_is_a_dead_letter(header: str, date: str, time: str) -> None:
    item = _one(header, date, time)
    assert isinstance(item, DeadLetter)
    assert "bad date/time" in item.reason and date in item.reason
