"""Generic CEF (ArcSight "Implementing ArcSight CEF" rev 25).

    CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension

Escaping: in the header `\\|` and `\\\\`; in the extension `\\=`, `\\\\`, `\\n`, `\\r`. Extension values
run until the next unescaped ` key=`. Mapping follows Elastic's CEF integration for the common keys
(src/dst/spt/dpt/proto/act/in/out/rt/deviceDirection/translated addresses/interfaces/users/files)
and keeps every extension key under cef.extensions.* so nothing is lost. A CEF event whose name,
category or action says virus/malware goes to the `av` dataset as an alert; the rest is `firewall`.

What is constant per header text (fields, version check, observer, event code and severity) and per
sequence of extension keys (which mapped keys are present) is worked out once and remembered in
bounded memos (`_admit`): a device repeats the headers and key sequences of its event catalogue.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from itertools import repeat
from typing import Any, NamedTuple

from logwarden.shippers import textlog as t
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

_HDR_SPLIT = re.compile(r"(?<!\\)((?:\\\\)*)\|")
# `CEF:` and 7 header fields, each ended by a `|` that no backslash escapes (a backslash takes the
# character after it, whatever it is): the same ends as _HDR_SPLIT's
_HEADER_TEXT = re.compile(r"CEF:(?:[^|\\]*(?:\\[\s\S][^|\\]*)*\|){7}")
_EXT_KEY = re.compile(r"(?<!\S)([A-Za-z0-9_.\[\]-]+)=")
_SPACED_KEY = re.compile(r" ([A-Za-z0-9_.\[\]-]++)=")  # a key and the one space before it
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
    head, pairs = _read(msg)
    return list(head.fields), pairs


class _Header(NamedTuple):
    """What a CEF header gives every line that carries it, worked out once per distinct header."""

    fields: tuple[str, ...]  # the 7 fields, escapes undone
    error: str | None  # why parse refuses the line (a version that is not a number), else None
    version: str
    observer: dict[str, str]  # vendor, product, version as present: copied per line, then added to
    event: dict[str, Any]  # code, severity as present: copied per line
    name: str
    malware: bool  # the name says virus/malware/...


def _read(msg: str) -> tuple[_Header, dict[str, str]]:
    """The header's facts and the extension's pairs of a CEF message; raises ParseError if not CEF.
    The header (the text from `CEF:` to the `|` before the extension) is looked up in _HEADERS:
    a device sends the few headers of its event catalogue (vendor, product, version, signature,
    name, severity) over and over, so nearly every line finds its header there."""
    start = msg.find("CEF:")
    if start < 0:
        raise ParseError("no CEF: header")
    text = msg[start:] if start else msg
    fields = text.split("|", 7)
    if len(fields) == 8:
        ext = fields[7]
        head_text = text[:len(text) - len(ext)]
        head = _HEADERS.get(head_text)
        if head is not None:
            return head, parse_extension(ext)
        if "\\" not in head_text:
            # no backslash before the extension: every `|` there ends a field and nothing is escaped
            fields[0] = fields[0][4:]
            return _remember(head_text, fields[:7]), parse_extension(ext)
    # a backslash in the header: the text up to the 7th unescaped `|` is looked up first
    end = _HEADER_TEXT.match(text)
    if end is not None:
        head = _HEADERS.get(end.group())
        if head is not None:
            return head, parse_extension(text[end.end():])
    text = text[4:]
    parts: list[str] = []
    pos = 0
    for m in _HDR_SPLIT.finditer(text):
        parts.append(text[pos:m.start()] + m.group(1))
        pos = m.end()
        if len(parts) == 7:
            break
    if len(parts) < 7:
        raise ParseError(f"CEF header has {len(parts)} of 7 fields")
    head_text = "CEF:" + text[:pos]
    head = _HEADERS.get(head_text) or _remember(head_text, [_unescape_header(p) for p in parts])
    return head, parse_extension(text[pos:])


def _remember(head_text: str, fields: list[str]) -> _Header:
    """The _Header of 7 header fields, offered to _HEADERS under the header's text (see _admit)."""
    version, vendor, product, dversion, sig, name, severity = fields
    error = None if version.strip().isdigit() else f"CEF version {version[:20]!r} is not a number"
    observer = {}
    if vendor:
        observer["vendor"] = vendor
    if product:
        observer["product"] = product
    if dversion:
        observer["version"] = dversion
    event: dict[str, Any] = {"code": sig} if sig else {}
    sev = int(severity) if severity.isdigit() and severity.isascii() else t.to_int(severity)
    if sev is None:
        sev = _SEV.get(severity.lower())
    if sev is not None:
        event["severity"] = sev
    head = _Header(tuple(fields), error, version, observer, event, name, _MALWARE.search(name) is not None)
    if len(head_text) <= _MEMO_KEY_MAX:
        _admit(_HEADERS, _HEADERS_SEEN, head_text, head)
    return head


