"""The per-line caches session 24 added or changed (issue 12, every address new): each gives what
the reading it stands in for gives, across a change of zone, after its bound empties it, and for a
text read a second time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta, timezone

import pytest

from logwarden.shippers import textlog as t
from logwarden.shippers.base import Event
from logwarden.shippers.huawei_usg import parser as huawei
from logwarden.shippers.secgate import parser as secgate
from tests.textlogs.test_huawei_kv import reference_kv_pairs

HUAWEI_ISO = (b"<190>2020-04-14 00:25:00 USG6330-01 %%01SECLOG/6/SESSION_TEARDOWN(l):IPVer=4,Protocol=tcp,"
              b"SourceIP=203.0.113.92,DestinationIP=198.51.100.21,SourcePort=50703,DestinationPort=3389,"
              b"BeginTime=1586823600,EndTime=1586823900,SourceZone=untrust,DestinationZone=trust.")
SECGATE = ('<6>Apr 14 00:20:11 192.168.1.1 kernel: devid=0 date="2020/04/14 00:20:11" dname=themis logtype=1 '
           'pri=5 ver=0.3.0 rule_name={rule} mod=pf sa=203.0.113.7 sport=50100 type=NULL da=198.51.100.7 '
           'dport=3389 code=NULL proto=IPPROTO_TCP policy=POLICY_PERMIT duration=3 rcvd=52 sent=48 fwlog=0 '
           'dsp_msg="{msg}"')


@pytest.fixture
def zone() -> Iterator[None]:
    """CONFIG.tz restored after the test (the tests here change it)."""
    before = t.CONFIG._tz
    yield
    t.CONFIG._tz = before


def _timestamp(raw: bytes) -> str:
    result = huawei.parse_line(raw, "test", 0)
    assert isinstance(result, Event), result
    return str(result.doc["@timestamp"])


def test_huawei_time_before_the_mark_follows_the_zone(zone: None) -> None:
    t.CONFIG.tz = UTC
    assert _timestamp(HUAWEI_ISO) == "2020-04-14T00:25:00.000Z"
    assert _timestamp(HUAWEI_ISO) == "2020-04-14T00:25:00.000Z"  # read from _PRE_TIMES
    t.CONFIG.tz = timezone(timedelta(hours=8))
    assert _timestamp(HUAWEI_ISO) == "2020-04-13T16:25:00.000Z"
    t.CONFIG.tz = timezone(timedelta(hours=8))  # an equal zone, another object: read again, the same
    assert _timestamp(HUAWEI_ISO) == "2020-04-13T16:25:00.000Z"
    t.CONFIG.tz = UTC
    assert _timestamp(HUAWEI_ISO) == "2020-04-14T00:25:00.000Z"


def test_huawei_time_cache_is_bounded(zone: None) -> None:
    t.CONFIG.tz = UTC
    for second in range(5000):
        text = f"2020-04-14 {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d} host{second} "
        assert huawei._pre_time(text) == huawei._read_pre_time(text)
        assert len(huawei._PRE_TIMES) <= 4096


def test_parse_time_follows_the_zone(zone: None) -> None:
    formats = ("%Y-%m-%d %H:%M:%S",)
    t.CONFIG.tz = UTC
    assert t.parse_time("2020-04-14 00:25:00", formats) == "2020-04-14T00:25:00.000Z"
    t.CONFIG.tz = timezone(timedelta(hours=-5))
    assert t.parse_time("2020-04-14 00:25:00", formats) == "2020-04-14T05:25:00.000Z"


def test_a_segment_for_the_regex_is_read_by_it_every_time() -> None:
    # `@=2` holds no key the split can trust: the regex reads the body, the first time and the next
    body = "x=1, @=2, y=3"
    for _ in range(3):
        assert huawei.kv_pairs(body) == reference_kv_pairs(body)
    assert all(read is not huawei._BY_REGEX for read in huawei._SEGMENTS.values())


@pytest.mark.parametrize("value", [None, "", " ", "NULL", "null", " nUlL ", "Ｎull", "themis", " pf1 ", "包过滤日志",
                                   "0", "-"])
def test_secgate_nulled_values_equal_null(value: str | None) -> None:
    for _ in range(2):  # learned, then looked up
        assert secgate._NULLED.get(value, secgate._UNSEEN) in (secgate._UNSEEN, secgate._null(value))
        assert secgate._null_seen(value) == secgate._null(value)
        assert secgate._NULLED[value] == secgate._null(value)


def test_secgate_documents_with_ever_new_values_stay_right_and_the_cache_bounded() -> None:
    for i in range(5000):
        rule = "NULL" if i % 7 == 0 else "nUlL" if i % 11 == 0 else f"rule{i}"
        result = secgate.parse_line(SECGATE.format(rule=rule, msg=f"包过滤 {i}").encode(), "test", i)
        assert isinstance(result, Event), result
        assert result.doc.get("rule") == (None if rule.upper() == "NULL" else {"name": rule})
        assert result.doc["message"] == f"包过滤 {i}"
        assert result.doc["secgate"]["sent"] == 48 and result.doc["event"]["duration"] == 3_000_000_000
        assert len(secgate._NULLED) <= 4096
