"""Types every shipper shares: a normalised event, a dead letter, and the sink they go to.

A parser turns raw input into `Event`s (finished ECS documents, decision 1 of docs/architecture.md) or
`DeadLetter`s (raw input kept, with the reason). Nothing is dropped silently: every input
record becomes exactly one of the two, so received = parsed + dead letters.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from logwarden.shippers.datasets import DATASETS, DEADLETTER

__all__ = ["DATASETS", "DEADLETTER", "DeadLetter", "Event", "ListSink", "Sink", "dumps", "event_id", "send_all"]


def event_id(*parts: object) -> str:
    """Deterministic id (decision 4): the same input always gives the same id."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(str(part).encode("utf-8", "surrogateescape"))
        h.update(b"\x1f")
    return h.hexdigest()


@dataclass(slots=True)
class Event:
    """One normalised ECS document, ready for Kafka and Elasticsearch."""

    id: str  # deterministic; becomes the Elasticsearch _id
    dataset: str  # windows | firewall | av | alerts -> topic logwarden.<dataset>
    key: str  # Kafka message key (the host name)
    doc: dict[str, Any]  # the ECS document (nested dicts)
    position: int = 0  # ordinal of the record within its source, for checkpoints


@dataclass(slots=True)
class DeadLetter:
    """Input no parser accepted: raw bytes kept, with where it came from and why."""

    source: str  # file path, or e.g. "udp:127.0.0.1:5514"
    raw: bytes
    reason: str
    dataset: str = "unknown"  # the dataset it was meant for, if known
    position: int = 0
    received: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))
    address: str = ""  # the syslog sender ("ip:port") when it came from `ship syslog`

    @property
    def id(self) -> str:
        return event_id("deadletter", self.source, self.position, self.raw)

    def to_doc(self) -> dict[str, Any]:
        """The dead-letter document: raw text when it decodes as UTF-8, else base64."""
        try:
            text: str | None = self.raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        doc: dict[str, Any] = {
            "@timestamp": self.received,
            "event": {
                "kind": "pipeline_error",
                "dataset": self.dataset,
                "id": self.id,
                "reason": self.reason,
            },
            "error": {"message": self.reason},
            "log": {"offset": self.position},
            "logwarden": {"origin": self.source},
        }
        if self.address:
            doc["log"]["source"] = {"address": self.address}
        if text is not None:
            doc["event"]["original"] = text
        else:
            doc["event"]["original_base64"] = base64.b64encode(self.raw).decode("ascii")
        return doc


class Sink(Protocol):
    """Where parsed events and dead letters go (Kafka in production, a list in unit tests)."""

    def send(self, item: Event | DeadLetter) -> None: ...

    def flush(self) -> None: ...


class ListSink:
    """In-memory sink for unit tests and `parse`."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.dead: list[DeadLetter] = []

    def send(self, item: Event | DeadLetter) -> None:
        if isinstance(item, DeadLetter):
            self.dead.append(item)
        else:
            self.events.append(item)

    def flush(self) -> None:
        return None


def dumps(doc: dict[str, Any]) -> bytes:
    """Compact JSON as UTF-8; hostile content stays data (JSON-escaped, never interpreted).
    orjson (same bytes for the documents we build; docs/benchmarks.md: JSON encoding was 15 % of
    `ship evtx`); the standard library for what orjson refuses (an integer beyond 64 bits).
    OPT_NON_STR_KEYS only on a retry: our documents have string keys, and the option makes orjson
    check every key the slow way (about half its encoding time); the bytes are the same."""
    try:
        return orjson.dumps(doc, default=str)
    except (orjson.JSONEncodeError, TypeError):
        pass
    try:
        return orjson.dumps(doc, default=str, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def send_all(sink: Sink, items: Iterable[Event | DeadLetter]) -> tuple[int, int]:
    """Send everything; return (events, dead letters)."""
    n_ev = n_dl = 0
    for item in items:
        sink.send(item)
        if isinstance(item, DeadLetter):
            n_dl += 1
        else:
            n_ev += 1
    return n_ev, n_dl


def unencodable(item: Event, exc: Exception) -> DeadLetter:
    """The dead letter for an event whose document no JSON/UTF-8 encoder takes (a parser let a lone
    surrogate through, say): its original text when it has one, else the document's repr, with the
    encoder's error as the reason. Never raises."""
    event = item.doc.get("event")
    original = event.get("original") if isinstance(event, dict) else None
    text = original if isinstance(original, str) else repr(item.doc)
    return DeadLetter(f"event {item.id}", text.encode("utf-8", "surrogatepass"),
                      f"document not encodable ({type(exc).__name__}: {str(exc)[:200]})", item.dataset, item.position)
