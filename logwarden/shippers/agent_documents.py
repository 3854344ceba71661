"""Documents that existing agents (Winlogbeat 8/9, Elastic Agent) wrote to a SOC's Kafka topic
-> logwarden events, normalised exactly as `ship evtx` normalises them.

One Kafka message is one agent document and becomes exactly one `Event` or one `DeadLetter`.
Nothing here parses Windows events itself; it feeds the Windows shipper's own readers:

- when the document carries the event's XML in `event.original` (Winlogbeat `include_xml: true`,
  Elastic Agent "preserve original event"), that XML goes through the Windows XML reader: the
  document and its id are then the ones `ship evtx` makes from the same XML, to the 100 ns;
- otherwise the document goes through the Windows JSON-lines reader (`winlog.*`, the Winlogbeat
  form it already accepts). Winlogbeat writes times with millisecond precision, so the event's
  @timestamp, and with it the deterministic id, keeps only milliseconds: the same event shipped
  from its EVTX file gets a different id unless its time had no sub-millisecond digits.

Events carry no `log.file.path` (they came from no file); a dead letter names its message as
`kafka:<topic>/<partition>@<offset>`, so a message read twice gives the same dead-letter id.
Which `--source` values exist is `ADAPTERS`; only Windows today.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from logwarden.shippers.base import DeadLetter, Event

DATASET = "windows"
# Winlogbeat and Elastic Agent store the rendered event XML here when asked to keep it.
ORIGINAL_XML_PREFIX = "<Event"


@dataclass(slots=True)
class Converted:
    """What one message became, and whether the event came from its `event.original` XML."""

    item: Event | DeadLetter
    from_xml: bool = False


def message_source(topic: str, partition: int, offset: int) -> str:
    """The label a message's dead letter carries: `kafka:<topic>/<partition>@<offset>`."""
    return f"kafka:{topic}/{partition}@{offset}"


def windows_document(value: bytes | None, source: str) -> Converted:
    """One Winlogbeat / Elastic Agent document (a Kafka message value) -> its Event or DeadLetter.

    Never raises on bad input: an empty message, bytes that are not one JSON object, a JSON object
    that is not a Windows event document, or one the Windows normaliser refuses is a dead letter
    with the reason and the message's bytes.
    """
    # imported here: the CLI lists `--source` choices from ADAPTERS without loading any parser
    from logwarden.shippers.windows.json_reader import read_json_lines
    from logwarden.shippers.windows.stream import records
    from logwarden.shippers.windows.xml_reader import read_xml

    raw = value or b""
    if not raw.strip():
        return Converted(DeadLetter(source, raw, "empty message (no agent document)", DATASET, position=1))
    original = _original_xml(raw)
    if original is not None:
        from_xml = _one(records(read_xml(source, io.BytesIO(original)), ""), source, raw)
        if isinstance(from_xml, Event):
            _keep_rendered_message(from_xml, raw)
            return Converted(from_xml, from_xml=True)
        # the XML is unusable (cut, not one event): the winlog.* fields are still there
    # JSON allows a line break only between tokens (never raw inside a string), so a pretty-printed
    # document becomes the one line the JSON-lines reader expects without changing its meaning
    one_line = raw.replace(b"\r", b" ").replace(b"\n", b" ")
    return Converted(_one(records(read_json_lines(source, io.BytesIO(b""), head=one_line), ""), source, raw))


def _one(items: Any, source: str, raw: bytes) -> Event | DeadLetter:
    """The single result the Windows readers gave for one document, relabelled for its message.

    None or more than one (an event.original holding several events) is a dead letter, whose
    caller may still try the document's other form: one message must be one event, or duplicates
    and gaps could not be counted."""
    found = list(items)
    if len(found) == 1 and isinstance(found[0], Event):
        return found[0]
    if len(found) == 1:
        dead = found[0]
        assert isinstance(dead, DeadLetter)
        reason = dead.reason.removeprefix("line 1: ")
    elif not found:
        reason = "no Windows event in the document"
    else:
        reason = f"{len(found)} records in one message; an agent document holds one event"
    return DeadLetter(source, raw, reason, DATASET, position=1)


def _decoded(raw: bytes) -> dict[str, Any] | None:
    """The message as a JSON object, or None (the JSON-lines reader then says why, as a dead letter)."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def _original_xml(raw: bytes) -> bytes | None:
    """The event XML in `event.original` (nested or dotted), as UTF-8 bytes; None when absent."""
    doc = _decoded(raw)
    if doc is None:
        return None
    event = doc.get("event")
    original = event.get("original") if isinstance(event, dict) else doc.get("event.original")
    if not isinstance(original, str) or not original.lstrip().startswith(ORIGINAL_XML_PREFIX):
        return None
    try:
        return original.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: XML cannot hold it; the winlog.* path copes
        return None


def _keep_rendered_message(event: Event, raw: bytes) -> None:
    """The agent's rendered `message` when the XML had no RenderingInfo (Windows' own text)."""
    if "message" in event.doc:
        return
    doc = _decoded(raw)
    message = doc.get("message") if doc else None
    if isinstance(message, str) and message:
        event.doc["message"] = message


Adapter = Callable[[bytes | None, str], Converted]
# --source NAME -> the adapter for documents of that kind (see docs: what another source needs)
ADAPTERS: dict[str, Adapter] = {"windows": windows_document}

__all__ = ["ADAPTERS", "Adapter", "Converted", "message_source", "windows_document"]
