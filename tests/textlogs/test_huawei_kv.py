"""huawei_usg.parser.kv_pairs (values read by splitting at commas in the usual shapes, the regex
otherwise, cleaned once) gives what the reading it replaced gave: `_KV.findall`, the first of a
repeated key, then each value as `_first` cleaned it (stripped, "" and "-" as None). That
reading is kept here as the reference."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logwarden.shippers.huawei_usg import parser
from logwarden.shippers.huawei_usg.parser import _MARK, kv_pairs, kv_pairs_by_regex

from .sources import golden_lines

_KV = re.compile(r'([A-Za-z][\w-]*)=("[^"]*"|[^,;()]*)')


def reference_kv_pairs(text: str) -> dict[str, str | None]:
    """The reading before the split path: findall, first key wins, quotes and a closing period
    dropped, then `_first`'s cleaning of every value."""
    raw: dict[str, str] = {}
    for key, value in _KV.findall(text):
        if key in raw:
            continue
        value = value.strip()
        if value[:1] == '"' and value[-1:] == '"' and len(value) > 1:
            value = value[1:-1]
        elif value[-1:] == ".":
            value = value[:-1]
        raw[key] = value
    out: dict[str, str | None] = {}
    for key, value in raw.items():
        value = value.strip()
        out[key] = value if value and value != "-" else None
    return out


PIECES = st.sampled_from(["a", "key", "source-ip", "SrcIp", "=", "==", ",", ", ", ";", "(", ")", '"', '"x"', " ",
                          ".", "-", "1", "_x", "1a", "a-b", "é", "中", "\t", "\n", "\u00a0", "x.", "Attack occurred.",
                          "=-", '="a, b"', '=" - "', "=v.", "(k=1, j=2)", "CID=0x1;", "OuterVlan/InnerVlan=1/2",
                          "/", "9", "ké", "a/b=", "x y=", " 9k=", "-k=", "中k=", "_=", "k/=", "k/中="])


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.lists(PIECES, max_size=30).map("".join))
@example('An intrusion was detected. (SyslogId=1, VSys="public", Policy="a, b", SrcIp=10.0.0.1)')
@example('Attack occurred.(AttackType=Arp Miss Attack, SourceIP=10.0.0.1, AttackPackets=6 packets per second)')
@example('vsys=public, protocol=6, source-ip=203.0.113.90, rule-name=vendor-rdp.')
@example('k="a"b=c, d=e')
@example('k="a, b=c", d=e')
@example("a=1, a=2, b= - , c=.")
@example("Slot=MPU, OuterVlan/InnerVlan=301/12, x y=1, 9ab=2, -k=3, 中k=4, k/=5, ké=6")
def test_kv_pairs_equal_the_reference(text: str) -> None:
    assert kv_pairs(text) == reference_kv_pairs(text)
    assert kv_pairs_by_regex(text) == reference_kv_pairs(text)


def test_golden_bodies_read_the_same() -> None:
    lines = golden_lines("huawei_usg")
    assert lines
    split_read = 0
    for raw in lines:
        text = raw.decode("utf-8", "replace")
        mark = _MARK.search(text)
        body = text[mark.end():] if mark else text
        assert kv_pairs(body) == reference_kv_pairs(body)
        split_read += '"' not in body and ";" not in body
    assert split_read  # the split path is exercised, not only the regex


def test_usual_bodies_are_read_without_the_regex(monkeypatch: pytest.MonkeyPatch) -> None:
    """The golden bodies in the usual shapes (pairs, or a sentence then one parenthesis of pairs;
    no quote, no `;`), a key after `/` included (`OuterVlan/InnerVlan`), are read by the split
    path: the regex is not called for them."""
    def refuse(text: str) -> dict[str, str | None]:
        raise AssertionError(f"read by the regex: {text}")

    bodies = []
    for raw in golden_lines("huawei_usg"):
        text = raw.decode("utf-8", "replace")
        mark = _MARK.search(text)
        body = text[mark.end():] if mark else text
        if "=" in body and '"' not in body and ";" not in body and body.count("(") <= 1:
            bodies.append(body)
    assert any("OuterVlan/InnerVlan=" in body for body in bodies)
    expected = [reference_kv_pairs(body) for body in bodies]
    monkeypatch.setattr(parser, "kv_pairs_by_regex", refuse)
    assert [kv_pairs(body) for body in bodies] == expected


# Seeded hostile text shaped like a device's bodies: the golden bodies with new values (most of the
# kind a device writes, some hostile) and one to three edits each (a piece put in, a character
# dropped or doubled, a segment repeated), read by kv_pairs (split path, segment cache, regex) and
# by the reference. Session 25 measured a template reading of these bodies against kv_pairs and
# left it out (docs/benchmarks.md, "Huawei USG's body through templates, session 25"); these cases
# were written for it and hold for any reading that replaces kv_pairs.

