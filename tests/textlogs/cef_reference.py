"""The CEF reading as it was before the header memo (logwarden/shippers/cef/parser.py at d232f2a),
kept unchanged as the reference that tests/textlogs/test_cef_reference.py compares the parser with:
the same documents, key order included, and the same dead letters, line for line. Not imported by
logwarden itself."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from itertools import repeat
from typing import Any

from logwarden.shippers import textlog as t
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

_HDR_SPLIT = re.compile(r"(?<!\\)((?:\\\\)*)\|")
_EXT_KEY = re.compile(r"(?<!\S)([A-Za-z0-9_.\[\]-]+)=")
_SPACED_KEY = re.compile(r" ([A-Za-z0-9_.\[\]-]+)=")  # a key and the one space before it
_OTHER_SPACE = re.compile(r"[^\S ]")  # whitespace that is not a space (a key may follow it too)
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
    fields = text.split("|", 7)
    if len(fields) == 8 and text.find("\\", 0, len(text) - len(fields[7])) < 0:
        # no backslash before the extension: every `|` there ends a field and nothing is escaped
        return fields[:7], parse_extension(fields[7])
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
    """key=value pairs of a CEF extension: a key starts at the start or after whitespace, its value
    runs to the next key (spaces before it dropped), escapes undone; the last of a repeated key wins.
    (A key's `=` can never be escaped: the character before it is part of the key.)
    When single spaces are the only whitespace and the text does not end in one (nearly every line),
    each key is split off with the one space before it, which leaves no space to strip. (Every
    whitespace character but the space is unprintable, so a printable text has no other: the
    regex search is for the rest.)"""
    if ext[-1:] != " " and "  " not in ext and (ext.isprintable() or not _OTHER_SPACE.search(ext)):
        # [text before the first key, key, value, key, value, ...]: an odd count, so zip(it, it)
        # pairs each key with its value (no slice copies)
        items = iter(_SPACED_KEY.split(" " + ext))
        next(items)
        pairs = dict(zip(items, items, strict=True))
    else:
        pieces = _EXT_KEY.split(ext)
        pairs = dict(zip(pieces[1::2], map(str.rstrip, pieces[2::2], repeat(" ")), strict=True))
    if "\\" in ext:
        for key, value in pairs.items():
            if "\\" in value:
                pairs[key] = _EXT_ESC.sub(_ext_unesc, value)
    return pairs


def _rt(value: str | None) -> str | None:
    """ISO UTC of a CEF time: epoch milliseconds or one of the date formats; None when unreadable."""
    if not value:
        return None
    if value.isdigit():
        millis = int(value)
        if millis < _EXACT_MILLIS:  # the second's text once per second, the milliseconds appended
            second, milli = divmod(millis, 1000)
            prefix = _SECONDS.get(second)
            if prefix is None:
                if len(_SECONDS) >= _SECONDS_MAX:
                    _SECONDS.clear()
                prefix = _SECONDS[second] = t.iso(datetime.fromtimestamp(second, UTC))[:-4]
            return f"{prefix}{milli:03d}Z"
        try:
            return t.iso(datetime.fromtimestamp(millis / 1000, UTC))
        except (OverflowError, OSError, ValueError):
            return None
    return t.parse_time(value, ("%b %d %Y %H:%M:%S", "%b %d %Y %H:%M:%S.%f", "%b %d %H:%M:%S %Y")) or \
        t.parse_iso(value)


# Below 2**32 s an epoch in ms divided by 1000 as a float is within 0.5 us of the exact value, so
# fromtimestamp's microseconds are ms * 1000 and the text is the second's plus the milliseconds
# (tests/textlogs/test_cef_split.py compares the two readings).
_EXACT_MILLIS = 2**32 * 1000
_SECONDS: dict[int, str] = {}
_SECONDS_MAX = 4096


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    header, x = split_cef(msg)
    version, vendor, product, dversion, sig, name, severity = header
    if not version.strip().isdigit():
        raise ParseError(f"CEF version {version[:20]!r} is not a number")
    g = x.get
    # written where they go, "" absent as `put` has it; the extension keys that are copied as they
    # are come from one table
    doc: dict[str, Any] = {}
    stamp = _rt(g("rt")) or _rt(g("end"))
    if stamp:
        doc["@timestamp"] = stamp
    cef: dict[str, Any] = {"version": version}  # digits, never empty
    doc["cef"] = cef
    observer: dict[str, Any] = {}
    if vendor:
        observer["vendor"] = vendor
    if product:
        observer["product"] = product
    if dversion:
        observer["version"] = dversion
    value = g("dvchost") or g("deviceHostName")
    if value:
        observer["name"] = value
    doc["observer"] = observer
    if "dvc" in x:
        t.put_ip(doc, "observer.ip", x["dvc"])
    value = g("deviceInboundInterface")
    if value:
        observer["ingress"] = {"interface": {"name": value}}
    value = g("deviceOutboundInterface")
    if value:
        observer["egress"] = {"interface": {"name": value}}
    ev: dict[str, Any] = {}
    doc["event"] = ev  # event.type is always written below
    if sig:
        ev["code"] = sig
    if name:
        doc["message"] = name
    sev = int(severity) if severity.isdigit() and severity.isascii() else t.to_int(severity)  # to_int's usual case
    if sev is None:
        sev = _SEV.get(severity.lower())
    if sev is not None:
        ev["severity"] = sev
    t.endpoint(doc, "source", g("src") or g("c6a2"), g("spt"))
    t.endpoint(doc, "destination", g("dst") or g("c6a3"), g("dpt"))
    keys = x.keys()
    if not keys.isdisjoint(_TRANSLATED_KEYS):
        for side, address, port in _TRANSLATED:
            if address in x or port in x:
                t.endpoint(doc, side, g(address), g(port))
    copied = keys & _AS_WRITTEN.keys()  # most lines carry none or a few of them
    if copied:
        for key in sorted(copied, key=_AS_WRITTEN_ORDER.__getitem__) if len(copied) > 1 else copied:
            value = x[key]  # in table order: the document's key order is the same every run
            if value:
                put(doc, _AS_WRITTEN[key], value)
    user = g("suser") or g("duser")
    if user:
        doc["user"] = {"name": user}  # nothing above writes a top-level `user`
    # `in` (bytesIn) -> source.bytes, `out` (bytesOut) -> destination.bytes, as decode_cef maps them
    count = _count(g("in"))
    if count is not None:
        where = doc.get("source")  # t.node for a one-part path, without its loop
        if where.__class__ is not dict:
            where = doc["source"] = {}
        where["bytes"] = count
    count = _count(g("out"))
    if count is not None:
        where = doc.get("destination")
        if where.__class__ is not dict:
            where = doc["destination"] = {}
        where["bytes"] = count
    if "proto" in x:
        t.transport(doc, x["proto"])
    value = _DIRECTION.get(g("deviceDirection", ""))
    if value:
        t.node(doc, "network")["direction"] = value
    value = g("fileHash")
    if value and len(value) == 64:
        t.node(doc, "file.hash")["sha256"] = value
    value = g("sproc") or g("dproc")
    if value:
        doc["process"] = {"name": value}
    if g("cs1Label", "").lower() in ("rule", "rulename", "rule name") and g("cs1"):
        t.node(doc, "rule")["name"] = x["cs1"]
    labels = keys & _CUSTOM
    if labels:
        for label_key in sorted(labels) if len(labels) > 1 else labels:  # cs1Label ... cs6Label
            label, value = x[label_key], g(_CUSTOM[label_key])
            if label and value:
                t.node(doc, "cef.custom")[_slug(label)] = value
    if x:  # every pair but those whose key has a dot; the pairs themselves when none has (nearly always)
        cef["extensions"] = {k: v for k, v in x.items() if "." not in k} if "." in "".join(keys) else x
        if not cef["extensions"]:
            del cef["extensions"]
    act = (g("act") or "").strip()
    cat = g("cat", "")
    malware = bool(_MALWARE.search(f"{name} {cat} {act}"))
    if malware:
        ev["kind"] = "alert"
        ev["category"] = ["malware"]
        ev["type"] = ["info"]
        ev["action"] = act or "malware-detected"
        if name:
            t.node(doc, "rule")["name"] = name
        value = g("dhost") or g("shost")
        if value:
            doc["host"] = {"name": value}
        doc["_dataset"] = "av"
    else:
        low = act.lower()
        allowed = True if low in _ALLOW else False if low in _DENY else None
        t.verdict(doc, act or None, allowed=allowed)
        if act:
            ev["action"] = act  # as written, as decode_cef maps deviceAction
    if not observer:
        del doc["observer"]
    return doc


def _count(value: str | None) -> int | None:
    """A byte count's value (t.to_int: the number a text spells, else None), digits read without a call."""
    if value is None:
        return None
    return int(value) if value.isdigit() and value.isascii() else t.to_int(value)


_TRANSLATED = (("source.nat", "sourceTranslatedAddress", "sourceTranslatedPort"),
               ("destination.nat", "destinationTranslatedAddress", "destinationTranslatedPort"))
_TRANSLATED_KEYS = frozenset(key for _, address, port in _TRANSLATED for key in (address, port))
_AS_WRITTEN = {"shost": "source.domain", "dhost": "destination.domain", "smac": "source.mac", "dmac": "destination.mac",
               "suser": "source.user.name", "duser": "destination.user.name", "app": "network.application",
               "fname": "file.name", "filePath": "file.path", "request": "url.original"}
_AS_WRITTEN_ORDER = {key: i for i, key in enumerate(_AS_WRITTEN)}
_DIRECTION = {"0": "inbound", "1": "outbound"}
_CUSTOM = {f"cs{i}Label": f"cs{i}" for i in range(1, 7)}  # label key -> value key


def _slug(label: str) -> str:
    """A custom string's label as a field name (cached: labels repeat; a full cache starts again)."""
    slug = _SLUGS.get(label)
    if slug is None:
        if len(_SLUGS) >= 1024:
            _SLUGS.clear()
        slug = _SLUGS[label] = re.sub(r"[^a-z0-9_]+", "_", label.strip().lower()).strip("_")[:64] or "unnamed"
    return slug


_SLUGS: dict[str, str] = {}


_line = t.line_parser("cef", "firewall", parse, ecs_dataset="cef.log")


def parse_line(raw: bytes, source: str, position: int) -> Event | DeadLetter:
    """CEF routes per message: malware events -> av, the rest -> firewall."""
    item = _line(raw, source, position)
    if isinstance(item, Event) and item.doc.pop("_dataset", None) == "av":
        item.dataset = "av"
        item.doc["logwarden"]["family"] = "av"
    return item
