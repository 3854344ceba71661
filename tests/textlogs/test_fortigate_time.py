"""FortiGate's @timestamp: an `eventtime` reading is cached per text (lines of one second repeat it),
which must never freeze what depends on the configured zone or on the other fields: an epoch that
does not read falls back to date+time, and date+time without `tz` follows the zone each time."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

import pytest

from logwarden.shippers import textlog
from logwarden.shippers.fortigate.parser import parse

LINE = 'date=2020-04-14 time=00:22:01 devname="FG" logid="0000000013" type="traffic" {extra}srcip=10.0.0.1'


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textlog.CONFIG, "_tz", UTC)


def _stamp(extra: str) -> str:
    return parse(LINE.format(extra=extra), None)["@timestamp"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("epoch", "expected"), [
    ("1586794921", "2020-04-13T16:22:01.000Z"),  # seconds
    ("1586794921123", "2020-04-13T16:22:01.123Z"),  # ms
    ("1586794921123456", "2020-04-13T16:22:01.123Z"),  # us
    ("1586794921123456789", "2020-04-13T16:22:01.123Z"),  # ns
])
def test_epoch_in_any_unit_reads_the_same_when_cached(zone: None, epoch: str, expected: str) -> None:
    assert _stamp(f"eventtime={epoch} ") == expected
    assert _stamp(f"eventtime={epoch} ") == expected  # the second reading comes from the cache


@pytest.mark.parametrize("epoch", ["abc", "0", "-5", "99999999999999999999999999"])
def test_an_epoch_that_does_not_read_falls_back_to_date_and_time_every_time(zone: None, epoch: str) -> None:
    assert _stamp(f"eventtime={epoch} ") == "2020-04-14T00:22:01.000Z"
    textlog.CONFIG.tz = timezone(timedelta(hours=8))
    assert _stamp(f"eventtime={epoch} ") == "2020-04-13T16:22:01.000Z"  # not the answer of the first zone


def test_date_and_time_follow_tz_field_over_the_zone(zone: None) -> None:
    assert _stamp('tz="+0800" ') == "2020-04-13T16:22:01.000Z"
    textlog.CONFIG.tz = timezone(timedelta(hours=-5))
    assert _stamp('tz="+0800" ') == "2020-04-13T16:22:01.000Z"
    assert _stamp("") == "2020-04-14T05:22:01.000Z"
