"""The text parsers' fast paths give the answers of the plain definitions they replace.

- The one-match reading of a common RFC 3164 header (textlog._FAST3164) gives the header the
  step-by-step reading (textlog._split_syslog) gives, on every combination of the shapes devices
  send: with and without PRI, short/long dates, a host or not, a tag or not, a "%" message; the
  year of a date without one still follows the clock when the default clock is used.
- keyvalue.kv_pairs and the iptables KEY=value reader give what a loop over the plain regex gives,
  on random texts made of the characters that matter (quotes, backslashes, "=", whitespace); the
  Sangfor body cut with str methods gives the non-empty parts of its separator pattern.
"""

from __future__ import annotations

import itertools
import random
import re
from datetime import UTC, datetime

import pytest

from logwarden.shippers import textlog as t
from logwarden.shippers.iptables import parser as iptables
from logwarden.shippers.keyvalue import kv_pairs
from logwarden.shippers.sangfor import parser as sangfor

PRIS = ["", "<4>", "<190>", "<1234>", "<>", "<13>1 "]
DATES = ["Apr 14 00:22:31 ", "Apr  4 00:22:31 ", "Apr 14 2020 00:22:31 ", "Apr 14 2020 00:20:11: ",
         "Foo 14 00:22:31 ", "Apr 14 00:22:31.123 ", "Apr 14 00:22:31",
         "2020-04-14T00:22:31Z ", " 2020-04-14 00:20:13 ", "Feb 30 00:00:00 "]
HOSTS = ["", "gw01 ", "192.168.1.1 ", "fe80::1 ", "host:x ", "%ASA ", "a b ", "kernel: ", "h" * 300 + " "]
TAGS = ["", "kernel: ", "kernel:[WAN-1-D]IN=", "clamd[812]: ", "fwlog: ", "%ASA-6-1: x", "tag[x]: ", ": ",
        "x" * 60 + ": ", "sshd[1]:x", "[5] kernel: "]
MESSAGES = ["IN=eth0 SRC=1", "", " x", "%%01POLICY/6/X(l):a"]


@pytest.mark.parametrize("pri", PRIS)
def test_fast_header_is_the_step_by_step_reading(pri: str) -> None:
    differ = []
    for parts in itertools.product(DATES, HOSTS, TAGS, MESSAGES):
        text = pri + "".join(parts)
        if t.split_syslog(text) != t._split_syslog(text):
            differ.append(text)
    assert differ == []


def test_year_follows_the_default_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(t.CONFIG, "now", t.utc_now)
    monkeypatch.setattr(t.CONFIG, "tz", UTC)
    now = datetime.now(UTC)
    hdr, msg = t.split_syslog(f"<4>{now:%b} {now.day:2d} 00:00:01 gw kernel: x")
    assert hdr is not None and msg == "x"
    assert hdr.timestamp == f"{now.year:04d}-{now.month:02d}-{now.day:02d}T00:00:01.000Z"
    # a fixed clock replaces the default one: its year is used, not the cached answer
    monkeypatch.setattr(t.CONFIG, "now", lambda: datetime(2001, 12, 31, tzinfo=UTC))
    hdr, _ = t.split_syslog(f"<4>{now:%b} {now.day:2d} 00:00:01 gw kernel: x")
    assert hdr is not None and hdr.timestamp is not None and hdr.timestamp.startswith("2001-")


_PLAIN_KV = re.compile(r'(?:^|(?<=\s))([\w.-]+)=("(?:[^"\\]|\\.)*"?|\S*)')  # kv_pairs' pattern before 2026-12


def _plain_kv_pairs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, val in _PLAIN_KV.findall(text):
        if val[:1] == '"':
            val = val[1:-1] if len(val) > 1 and val[-1] == '"' else val[1:]
        out[key] = val
    return out


def _random_texts(pieces: list[str], count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 30))) for _ in range(count)]


def test_kv_pairs_is_the_plain_loop() -> None:
    pieces = ["a", "b", "=", '"', "\\", " ", "\t", ".", "-", "_", "\u00e9", "1", "x=", " k=", '="', "\u3000", "\n"]
    texts = _random_texts(pieces, 20_000, 12) + ['a="x y" b=2', 'k="v\\"" z=1', 'a= b="', '="x"', 'a=1 a=2 b=3']
    differ = [text for text in texts
              if (kv_pairs(text), list(kv_pairs(text))) != (_plain_kv_pairs(text), list(_plain_kv_pairs(text)))]
    assert differ == []


def test_iptables_pairs_are_the_regex_reading() -> None:
    pieces = ["SRC=", "ID=", "1", "a", "B", " ", "=", "DF ", "xID=", "1ID=", "[", "ID=2 ", "\u00c9=", "\u3000"]
    texts = _random_texts(pieces, 20_000, 13) + ["IN=eth0 OUT= SRC=1.2.3.4 ID=1 PROTO=ICMP ID=99", "lowID=1 ID=2"]
    differ = [text for text in texts
              if iptables._pairs(text.split(), text) != dict(reversed(iptables._KV.findall(text)))]
    assert differ == []


def test_sangfor_parts_are_the_pattern_parts() -> None:
    pieces = ["a", ":", "\uff1a", ",", "\uff0c", " ", "\t", "\n", "\r", "\r\n", "\u3000", "\u6e90IP", "x:y", "http://a,b"]
    texts = _random_texts(pieces, 20_000, 14) + ["\u65e5\u5fd7\u7c7b\u578b:x, \t\n a:b\r\n\tc:d ,\uff0c e:f"]
    differ = [text for text in texts
              if [p for p in sangfor._separated(text) if p] != [p for p in sangfor._SPLIT.split(text.strip()) if p]]
    assert differ == []
