"""Ruijie RGOS syslog, the envelope documented in Ruijie's configuration guides ("Configuring
Syslog"): `<priority> seq no: timestamp sysname %ModuleName-severity-MNEMONIC: description`
(timestamp `Mmm dd [yyyy] hh:mm:ss[.msec]`, sequence number and sysname optional), and the RFC 5424
form `<priority>1 timestamp sysname MODULE LEVEL MNEMONIC [structured-data] description`.

What the guides confirm is the envelope; the description is free text whose wording is published
for one family only: NFPP (Network Foundation Protection Policy, the attack guards of RGOS
switches and gateways), whose attack logs name the attacking host
(`Host<IP=...,MAC=...,port=...,VLAN=...> was detected. (yyyy-mm-dd hh:mm:ss)`, see `_nfpp`).
Every other description stays `message` and no address, port or verdict is read from it (no guessed
fields): such a line is an `event.type: info` document with `event.code` = MODULE-LEVEL-MNEMONIC.
Structured data of the RFC 5424 form (`[NAME@4881 ...]`, 4881 = Ruijie's IANA enterprise number)
stays in event.original only: no parameter name of it is documented. A line without the envelope,
or an NFPP attack log without its host, is a dead letter.
"""

from __future__ import annotations

import re
from typing import Any

from logwarden.shippers import textlog as t
from logwarden.shippers.mac import ecs_mac
from logwarden.shippers.ruijie import SOURCE
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

_CLASSIC = re.compile(r"^\s*(?:(?P<seq>\d+):\s*)?\*?(?:(?P<ts>[A-Z][a-z]{2} +\d{1,2}(?: \d{4})? \d{2}:\d{2}:\d{2})"
                      r"(?:\.\d+)?(?::\s*|\s+(?:(?P<host>[^\s%]\S*)\s+)?))?"
                      r"%(?P<module>[A-Z][A-Z0-9_]{1,19})-(?P<level>[0-7])-(?P<mnemonic>[A-Z0-9_]{2,32}):\s?(?P<text>.*)$",
                      re.S)
_MODULE = re.compile(r"^[A-Z][A-Z0-9_]{1,19}$")
_MNEMONIC = re.compile(r"^[A-Z0-9_]{2,32}$")
_NFPP_MODULE = re.compile(r"^NFPP_([A-Z0-9]+)_GUARD$")
# mnemonic -> (event.kind, event.type, event.outcome, what rule.name says)
_NFPP_LOGS = {
    "DOS_DETECTED": ("alert", "info", None, "DoS attack"),
    "SCAN": ("alert", "info", None, "scan"),
    "ISOLATED": ("event", "denied", "success", "attacker isolated"),
    "ISOLATE_FAILED": ("event", "info", "failure", "attacker isolation failed"),
}
_NFPP_HOST = re.compile(r"[Hh]ost\s*<([^<>]*)>")
_NFPP_TIME = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\)\s*$")
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
    nfpp = _NFPP_MODULE.match(module)
    if nfpp is not None and mnemonic in _NFPP_LOGS:
        _nfpp(doc, nfpp.group(1), mnemonic, text)
    return doc


def _nfpp(doc: dict[str, Any], guard: str, mnemonic: str, text: str) -> None:
    """An NFPP guard's attack log (RGOS configuration guide, "NFPP Configuration"; Ruijie's support
    notes on NFPP logs): `Host<IP=a.b.c.d,MAC=xxxx.xxxx.xxxx,port=Gi4/1,VLAN=1> was detected.
    (yyyy-mm-dd hh:mm:ss)`, `Host <...> was isolated. (...)`, `Failed to isolate host <...>. (...)`;
    IP or MAC may be `N/A`. The host is the attacker (source), the port and VLAN where it was seen,
    the time in parentheses when the guard detected it (event.start)."""
    host = _NFPP_HOST.search(text)
    if host is None:
        raise ParseError(f"Ruijie NFPP {mnemonic} log without Host<...>")
    fields: dict[str, str] = {}
    for part in host.group(1).split(","):
        key, sep, value = part.partition("=")
        value = value.strip()
        if sep and value and value.upper() != "N/A":
            fields.setdefault(key.strip().lower(), value)
    if "ip" not in fields and "mac" not in fields:
        raise ParseError(f"Ruijie NFPP {mnemonic} log names neither IP nor MAC")
    kind, etype, outcome, what = _NFPP_LOGS[mnemonic]
    t.endpoint(doc, "source", fields.get("ip"))
    put(doc, "source.mac", ecs_mac(fields.get("mac")))
    put(doc, "observer.ingress.interface.name", fields.get("port"))
    put(doc, "network.vlan.id", fields.get("vlan"))
    put(doc, "network.protocol", guard.lower())
    when = _NFPP_TIME.search(text)
    put(doc, "event.start", t.parse_time(when.group(1), ("%Y-%m-%d %H:%M:%S",)) if when else None)
    put(doc, "rule.name", f"Ruijie NFPP {guard} guard: {what}")
    put(doc, "event.kind", kind)
    put(doc, "event.category", ["network", "intrusion_detection"])
    put(doc, "event.type", [etype])
    put(doc, "event.outcome", outcome)


parse_line = t.line_parser(SOURCE.name, SOURCE.dataset, parse)
parse_stream = t.stream_parser(parse_line)
