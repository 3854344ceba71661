"""huawei_usg.parser reads a marker's `<version><MODULE>/<severity>/<BRIEF>` once per kind
(`_read_mark`, cached in `_MARKS`): every line still gets what the reading it replaced gave, the
groups of the old pattern turned into event.code, event.severity, log.level and the handler (or
the dead letter naming MODULE/BRIEF). That reading is kept here as the reference and compared on
the golden lines and on generated markers, the `(l)` and `[count]` parts included."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwarden.shippers.huawei_usg import parser
from logwarden.shippers.textlog import ParseError

from .sources import golden_lines

_OLD_MARK = re.compile(r"%%(\d{2})([A-Z][A-Z0-9_-]{1,31})/([0-7])/([A-Z][A-Z0-9_]{1,63})(?:\(([a-z])\))?"
                       r"(?:\[(\d+)\])?:\s*")
_LEVELS = {"0": "emergency", "1": "alert", "2": "critical", "3": "error", "4": "warning", "5": "notice",
           "6": "informational", "7": "debug"}


def reference_head(msg: str) -> tuple[str, Any]:
    """What parse wrote first (or refused) by the old reading: ("doc", (event.code, event.severity,
    log.level, body)) for a confirmed kind, ("refused", reason) otherwise."""
    m = _OLD_MARK.search(msg, 0, 400)
    if m is None:
        return "refused", "not a Huawei information-center log (no %%NNMODULE/severity/BRIEF:)"
    _, module, severity, brief, _, _ = m.groups()
    if (module, brief) not in parser._HANDLERS:
        return "refused", f"Huawei log not confirmed, not parsed: {module}/{brief}"
    return "doc", (f"{module}/{severity}/{brief}", int(severity), _LEVELS[severity], msg[m.end():])


def head(msg: str) -> tuple[str, Any]:
    """The same, read from what parse does now (its document, or its ParseError)."""
    doc: dict[str, Any] | None
    try:
        doc = parser.parse(msg, None)
    except ParseError as exc:
        if str(exc).startswith(("not a Huawei", "Huawei log not confirmed")):
            return "refused", str(exc)
        doc = None  # refused by its handler, after the head was read: compare what the marker gave
    m = parser._MARK.search(msg, 0, 400)
    assert m is not None
    code, severity, level, _, _ = parser._MARKS.get(m.group(1)) or parser._read_mark(m.group(1))
    if doc is not None:
        assert (doc["event"]["code"], doc["event"]["severity"], doc["log"]["level"]) == (code, severity, level)
    return "doc", (code, severity, level, msg[m.end():])


def test_golden_lines() -> None:
    lines = golden_lines("huawei_usg")
    assert lines
    for raw in lines:
        msg = raw.decode("utf-8", "replace")
        assert head(msg) == reference_head(msg), msg


_KINDS = [f"{module}/{brief}" for module, brief in parser._HANDLERS] + ["SHELL/LOGIN", "POLICY/POLICYX", "IPS/DETECT_"]
_MARKS = st.builds(
    lambda version, kind, severity, level, count, gap: (
        f"%%{version}{kind.replace('/', f'/{severity}/')}{level}{count}:{gap}"),
    st.sampled_from(["01", "00", "99", "1", "010"]), st.sampled_from(_KINDS), st.sampled_from([*"01234567", "8", "x"]),
    st.sampled_from(["", "(l)", "(s)", "(L)", "(ll)"]), st.sampled_from(["", "[0]", "[12]", "[200772]", "[]", "[x]"]),
    st.sampled_from(["", " ", "  ", "\t"]))
_PREFIXES = st.sampled_from(["", "Apr 14 2020 00:20:11 USG6330-01 ", "2020-04-14 00:25:00+08:00 DST fw ", "%%", "x",
                             "%%01POLICY/6/"])
_BODIES = st.sampled_from(["vsys=public, protocol=6, source-ip=203.0.113.90, source-port=1",
                           "IPVer=4,Protocol=udp,SourceIP=10.0.0.1,DestinationIP=10.0.0.2", "CID=0x1;vsys=a",
                           "Attack occurred.(AttackType=Arp Miss Attack, SourceIP=10.0.0.1)", "", "%%01IPS/4/DETECT:x"])


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(_PREFIXES, _MARKS, _BODIES)
def test_generated_markers(prefix: str, mark: str, body: str) -> None:
    msg = prefix + mark + body
    assert head(msg) == reference_head(msg), msg


def test_kinds_are_read_once() -> None:
    """A second line of a kind takes the cached reading: the same object, whatever its [count]."""
    parser._MARKS.clear()
    parser.parse("%%01POLICY/6/POLICYPERMIT(l)[1]:vsys=a, source-ip=10.0.0.1", None)
    first = parser._MARKS["01POLICY/6/POLICYPERMIT"]
    parser.parse("%%01POLICY/6/POLICYPERMIT(l)[2]:vsys=a, source-ip=10.0.0.2", None)
    assert parser._MARKS["01POLICY/6/POLICYPERMIT"] is first
    assert list(parser._MARKS) == ["01POLICY/6/POLICYPERMIT"]
