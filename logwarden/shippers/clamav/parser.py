"""ClamAV text logs.

- clamd (LogFile or syslog): `[Tue Apr 14 00:57:00 2020 -> ]/path: Sig.Name[(md5:size)] FOUND`
- clamscan output: `/path: Sig.Name FOUND`, `/path: OK`, `/path: moved to '/q/file'`,
  `/path: Removed.` and the `Key: value` lines of the scan summary
- freshclam: `daily.cld updated (version: ...)`, `... is up-to-date`, `Database updated ...`,
  `ClamAV update process started at ...`, `WARNING:`/`ERROR:` lines

Detections are alerts (event.kind=alert, category malware, rule.name = signature); clean results,
summaries and updates are plain events (kind=event) in the av dataset. The clamd `->` date has
no zone: read in the configured zone.
"""

from __future__ import annotations

import re
from typing import Any

from logwarden.shippers import textlog as t
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

_LOGTIME = re.compile(r"^(?:[A-Z][a-z]{2} )?([A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4}) -> ")
_FOUND = re.compile(r"^(?P<path>.+?): (?P<sig>[^\s:]+?)(?:\((?P<md5>[0-9a-f]{32}):(?P<size>\d+)\))? FOUND$")
_MOVED = re.compile(r"^(?P<path>.+?): (?:moved|copied) to '(?P<dest>.*)'$")
_REMOVED = re.compile(r"^(?P<path>.+?): Removed\.$")
_OK = re.compile(r"^(?P<path>.+?): OK$")
_ERR = re.compile(r"^(?P<path>.+?): (?P<err>.+) ERROR$")
_SUMMARY = re.compile(r"^(Known viruses|Engine version|Scanned directories|Scanned files|Infected files|"
                      r"Total errors|Data scanned|Data read|Time|Start Date|End Date): (?P<val>.*)$")
_FRESH_UPD = re.compile(r"^(?P<db>[\w.-]+\.c[vl]d) (?P<what>updated|database is up[- ]to[- ]date) "
                        r"\(version: (?P<ver>\d+), sigs: (?P<sigs>\d+)")
_FRESH_OTHER = re.compile(r"^(ClamAV update process started at|Database updated|WARNING:|ERROR:|"
                          r"Downloading |Testing database|Database test passed|Received signal|"
                          r"freshclam daemon|--------------------------------------)")


def _file(doc: dict[str, Any], path: str) -> None:
    put(doc, "file.path", path)
    name = re.split(r"[\\/]", path)[-1]
    put(doc, "file.name", name)
    if "." in name:
        put(doc, "file.extension", name.rsplit(".", 1)[-1].lower())


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    text = msg.strip()
    doc: dict[str, Any] = {}
    m = _LOGTIME.match(text)
    if m:
        put(doc, "@timestamp", t.parse_time(re.sub(" +", " ", m.group(1)), ("%b %d %H:%M:%S %Y",)))
        text = text[m.end():]
    app = (hdr.app or "").lower() if hdr else ""
    product = "freshclam" if "freshclam" in app else "clamd" if "clamd" in app else "ClamAV"
    put(doc, "observer.vendor", "Cisco Talos")
    put(doc, "observer.product", "ClamAV")
    put(doc, "host.name", (hdr.hostname if hdr else None) or t.CONFIG.hostname)
    put(doc, "clamav.component", product)
    if (f := _FOUND.match(text)) is not None:
        _file(doc, f.group("path"))
        put(doc, "rule.name", f.group("sig"))
        put(doc, "file.hash.md5", f.group("md5"))
        put(doc, "file.size", t.to_int(f.group("size")))
        put(doc, "event.action", "malware-detected")
        put(doc, "event.type", ["info"])
        put(doc, "event.kind", "alert")
        return doc
    if (f := _MOVED.match(text)) is not None:
        _file(doc, f.group("path"))
        put(doc, "clamav.quarantine_path", f.group("dest"))
        put(doc, "event.action", "malware-quarantined")
        put(doc, "event.type", ["change"])
        put(doc, "event.kind", "alert")
        return doc
    if (f := _REMOVED.match(text)) is not None:
        _file(doc, f.group("path"))
        put(doc, "event.action", "malware-deleted")
        put(doc, "event.type", ["deletion"])
        put(doc, "event.kind", "alert")
        return doc
    put(doc, "event.kind", "event")
    put(doc, "event.type", ["info"])
    if (f := _OK.match(text)) is not None:
        _file(doc, f.group("path"))
        put(doc, "event.action", "file-clean")
        put(doc, "event.outcome", "success")
    elif (f := _ERR.match(text)) is not None:
        _file(doc, f.group("path"))
        put(doc, "event.action", "scan-error")
        put(doc, "event.outcome", "failure")
        put(doc, "error.message", f.group("err"))
    elif (f := _SUMMARY.match(text)) is not None:
        put(doc, "event.action", "scan-summary")
        put(doc, "clamav.summary." + f.group(1).lower().replace(" ", "_"), f.group("val"))
    elif (f := _FRESH_UPD.match(text)) is not None:
        put(doc, "clamav.component", "freshclam")
        put(doc, "event.action", "signature-update" if f.group("what") == "updated" else "signature-up-to-date")
        put(doc, "clamav.database.name", f.group("db"))
        put(doc, "clamav.database.version", f.group("ver"))
        put(doc, "clamav.database.signatures", t.to_int(f.group("sigs")))
        put(doc, "event.outcome", "success")
    elif _FRESH_OTHER.match(text) or product == "freshclam":
        put(doc, "clamav.component", "freshclam")
        failed = text.startswith(("WARNING:", "ERROR:"))
        put(doc, "event.action", "signature-update-error" if failed else "signature-update-info")
        put(doc, "event.outcome", "failure" if failed else None)
    elif product == "clamd":
        put(doc, "event.action", "clamd-info")
    else:
        raise ParseError("not a ClamAV clamd/clamscan/freshclam line")
    put(doc, "message", text)
    return doc


parse_line = t.line_parser("clamav", "av", parse)
parse_stream = t.stream_parser(parse_line)
