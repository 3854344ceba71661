"""Ruijie RGOS syslog, the envelope documented in Ruijie's configuration guides ("Configuring
Syslog"): `<priority> seq no: timestamp sysname %ModuleName-severity-MNEMONIC: description`
(timestamp `Mmm dd [yyyy] hh:mm:ss[.msec]`, sequence number and sysname optional), and the RFC 5424
form `<priority>1 timestamp sysname MODULE LEVEL MNEMONIC [structured-data] description`.

What the guides confirm is the envelope; the description is free text whose wording per module
is not published in a form that could be checked, so it stays `message` and no address, port or
verdict is read from it (no guessed fields): a Ruijie line is an `event.type: info` document with
`event.code` = MODULE-LEVEL-MNEMONIC. Structured data of the RFC 5424 form (`[NAME@4881 ...]`,
4881 = Ruijie's IANA enterprise number) stays in event.original only: no parameter name of it is
documented. A line without the envelope is a dead letter.
"""

from __future__ import annotations

import re
from typing import Any

from logwarden.shippers import textlog as t
from logwarden.shippers.ruijie import SOURCE
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

_CLASSIC = re.compile(r"^\s*(?:(?P<seq>\d+):\s*)?\*?(?:(?P<ts>[A-Z][a-z]{2} +\d{1,2}(?: \d{4})? \d{2}:\d{2}:\d{2})"
                      r"(?:\.\d+)?\s+(?:(?P<host>[^\s%]\S*)\s+)?)?"
                      r"%(?P<module>[A-Z][A-Z0-9_]{1,19})-(?P<level>[0-7])-(?P<mnemonic>[A-Z0-9_]{2,32}):\s?(?P<text>.*)$",
                      re.S)
_MODULE = re.compile(r"^[A-Z][A-Z0-9_]{1,19}$")
_MNEMONIC = re.compile(r"^[A-Z0-9_]{2,32}$")
_LEVELS = ("emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug")


def _stamp(text: str) -> str | None:
    parts = text.split()
    month = t.MONTHS.get(parts[0].lower())
    if month is None:
        return None
    try:
        day = int(parts[1])
        year = int(parts[2]) if len(parts) == 4 else t.infer_year(month, day)
        return t.parse_time(f"{year:04d}-{month:02d}-{day:02d} {parts[-1]}", ("%Y-%m-%d %H:%M:%S",))
    except ValueError:
        return None


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    m = _CLASSIC.match(msg)
    if m is not None:
        module, level, mnemonic, text = m.group("module", "level", "mnemonic", "text")
        put(doc, "@timestamp", _stamp(m.group("ts")) if m.group("ts") else None)
        put(doc, "observer.hostname", m.group("host"))
        put(doc, "event.sequence", t.to_int(m.group("seq")))
    elif (hdr is not None and hdr.app and hdr.pid and hdr.msgid and _MODULE.match(hdr.app)
          and hdr.pid.isdigit() and len(hdr.pid) == 1 and int(hdr.pid) <= 7 and _MNEMONIC.match(hdr.msgid)):
        module, level, mnemonic, text = hdr.app, hdr.pid, hdr.msgid, msg
    else:
        raise ParseError("not a Ruijie RGOS line (no %MODULE-LEVEL-MNEMONIC:)")
    put(doc, "observer.vendor", "Ruijie")
    put(doc, "observer.product", "RGOS")
    put(doc, "event.code", f"{module}-{level}-{mnemonic}")
    put(doc, "event.severity", int(level))
    put(doc, "log.level", _LEVELS[int(level)])
    put(doc, "event.kind", "event")
    put(doc, "event.type", ["info"])
    put(doc, "event.action", mnemonic.lower())
    put(doc, "ruijie.module", module)
    put(doc, "message", text.strip() or None)
    return doc


parse_line = t.line_parser(SOURCE.name, SOURCE.dataset, parse)
parse_stream = t.stream_parser(parse_line)
