"""textlog._split_syslog's shortcuts (no `<` and no date can start: no header) give what its
steps gave before them: `_reference` below is that function as it was, kept unchanged, compared on
generated texts made of the pieces that decide a header (PRI, versions, months, ISO dates, hosts,
tags, Unicode digits and letters that look like them) and on the golden lines of every line source."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from logwarden.shippers import registry
from logwarden.shippers import textlog as t
from logwarden.shippers.textlog import _ISO_TS, _PRI, _R3164_TS, _R5424, MONTHS, SyslogHeader

from .sources import golden_lines


def _reference(text: str) -> tuple[SyslogHeader | None, str]:
    """textlog._split_syslog before its shortcuts (2026-12), unchanged."""
    pos = 0
    hdr = SyslogHeader()
    seen = False
    m = _PRI.match(text)
    if m:
        hdr.priority = int(m.group(1))
        pos = m.end()
        m5 = _R5424.match(text, pos) if text.startswith("1 ", pos) else None  # only version 1 is read
        if m5 and m5.group(1) == "1":
            ts, host, app, pid, msgid, sd, msg = m5.groups()[1:]
            hdr.timestamp = t.parse_iso(ts) if ts != "-" else None
            hdr.hostname = None if host == "-" else host
            hdr.app = None if app == "-" else app
            hdr.pid = None if pid == "-" else pid
            hdr.msgid = None if msgid == "-" else msgid
            hdr.sd = None if sd == "-" else sd
            if msg.startswith("\ufeff"):
                msg = msg[1:]
            return hdr, msg
    m = _R3164_TS.match(text, pos)
    if m and m.group(1).lower() in MONTHS:
        hdr.timestamp = t._ts3164(m.group(1, 2, 3, 4, 5, 6))
        pos = m.end()
        seen = True
    else:
        mi = _ISO_TS.match(text, pos)
        if mi:
            hdr.timestamp = t.parse_iso(mi.group(1))
            pos = mi.end()
            seen = True
    if seen:
        mt = t._TAG.match(text, pos)
        if not mt and not text.startswith("%", pos):
            mh = t._HOST.match(text, pos)
            if mh:
                hdr.hostname = mh.group(1)
                pos = mh.end()
                mt = t._TAG.match(text, pos)
        if mt:
            hdr.app, hdr.pid = mt.group(1), mt.group(2)
            pos = mt.end()
        return hdr, text[pos:]
    if hdr.priority is not None:
        return hdr, text[pos:]
    return None, text


_PIECES = st.sampled_from([
    "<", ">", "<189>", "<6>", "<1000>", "1 ", "2 ", "1", " ", "  ", "Apr", "apr", "Xyz", "Apr 14 ", "Apr  4 ",
    "2020 ", "00:20:11 ", "00:20:11", ".123", "2020-04-14T00:20:11Z ", "2020-04-14T00:20:11+08:00 ",
    "2020-04-14 00:20:11 ", "host ", "fw-01 ", "kernel: ", "app[12]: ", "%ASA-6-302013: ", "%%01POLICY", "- ",
    "[x@1 a=\"b\"] ", "date=", "devid=0", "a", "Z", "z", "\u0661", "\uff11", "\uff21", "\u00c9", "\ufeff", "\t",
    "\n", "", "\x00", ":", "[", "]", "2020-04-14", "T", "T00:20:11Z ", "1234567890", "\u0661\u0662\u0663\u0664",
])


@settings(max_examples=4000, deadline=None)
@given(st.lists(_PIECES, max_size=10).map("".join))
def test_generated_texts(text: str) -> None:
    assert t._split_syslog(text) == _reference(text), repr(text)
    assert t.split_syslog(text) == _reference(text), repr(text)


def test_golden_lines_of_every_source() -> None:
    count = 0
    for name in registry.names(lambda source: source.line_oriented):
        for raw in golden_lines(name):
            text = (t.decode(raw) or "").rstrip("\r\n")
            assert t._split_syslog(text) == _reference(text), raw
            count += 1
    assert count > 100


def test_a_line_without_a_header_is_said_to_have_none() -> None:
    line = "date=2020-04-14 time=01:00:00 devname=FG"
    assert t._split_syslog(line) == (None, line)
    assert t._split_syslog("<189>date=2020-04-14") == (SyslogHeader(priority=189), "date=2020-04-14")
    arabic_iso = ("\u0662\u0660\u0662\u0660-\u0660\u0664-\u0661\u0664T\u0660\u0660:\u0662\u0660:\u0661\u0661Z"
                  " fw kernel: x")
    assert _reference(arabic_iso)[0] is not None  # `\d` reads Arabic-Indic digits: a date's first character
    assert t._split_syslog(arabic_iso) == _reference(arabic_iso)
    assert t._split_syslog("<6>" + arabic_iso) == _reference("<6>" + arabic_iso)
