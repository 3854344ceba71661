"""`--source auto`: pick the parser for each line where the format is unambiguous.

The syslog header is stripped first; then the message (and the syslog tag) is matched against
each format's signature, most specific first. A line no signature matches becomes a dead letter
with reason "unrecognised format" (never a guess).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from logwarden.shippers import textlog as t
from logwarden.shippers.base import DeadLetter, Event

LineFn = Callable[[bytes, str, int], Event | DeadLetter]

_ASA = re.compile(r"%(?:ASA|FTD|FWSM|PIX)-(?:[\w-]+-)?\d-\d{6}:")
_FILTERLOG = re.compile(r"^\d*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,(?:pass|block|reject|match|scrub),(?:in|out),[46],")
_PANOS = re.compile(r"^\d*,\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2},[^,]*,(?:TRAFFIC|THREAT),")
_PFW = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} "
                  r"(?:ALLOW|DROP|OPEN|CLOSE|OPEN-INBOUND|INFO-EVENTS-LOST|DROP-ICMP) ")
_CLAM = re.compile(r"(?:: \S+ FOUND$|: Removed\.$|: (?:moved|copied) to '.*'$|: OK$|: .* ERROR$"
                   r"|^(?:[A-Z][a-z]{2} )?[A-Z][a-z]{2} +\d+ [\d:]+ \d{4} -> "
                   r"|^(?:Known viruses|Engine version|Scanned directories|Scanned files|Infected files|"
                   r"Total errors|Data scanned|Data read|Start Date|End Date): )")
_FRESH = re.compile(r"^[\w.-]+\.c[vl]d (?:updated|database is up[- ]to[- ]date) \(version: ")
_IPT = re.compile(r"(?:^|\s)IN=\S* OUT=\S* ")


def detect(msg: str, app: str | None) -> str | None:
    """The source name for a message (syslog header already split off), or None."""
    head = msg[:4096]
    app = (app or "").lower()
    if "CEF:" in head[:300] and re.search(r"CEF:\d+\|", head[:300]):
        return "cef"
    if _ASA.search(head[:300]):
        return "cisco_asa"
    if app == "filterlog" or _FILTERLOG.match(head):
        return "pfsense"
    if _PANOS.match(head):
        return "panos"
    if "type=" in head and ("devname=" in head or "logid=" in head or "devid=" in head):
        return "fortigate"
    if _IPT.search(head) and "SRC=" in head and "PROTO=" in head:
        return "iptables"
    if app.startswith("symantec") or head.startswith("SymantecServer") or "Risk name: " in head:
        return "symantec"
    stripped = head.lstrip()
    if stripped.startswith("{") and '"event_type"' in head:
        return "eset"
    if app in ("clamd", "freshclam", "clamscan") or _CLAM.search(msg[-512:]) or _CLAM.match(head) \
            or _FRESH.match(head):
        return "clamav"
    if _PFW.match(head):
        return "winfirewall"
    return None


_CACHE: dict[str, LineFn] = {}


def line_fn(name: str) -> LineFn:
    fn = _CACHE.get(name)
    if fn is None:
        from logwarden.shippers import registry

        module = registry.PARSERS[name].split(":")[0]
        fn = _CACHE[name] = importlib.import_module(module).parse_line
    return fn


def parse_line(raw: bytes, source: str, position: int) -> Event | DeadLetter:
    try:
        text = t.decode(raw)
        if text is None:
            return DeadLetter(source, raw, "unrecognised format (not UTF-8 or GB18030)", "unknown", position)
        hdr, msg = t.split_syslog(text.rstrip("\r\n"))
        name = detect(msg, hdr.app if hdr else None)
        if name is None:
            return DeadLetter(source, raw, "unrecognised format", "unknown", position)
        return line_fn(name)(raw, source, position)
    except Exception as exc:  # noqa: BLE001 - never raise
        return DeadLetter(source, raw, f"autodetect: {type(exc).__name__}: {exc}"[:300], "unknown", position)


def parse_stream(path: str, data: BinaryIO) -> Iterator[Event | DeadLetter]:
    for offset, raw in t.iter_lines(data):
        yield parse_line(raw, path, offset)
