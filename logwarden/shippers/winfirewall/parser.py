"""Windows Firewall log (%SystemRoot%\\System32\\LogFiles\\Firewall\\pfirewall.log).

W3C extended log format: `#Fields:` names the columns of the lines that follow (stateful: a new
header redefines them); other `#` directives (#Version, #Software, #Time Format) are metadata,
not records. Before any header the Windows default field list is assumed (so a single line from
syslog or a resumed tail still parses; a resumed tail re-reads the header from the file start).
Times are local by default (`#Time Format: Local`): read in the configured zone (UTC unless
LOGWARDEN_LOG_TZ is set); `#Time Format: UTC` switches to UTC. The file has no host name: host.name
comes from LOGWARDEN_HOSTNAME (the `ship file` command sets it to the local host).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from logwarden.shippers import textlog as t
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.textlog import ParseError, put

MODULE = "winfirewall"
DEFAULT_FIELDS = ("date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack "
                  "tcpwin icmptype icmpcode info path").split()
ALLOWED = {"ALLOW": True, "OPEN": True, "OPEN-INBOUND": True, "CLOSE": True, "DROP": False,
           "DROP-ICMP": False}
PHASE = {"OPEN": "start", "OPEN-INBOUND": "start", "CLOSE": "end"}
DIRECTION = {"RECEIVE": "inbound", "SEND": "outbound", "FORWARD": "external"}


_LOCAL_FORMAT = ("%Y-%m-%d %H:%M:%S",)
_UTC_FORMAT = ("%Y-%m-%d %H:%M:%S %z",)


class W3CParser:
    """One stream's state: the current #Fields columns and time zone."""

    def __init__(self) -> None:
        self.fields: list[str] = list(DEFAULT_FIELDS)
        self.utc = False

    def directive(self, text: str) -> None:
        name, _, value = text[1:].partition(":")
        name = name.strip().lower()
        if name == "fields":
            cols = value.split()
            if cols:
                self.fields = cols
        elif name == "time format":
            self.utc = value.strip().upper() == "UTC"

    def record(self, text: str) -> dict[str, Any]:
        values = text.split()
        if len(values) < 4:
            raise ParseError(f"too few columns ({len(values)}) for a pfirewall record")
        row = {k: v for k, v in zip(self.fields, values, strict=False) if v != "-"}
        action = row.get("action", "").upper()
        if not action or "date" not in row or "time" not in row:
            raise ParseError("pfirewall record without date/time/action")
        # parse_time caches per text (a log has few distinct seconds); "/" is not this format's separator
        date = row["date"]
        stamp = None if "/" in date else t.parse_time(f"{date} {row['time']} +0000", _UTC_FORMAT) if self.utc \
            else t.parse_time(f"{date} {row['time']}", _LOCAL_FORMAT)
        if stamp is None:
            raise ParseError(f"bad date/time {row['date']!r} {row['time']!r}")
        host: dict[str, Any] = {"os": {"type": "windows"}}
        if t.CONFIG.hostname:
            host["name"] = t.CONFIG.hostname
        doc: dict[str, Any] = {"@timestamp": stamp, "host": host,
                               "observer": {"vendor": "Microsoft", "product": "Windows Firewall", "type": "firewall"}}
        t.endpoint(doc, "source", row.get("src-ip"), row.get("src-port"))
        t.endpoint(doc, "destination", row.get("dst-ip"), row.get("dst-port"))
        t.transport(doc, row.get("protocol"))
        allowed = ALLOWED.get(action)
        if action == "INFO-EVENTS-LOST":
            put(doc, "event.action", "info-events-lost")
            put(doc, "event.type", ["info"])
            put(doc, "event.kind", "event")
        else:
            t.verdict(doc, action, allowed=allowed, phase=PHASE.get(action))
        put(doc, "network.direction", DIRECTION.get(row.get("path", "").upper()))
        put(doc, "network.bytes", t.to_int(row.get("size")))
        put(doc, "process.pid", t.to_int(row.get("pid")))
        put(doc, "icmp.type", row.get("icmptype"))
        put(doc, "icmp.code", row.get("icmpcode"))
        put(doc, "windows_firewall.tcp.flags", row.get("tcpflags"))
        put(doc, "windows_firewall.tcp.syn", row.get("tcpsyn"))
        put(doc, "windows_firewall.tcp.ack", row.get("tcpack"))
        put(doc, "windows_firewall.tcp.window", row.get("tcpwin"))
        put(doc, "windows_firewall.info", row.get("info"))
        put(doc, "windows_firewall.path", row.get("path"))
        return doc

    def feed(self, raw: bytes, source: str, position: int) -> Event | DeadLetter | None:
        """An Event or DeadLetter for a record line; None for a directive or blank line."""
        try:
            text = t.decode(raw)
            if text is None:
                return DeadLetter(source, raw, f"{MODULE}: not UTF-8 or GB18030", "firewall", position)
            text = text.rstrip("\r\n").lstrip("\ufeff")
            if not text.strip():
                return None
            hdr, msg = t.split_syslog(text) if not text[:1].isdigit() else (None, text)
            if msg.startswith("#"):
                self.directive(msg)
                return None
            doc = self.record(msg)
            return t.finish(doc, raw_text=text, hdr=hdr, module=MODULE, dataset="firewall",
                            source=source, position=position, raw=raw)
        except Exception as exc:  # noqa: BLE001 - never raise: dead letter instead
            return DeadLetter(source, raw, t._reason(MODULE, exc), "firewall", position)

    def prime(self, data: BinaryIO, upto: int) -> None:
        """Read the directives before `upto` (a resumed read) so the columns are right."""
        try:
            data.seek(0)
            while data.tell() < upto:
                line = data.readline(65536)
                if not line:
                    break
                text = (t.decode(line) or "").strip().lstrip("\ufeff")
                if text.startswith("#"):
                    self.directive(text)
            data.seek(upto)
        except (OSError, ValueError):
            pass


def new_feeder() -> W3CParser:
    return W3CParser()


def parse_line(raw: bytes, source: str, position: int) -> Event | DeadLetter:
    """A single line with the default columns (a directive line is reported as a dead letter)."""
    item = W3CParser().feed(raw, source, position)
    if item is None:
        return DeadLetter(source, raw, f"{MODULE}: W3C directive or empty line, not a record", "firewall",
                          position)
    return item


def parse_stream(path: str, data: BinaryIO) -> Iterator[Event | DeadLetter]:
    state = W3CParser()
    try:
        start = data.tell()
    except (OSError, AttributeError, ValueError):
        start = 0
    if start > 0 and data.seekable():
        state.prime(data, start)
    for offset, raw in t.iter_lines(data):
        item = state.feed(raw, path, offset)
        if item is not None:
            yield item