def _admit(memo: dict[Any, Any], seen: set[Any], key: Any, value: Any) -> None:
    """Keep `value` under `key` in `memo` the second time `key` is worked out, not the first: a sender
    that never repeats itself (a name or a key written per event) costs one set entry a line, and
    neither fills the memo nor keeps objects alive for the garbage collector to walk. Both are
    bounded: a full one starts again."""
    if key in seen:
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        memo[key] = value
    else:
        if len(seen) >= _MEMO_MAX:
            seen.clear()
        seen.add(key)


_MEMO_MAX = 4096
_MEMO_KEY_MAX = 512  # characters of a memo's key: a longer text is worked out every time, never kept
_HEADERS: dict[str, _Header] = {}
_HEADERS_SEEN: set[str] = set()


def _says_malware(text: str) -> bool:
    """_MALWARE found in a text (a name, a category, an action: each of a device's few), cached."""
    if not text:
        return False
    hit = _MALWARE_TEXTS.get(text)
    if hit is None:
        hit = _MALWARE.search(text) is not None
        if len(text) <= _MEMO_KEY_MAX:
            if len(_MALWARE_TEXTS) >= _MEMO_MAX:
                _MALWARE_TEXTS.clear()
            _MALWARE_TEXTS[text] = hit
    return hit


_MALWARE_TEXTS: dict[str, bool] = {}


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
        pairs = dict(zip(items, items, strict=False))  # an even count: re.split gives 1 + 2 per key
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
        size = len(value)
        if 3 < size < 13 or size == 13 and value < _EXACT_MILLIS_TEXT:
            if value.isascii():  # the second's text once per second, the milliseconds' digits appended
                prefix = _SECONDS.get(value[:-3])
                if prefix is None:
                    if len(_SECONDS) >= _SECONDS_MAX:
                        _SECONDS.clear()
                    second = int(value[:-3])
                    prefix = _SECONDS[value[:-3]] = t.iso(datetime.fromtimestamp(second, UTC))[:-4]
                return f"{prefix}{value[-3:]}Z"
        millis = int(value)
        if millis < _EXACT_MILLIS:
            second, milli = divmod(millis, 1000)
            return f"{t.iso(datetime.fromtimestamp(second, UTC))[:-4]}{milli:03d}Z"
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
_EXACT_MILLIS_TEXT = str(_EXACT_MILLIS)  # 13 digits: a 13-digit text below it is a number below it
_SECONDS: dict[str, str] = {}  # the seconds' digits as written -> the time's text to the '.'
_SECONDS_MAX = 4096


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    head, x = _read(msg)
    if head.error:
        raise ParseError(head.error)
    g = x.get
    # written where they go, "" absent as `put` has it; the extension keys that are copied as they
    # are come from one table
    doc: dict[str, Any] = {}
    stamp = _rt(g("rt")) or _rt(g("end"))
    if stamp:
        doc["@timestamp"] = stamp
    cef: dict[str, Any] = {"version": head.version}  # digits, never empty
    doc["cef"] = cef
    observer: dict[str, Any] = head.observer.copy()
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
    ev: dict[str, Any] = head.event.copy()
    doc["event"] = ev  # event.type is always written below
    name = head.name
    if name:
        doc["message"] = name
    t.endpoint(doc, "source", g("src") or g("c6a2"), g("spt"))
    t.endpoint(doc, "destination", g("dst") or g("c6a3"), g("dpt"))
    sequence = tuple(x)
    keys = _KEYS.get(sequence) or _key_facts(x, sequence)
    for side, address, port in keys.translated:
        t.endpoint(doc, side, g(address), g(port))
    for key, path in keys.as_written:  # in table order: the document's key order is the same every run
        value = x[key]
        if value:
            put(doc, path, value)
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
    for label_key, value_key in keys.labels:  # cs1Label ... cs6Label
        label, value = x[label_key], g(value_key)
        if label and value:
            t.node(doc, "cef.custom")[_slug(label)] = value
    if x:  # every pair but those whose key has a dot; the pairs themselves when none has (nearly always)
        cef["extensions"] = {k: v for k, v in x.items() if "." not in k} if keys.dotted else x
        if not cef["extensions"]:
            del cef["extensions"]
    act, allowed, act_malware = _action(g("act"))
    if head.malware or act_malware or _says_malware(g("cat", "")):
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
        t.verdict(doc, act or None, allowed=allowed)
        if act:
            ev["action"] = act  # as written, as decode_cef maps deviceAction
    if not observer:
        del doc["observer"]
    return doc