def _golden_bodies() -> list[str]:
    bodies = []
    for raw in golden_lines("huawei_usg"):
        text = raw.decode("utf-8", "replace")
        mark = _MARK.search(text)
        if mark is not None:
            body = text[mark.end():]
            bodies.append(body[body.index(";") + 1:] if body.startswith("CID=") else body)
    return [body for body in bodies if "=" in body]


_VALUE = re.compile(r'(=)("[^"]*"|[^,;()"]*)')
NEW_VALUES = ["10.1.2.3", "2001:db8::1", "65535", "0", "untrust", "a b", " x ", "x.", "x. .", ".", "-", " - ",
              "-.", "", "名字", "é", "\xa0y\xa0", "y\u3000", "\x1c", "a\tb", "\u202e", "N/A", "1" * 300,
              "2020/4/14 00:20:11", "6 packets per second", "tcp-fin", "x..", "..", "a=b", '"q"', '"', '" - "',
              '""', '" a "', "a;b", "(x)", "a,b", "=x"]
EDITS = [" ", "  ", ",", ", ", ";", "(", ")", '"', "=", "x=1", ", extra-key=1", ", vsys=again", ".", "-", "\t",
         "\xa0", "中", "a/b=", "Key=", "=v", " 9k=", "CID=0x1;", '"a, b"', "()", "(k=1)", "\n"]


def _new_values(body: str, rng: random.Random, odd: float) -> str:
    """`body` with each value replaced: by one of NEW_VALUES with probability `odd`, else by one of
    the same shape as a device's (a new number for a number)."""
    def value(found: re.Match[str]) -> str:
        old = found.group(2)
        if rng.random() >= odd:
            new = str(rng.randrange(1, 10 ** rng.randint(1, 5))) if old.strip(' ".').isdigit() else old
        else:
            new = rng.choice(NEW_VALUES)
        return "=" + (f'"{new}"' if old.startswith('"') and rng.random() < 0.8 else new)

    return _VALUE.sub(value, body)


def _hostile(body: str, rng: random.Random) -> str:
    """`body` after one to three seeded edits: a piece put in, a character dropped or doubled, a
    segment repeated."""
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(body) + 1)
        kind = rng.randrange(4)
        if kind == 0:
            body = body[:at] + rng.choice(EDITS) + body[at:]
        elif kind == 1 and at < len(body):
            body = body[:at] + body[at + 1:]
        elif kind == 2 and at < len(body):
            body = body[:at] + body[at] + body[at:]
        else:
            segments = body.split(",")
            extra = rng.choice(segments)
            body = ",".join([*segments, extra] if rng.random() < 0.5 else [extra, *segments])
    return body


def test_device_shaped_and_hostile_bodies_read_as_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeded: every text reads as the reference (keys, values, order), and the split path, not only
    the regex, reads most of the device-shaped ones."""
    by_regex: list[str] = []

    def counted(text: str) -> dict[str, str | None]:
        by_regex.append(text)
        return kv_pairs_by_regex(text)

    monkeypatch.setattr(parser, "kv_pairs_by_regex", counted)
    bodies = _golden_bodies()
    rng = random.Random(25)
    split_read = 0
    for n in range(20_000):
        body = rng.choice(bodies)
        text = _new_values(body, rng, 0.02) if n % 2 else _hostile(_new_values(body, rng, 0.3), rng)
        before = len(by_regex)
        got = kv_pairs(text)
        assert list(got.items()) == list(reference_kv_pairs(text).items()), text
        split_read += len(by_regex) == before
    assert split_read > 5_000


_POLICY = ("vsys=public, protocol=6, source-ip=203.0.113.90, source-port=50700, destination-ip=192.168.10.21, "
           "destination-port=3389, time=2020/4/14 00:20:11, source-zone=untrust, destination-zone=trust, "
           "application-name=RDP, rule-name=vendor-rdp.")


@pytest.mark.parametrize("edit", [
    (", rule-name=", ", extra=1, rule-name="),   # an extra key
    (", source-port=", ",  source-port="),        # a doubled space
    ("vsys=public", 'vsys="public"'),             # a quote
    ("vsys=public", "vsys=pub;lic"),              # a `;`
    ("vsys=public", "vsys=(public)"),             # parentheses
    ("vsys=public", "vsys=a=b"),                  # `=` in a value
    (", protocol=6", ", vsys=other, protocol=6"),  # a repeated key
    ("rule-name=vendor-rdp.", "rule-name=vendor-rdp. ."),
    ("rule-name=vendor-rdp.", "rule-name=."),
    ("rule-name=vendor-rdp.", "rule-name= - ."),
    ("source-zone=untrust", "source-zone=-"),
])
def test_a_policy_body_that_differs_reads_as_the_reference(edit: tuple[str, str]) -> None:
    text = _POLICY.replace(*edit)
    assert text != _POLICY
    assert list(kv_pairs(_POLICY).items()) == list(reference_kv_pairs(_POLICY).items())
    assert list(kv_pairs(text).items()) == list(reference_kv_pairs(text).items())
