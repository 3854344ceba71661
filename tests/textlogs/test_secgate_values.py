"""secgate.parser hands addresses and ports to textlog.endpoint as written (no `_null` first; a
port that is plainly no value as None), reads a protocol through a cache of `_proto`, and skips
textlog.icmp when both ICMP values are plainly no value: each gives the documents the
cleaned-first reading gave. That reading is kept here (`_reference_proto`, the calls with `_null`)
and compared over generated hostile values and the golden lines' values."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwarden.shippers import textlog as t
from logwarden.shippers.secgate.parser import _NO_VALUE, _null, _pairs, _proto

from .sources import golden_lines

_PIECES = ["", " ", "\t", "\u3000", "NULL", "null", "NuLl", "nul", "-", "n/a", "None", "0", "1", "80", "65535",
           "65536", "-1", "+1", "٣", "1.2.3.4", "10.0.0.1", "010.0.0.1", "256.1.1.1", "::1", "fe80::1%eth0", ":",
           ".", "ı", "ＮＵＬＬ", "é", "中", "\u202e", "\x00", "IPPROTO_", "ipproto_tcp", "IPPROTO_UDP", "TCP", "icmp",
           "300", "x" * 70]
_VALUES = st.one_of(st.none(), st.lists(st.sampled_from(_PIECES), max_size=4).map("".join))
_SETTINGS = settings(max_examples=4000, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def _reference_proto(value: str | None) -> str | None:
    """_proto before its cache."""
    value = _null(value)
    return value[len("IPPROTO_"):] if value and value.upper().startswith("IPPROTO_") else value


def _endpoints(ip: str | None, port: str | None, *, cleaned: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for side in ("source", "destination.nat"):
        if cleaned:
            t.endpoint(doc, side, _null(ip), _null(port))
        else:  # as parse hands them on
            t.endpoint(doc, side, ip, None if port in _NO_VALUE else port)
    return doc


def _icmp(icmp_type: str | None, icmp_code: str | None, *, skip: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if not skip or icmp_type not in _NO_VALUE or icmp_code not in _NO_VALUE:
        t.icmp(doc, _null(icmp_type), _null(icmp_code))
    return doc


def _check(ip: str | None, port: str | None, proto: str | None, icmp_code: str | None) -> None:
    assert _endpoints(ip, port, cleaned=False) == _endpoints(ip, port, cleaned=True)
    for _ in range(2):  # read, then cached
        assert _proto(proto) == _reference_proto(proto)
    assert _icmp(proto, icmp_code, skip=True) == _icmp(proto, icmp_code, skip=False)


@_SETTINGS
@given(_VALUES, _VALUES, _VALUES, _VALUES)
def test_generated_values(ip: str | None, port: str | None, proto: str | None, icmp_code: str | None) -> None:
    _check(ip, port, proto, icmp_code)


def test_golden_values() -> None:
    values: set[str | None] = {None}
    for raw in golden_lines("secgate"):
        values.update(_pairs(raw.decode("utf-8").partition("kernel:")[2]).values())
    assert "NULL" in values and "IPPROTO_TCP" in values
    for value in values:
        for other in values:
            _check(value, other, value, other)