def _action(value: str | None) -> tuple[str, bool | None, bool]:
    """(the action without surrounding whitespace, allowed: True/False/None, it says malware) of an
    `act` value; cached (a device writes a handful of actions)."""
    if not value:
        return _NO_ACTION
    facts = _ACTIONS.get(value)
    if facts is None:
        act = value.strip()
        low = act.lower()
        allowed = True if low in _ALLOW else False if low in _DENY else None
        facts = (act, allowed, _says_malware(act))
        if len(value) <= _MEMO_KEY_MAX:
            if len(_ACTIONS) >= _MEMO_MAX:
                _ACTIONS.clear()
            _ACTIONS[value] = facts
    return facts


_NO_ACTION: tuple[str, bool | None, bool] = ("", None, False)
_ACTIONS: dict[str, tuple[str, bool | None, bool]] = {}


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


class _Keys(NamedTuple):
    """What the set of an extension's keys decides, worked out once per distinct sequence of keys."""

    translated: tuple[tuple[str, str, str], ...]  # the _TRANSLATED rows with an address or a port present
    as_written: tuple[tuple[str, str], ...]  # (key, ECS path) of the _AS_WRITTEN keys present, in table order
    labels: tuple[tuple[str, str], ...]  # (csNLabel, csN) of the labels present, in key order
    dotted: bool  # a key holds a dot (cef.extensions leaves it out)


def _key_facts(pairs: dict[str, str], sequence: tuple[str, ...]) -> _Keys:
    """The _Keys of an extension's pairs, kept under the sequence of its keys (a full memo starts again):
    a device writes each kind of event with the same keys in the same order, so few sequences recur."""
    keys = pairs.keys()
    joined = "".join(keys)
    translated = _NONE if keys.isdisjoint(_TRANSLATED_KEYS) else \
        tuple([row for row in _TRANSLATED if row[1] in keys or row[2] in keys])
    copied = keys & _AS_WRITTEN.keys()
    labels = keys & _CUSTOM.keys()
    facts = _Keys(translated,
                  tuple([(key, _AS_WRITTEN[key]) for key in sorted(copied, key=_AS_WRITTEN_ORDER.__getitem__)])
                  if copied else _NONE,
                  tuple([(label, _CUSTOM[label]) for label in sorted(labels)]) if labels else _NONE,
                  "." in joined)
    if len(joined) <= _MEMO_KEY_MAX:
        _admit(_KEYS, _KEYS_SEEN, sequence, facts)
    return facts


_NONE: tuple[Any, ...] = ()
_KEYS: dict[tuple[str, ...], _Keys] = {}
_KEYS_SEEN: set[tuple[str, ...]] = set()


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


parse_stream = t.stream_parser(parse_line)
