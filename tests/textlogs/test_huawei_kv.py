"""huawei_usg.parser.kv_pairs (values read by splitting at commas in the usual shapes, the regex
otherwise, cleaned once) gives what the reading it replaced gave: `_KV.findall`, the first of a
repeated key, then each value as `_first` cleaned it (stripped, "" and "-" as None). That
reading is kept here as the reference."""

from __future__ import annotations

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
