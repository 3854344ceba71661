"""Windows event XML (one <Event>, an <Events> wrapper, or wevtutil-style concatenated <Event>
elements) -> pyevtx-rs style records, streamed.

The text is scanned for top-level <Event ...>...</Event> spans (or <p:Event> with a namespace
prefix) and each span is parsed on its own, so one broken event is one dead letter (with its
line number) and the next still parses. Memory is bounded by the largest single event
(MAX_EVENT_CHARS); an event nested deeper than MAX_DEPTH elements is a dead letter.

Encoding: UTF-16/32 by byte order mark or NUL pattern (charset.py); else the XML declaration's
encoding when it names one other than UTF-8; else each event is UTF-8, or GB18030 when it is not
valid UTF-8 (as the text parsers decode a line; flagged `charset-gb18030`), or a dead letter
when it is neither.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from logwarden.shippers.base import DeadLetter
from logwarden.shippers.windows.charset import decode_record, wide_encoding
from logwarden.shippers.windows.untrusted import MAX_DEPTH, READER_FLAGS, raw_bytes

CHUNK = 1 << 20
MAX_EVENT_CHARS = 64 << 20
START = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?Event(?=[\s>/])")
END = re.compile(r"</(?:[A-Za-z_][\w.-]*:)?Event\s*>")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # an undecodable byte kept by surrogateescape
_TAG_PREFIX = re.compile(r"(</?)[A-Za-z_][\w.-]*:")
_ATTR_PREFIX = re.compile(r"(\s)(?!xml:|xmlns:)[A-Za-z_][\w.-]*:([A-Za-z_][\w.-]*\s*=)")
_OTHER_ELEMENT = re.compile(r"<(?!(?:[A-Za-z_][\w.-]*:)?Events?[\s>/])[A-Za-z_]")
_UTF8_NAMES = frozenset({"utf-8", "utf8", "utf_8", "u8"})
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
DATASET = "windows"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _attrs(el: ET.Element) -> dict[str, str]:
    return {_local(k): v for k, v in el.attrib.items()}


def _node(el: ET.Element) -> Any:
    """A generic element -> pyevtx-rs JSON shape (text, or dict with #attributes / children)."""
    children = list(el)
    if not children and not el.attrib:
        return el.text if el.text is not None else None
    out: dict[str, Any] = {}
    if el.attrib:
        out["#attributes"] = _attrs(el)
    for child in children:
        name = _local(child.tag)
        value = _node(child)
        if name in out:
            n = 1
            while f"{name}_{n}" in out:
                n += 1
            name = f"{name}_{n}"
        out[name] = value
    if el.text is not None and el.text.strip() and not children:
        out["#text"] = el.text
    return out


def _system(el: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in el:
        name = _local(child.tag)
        if child.attrib:
            node: dict[str, Any] = {"#attributes": _attrs(child)}
            if child.text is not None and child.text.strip():
                node["#text"] = child.text
            out[name] = node
        else:  # System values never carry meaningful surrounding whitespace
            out[name] = child.text.strip() if child.text is not None else None
    return out


def _data_text(text: str | None) -> str | None:
    """Data text; the indentation a pretty-printer puts inside an empty element counts as empty."""
    if text is not None and text[:1] == "\n" and not text.strip(" \n"):
        return None
    return text


def _event_data(el: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    unnamed: list[str | None] = []
    for child in el:
        tag = _local(child.tag)
        name = child.attrib.get("Name")
        if tag == "Data" and name is None:
            unnamed.append(_data_text(child.text))
        elif tag == "Data" and name is not None:
            out[name] = _data_text(child.text)
        else:
            out[tag] = _node(child)
    if unnamed:
        out["Data"] = {"#text": unnamed if len(unnamed) > 1 else unnamed[0]}
    return out


def element_to_record(root: ET.Element) -> dict[str, Any]:
    """<Event> element -> {"Event": {"System": ..., "EventData"/"UserData": ...}}."""
    event: dict[str, Any] = {}
    for child in root:
        name = _local(child.tag)
        if name == "System":
            event["System"] = _system(child)
        elif name == "EventData":
            event["EventData"] = _event_data(child)
        elif name == "UserData":
            event["UserData"] = {_local(c.tag): _node(c) for c in child}
        elif name == "RenderingInfo":
            event["RenderingInfo"] = {_local(c.tag): c.text for c in child if not list(c)}
        else:
            event[name] = _node(child)
    return {"Event": event}


def _decoder(head: bytes) -> tuple[codecs.IncrementalDecoder, bool]:
    """The stream's decoder, and whether events must be checked for bytes that are not UTF-8."""
    wide = wide_encoding(head)
    if wide is not None and wide != "utf-8-sig":
        return codecs.getincrementaldecoder(wide)(errors="replace"), False
    m = _ENCODING.match(head.removeprefix(codecs.BOM_UTF8))
    declared = m.group(1).decode("ascii").lower() if m else "utf-8"
    if declared not in _UTF8_NAMES and not declared.startswith(("utf-16", "utf-32")) and wide is None:
        try:
            return codecs.getincrementaldecoder(declared)(errors="replace"), False
        except LookupError:
            pass
    return codecs.getincrementaldecoder("utf-8-sig")(errors="surrogateescape"), True


def _too_deep(root: ET.Element) -> bool:
    stack = [(root, 1)]
    while stack:
        el, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in el)
    return False


def _parse(span: str) -> ET.Element:
    """The span's element; prefixes bound only outside the span (on a wrapper) are dropped."""
    try:
        return ET.fromstring(span)
    except ET.ParseError as exc:
        if "unbound prefix" not in str(exc):
            raise
    return ET.fromstring(_ATTR_PREFIX.sub(r"\1\2", _TAG_PREFIX.sub(r"\1", span)))


def read_xml(source: str, data: BinaryIO, head: bytes = b"") -> Iterator[dict[str, Any] | DeadLetter]:
    """Records (or a DeadLetter per bad event, with its line number) from an XML byte stream."""
    first = head + data.read(max(0, 4096 - len(head)))
    dec, per_event = _decoder(first)
    buf = dec.decode(first)
    line = 1  # line number of buf[0]
    eof = False

    def bad(reason: str, raw: str, at: int) -> DeadLetter:
        return DeadLetter(source=source, raw=raw_bytes(raw), reason=f"line {at}: {reason}", dataset=DATASET)

    pos = 0  # buf[:pos] is consumed
    events_seen = False
    other: tuple[int, str] | None = None  # the first element that is neither <Events> nor <Event>
    while True:
        m = START.search(buf, pos)
        if m is None:
            if not events_seen and other is None and (o := _OTHER_ELEMENT.search(buf, pos)) is not None:
                other = (line + buf.count("\n", pos, o.start()), buf[o.start(): o.start() + 200])
            if eof:
                if not events_seen and other is not None:  # XML, but not Windows events: never silently nothing
                    yield bad(f"no <Event> element in this XML (first element: {other[1][:60]!r})", other[1],
                              other[0])
                return
            keep = max(pos, len(buf) - 16)
            line += buf.count("\n", pos, keep)
            buf, pos = buf[keep:], 0
            chunk = data.read(CHUNK)
            eof = not chunk
            buf += dec.decode(chunk, final=eof)
            continue
        line += buf.count("\n", pos, m.start())
        pos = m.start()
        events_seen = True
        e = END.search(buf, m.end())
        nxt = START.search(buf, m.end(), e.start() if e is not None else len(buf))
        if nxt is not None:
            yield bad("truncated XML: <Event> not closed before the next <Event>", buf[pos: nxt.start()], line)
            line += buf.count("\n", pos, nxt.start())
            pos = nxt.start()
            continue
        if e is None:
            if eof:
                yield bad("truncated XML: <Event> not closed at end of input", buf[pos:], line)
                return
            if len(buf) - pos > MAX_EVENT_CHARS:
                yield bad(f"event larger than {MAX_EVENT_CHARS} characters", buf[pos: pos + 4096], line)
                pos = m.end()
                continue
            buf, pos = buf[pos:], 0
            chunk = data.read(CHUNK)
            eof = not chunk
            buf += dec.decode(chunk, final=eof)
            continue
        span = buf[pos: e.end()]
        yield _event(span, per_event, bad, line)
        line += span.count("\n")
        pos = e.end()


def _event(span: str, per_event: bool, bad: Callable[[str, str, int], DeadLetter],
           line: int) -> dict[str, Any] | DeadLetter:
    """One <Event> span -> its record, or its dead letter (never raises)."""
    text = span
    flags: list[str] = []
    if per_event and _ESCAPED_BYTE.search(span) is not None:
        decoded, flags = decode_record(span.encode("utf-8", "surrogateescape"))
        if decoded is None:
            return bad("not UTF-8 or GB18030", span, line)
        text = decoded
    try:
        root = _parse(text)
    except ET.ParseError as exc:  # the only error left: bytes that are not UTF-8 never reach here (above)
        return bad(f"bad XML: {exc}", span, line)
    if span.count("<") > MAX_DEPTH and _too_deep(root):
        return bad(f"event nested deeper than {MAX_DEPTH} elements", span, line)
    try:
        record = element_to_record(root)
    except Exception as exc:  # noqa: BLE001 - record boundary: any error is this event's dead letter, named
        return bad(f"event not converted: {type(exc).__name__}: {exc}", span, line)
    if flags:
        record[READER_FLAGS] = flags
    return record
