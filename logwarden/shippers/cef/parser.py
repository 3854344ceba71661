"""Generic CEF (ArcSight "Implementing ArcSight CEF" rev 25).

    CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension

Escaping: in the header `\\|` and `\\\\`; in the extension `\\=`, `\\\\`, `\\n`, `\\r`. Extension values
run until the next unescaped ` key=`. Mapping follows Elastic's CEF integration for the common keys
(src/dst/spt/dpt/proto/act/in/out/rt/deviceDirection/translated addresses/interfaces/users/files)
and keeps every extension key under cef.extensions.* so nothing is lost. A CEF event whose name,
category or action says virus/malware goes to the `av` dataset as an alert; the rest is `firewall`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from logwarden.shippers import textlog as t
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

_HDR_SPLIT = re.compile(r"(?<!\\)((?:\\\\)*)\|")
_EXT_KEY = re.compile(r"(?:^|(?<=\s))([A-Za-z0-9_.\[\]-]+)=")
_EXT_UNESC = {"\\=": "=", "\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\|": "|"}
_ALLOW = {"accept", "accepted", "allow", "allowed", "permit", "permitted", "pass", "passed"}
_DENY = {"block", "blocked", "deny", "denied", "drop", "dropped", "reject", "rejected"}
_MALWARE = re.compile(r"virus|malware|trojan|ransom|quarantin", re.I)
_SEV = {"low": 3, "medium": 5, "high": 8, "very-high": 10, "unknown": 0}


def _unescape_header(value: str) -> str:
    if "\\" not in value:
        return value
    return value.replace("\\|", "|").replace("\\\\", "\\")


_EXT_ESC = re.compile(r"\\[=\\nr|]")


def _ext_unesc(m: re.Match[str]) -> str:
    return _EXT_UNESC[m.group(0)]


def split_cef(msg: str) -> tuple[list[str], dict[str, str]]:
    """(7 header fields, extension dict); raises ParseError if not CEF."""
    start = msg.find("CEF:")
    if start < 0:
        raise ParseError("no CEF: header")
    text = msg[start + 4:]
    parts: list[str] = []
    pos = 0
    for m in _HDR_SPLIT.finditer(text):
        parts.append(text[pos:m.start()] + m.group(1))
        pos = m.end()
        if len(parts) == 7:
            break
    if len(parts) < 7:
        raise ParseError(f"CEF header has {len(parts)} of 7 fields")
    header = [_unescape_header(p) for p in parts]
    return header, parse_extension(text[pos:])


def parse_extension(ext: str) -> dict[str, str]:
    out: dict[str, str] = {}
    keys = [m for m in _EXT_KEY.finditer(ext) if not _escaped(ext, m.end() - 1)]
    for i, m in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else len(ext)
        value = ext[m.end():end].rstrip(" ")
        out[m.group(1)] = _EXT_ESC.sub(_ext_unesc, value) if "\\" in value else value
    return out


def _escaped(text: str, idx: int) -> bool:
    n = 0
    while idx - 1 - n >= 0 and text[idx - 1 - n] == "\\":
        n += 1
    return n % 2 == 1


def _rt(value: str | None) -> str | None:
    if not value:
        return None
    if value.isdigit():
        try:
            return t.iso(datetime.fromtimestamp(int(value) / 1000, UTC))
        except (OverflowError, OSError, ValueError):
            return None
    return t.parse_time(value, ("%b %d %Y %H:%M:%S", "%b %d %Y %H:%M:%S.%f", "%b %d %H:%M:%S %Y")) or \
        t.parse_iso(value)


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    header, x = split_cef(msg)
    version, vendor, product, dversion, sig, name, severity = header
    if not version.strip().isdigit():
        raise ParseError(f"CEF version {version[:20]!r} is not a number")
    doc: dict[str, Any] = {}
    put(doc, "@timestamp", _rt(x.get("rt")) or _rt(x.get("end")))
    put(doc, "cef.version", version)
    put(doc, "observer.vendor", vendor)
    put(doc, "observer.product", product)
    put(doc, "observer.version", dversion)
    put(doc, "observer.name", x.get("dvchost") or x.get("deviceHostName"))
    t.put_ip(doc, "observer.ip", x.get("dvc"))
    put(doc, "observer.ingress.interface.name", x.get("deviceInboundInterface"))
    put(doc, "observer.egress.interface.name", x.get("deviceOutboundInterface"))
    put(doc, "event.code", sig)
    put(doc, "message", name)
    sev = t.to_int(severity)
    put(doc, "event.severity", sev if sev is not None else _SEV.get(severity.lower()))
    t.endpoint(doc, "source", x.get("src") or x.get("c6a2"), x.get("spt"))
    t.endpoint(doc, "destination", x.get("dst") or x.get("c6a3"), x.get("dpt"))
    t.endpoint(doc, "source.nat", x.get("sourceTranslatedAddress"), x.get("sourceTranslatedPort"))
    t.endpoint(doc, "destination.nat", x.get("destinationTranslatedAddress"), x.get("destinationTranslatedPort"))
    put(doc, "source.domain", x.get("shost"))
    put(doc, "destination.domain", x.get("dhost"))
    put(doc, "source.mac", x.get("smac"))
    put(doc, "destination.mac", x.get("dmac"))
    put(doc, "source.user.name", x.get("suser"))
    put(doc, "destination.user.name", x.get("duser"))
    put(doc, "user.name", x.get("suser") or x.get("duser"))
    put(doc, "source.bytes", t.to_int(x.get("out")))
    put(doc, "destination.bytes", t.to_int(x.get("in")))
    t.transport(doc, x.get("proto"))
    put(doc, "network.application", x.get("app"))
    put(doc, "network.direction", {"0": "inbound", "1": "outbound"}.get(x.get("deviceDirection", "")))
    put(doc, "file.name", x.get("fname"))
    put(doc, "file.path", x.get("filePath"))
    put(doc, "file.hash.sha256", x.get("fileHash") if len(x.get("fileHash", "")) == 64 else None)
    put(doc, "process.name", x.get("sproc") or x.get("dproc"))
    put(doc, "url.original", x.get("request"))
    put(doc, "rule.name", x.get("cs1") if x.get("cs1Label", "").lower() in ("rule", "rulename", "rule name")
        else None)
    for i in range(1, 7):
        label = x.get(f"cs{i}Label")
        if label and f"cs{i}" in x:
            put(doc, f"cef.custom.{_slug(label)}", x[f"cs{i}"])
    put(doc, "cef.extensions", {k: v for k, v in x.items() if "." not in k} or None)
    act = (x.get("act") or "").strip()
    cat = x.get("cat", "")
    malware = bool(_MALWARE.search(f"{name} {cat} {act}"))
    if malware:
        put(doc, "event.kind", "alert")
        put(doc, "event.category", ["malware"])
        put(doc, "event.type", ["info"])
        put(doc, "event.action", act or "malware-detected")
        put(doc, "rule.name", name)
        put(doc, "host.name", x.get("dhost") or x.get("shost"))
        doc["_dataset"] = "av"
    else:
        low = act.lower()
        allowed = True if low in _ALLOW else False if low in _DENY else None
        t.verdict(doc, act or None, allowed=allowed)
        put(doc, "event.action", act or None)  # as written, as decode_cef maps deviceAction
    return doc


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", label.strip().lower()).strip("_")[:64] or "unnamed"


_line = t.line_parser("cef", "firewall", parse, ecs_dataset="cef.log")


def parse_line(raw: bytes, source: str, position: int) -> Event | DeadLetter:
    """CEF routes per message: malware events -> av, the rest -> firewall."""
    item = _line(raw, source, position)
    if isinstance(item, Event) and item.doc.pop("_dataset", None) == "av":
        item.dataset = "av"
        item.doc["logwarden"]["family"] = "av"
    return item


parse_stream = t.stream_parser(parse_line)
