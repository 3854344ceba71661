"""Reading the System part of a pyevtx-rs style record ({"Event": {"System": ..., ...}}).

EVTX (pyevtx-rs JSON), event XML and evtx_dump JSON lines all become this one shape before
normalisation, so the same record gives the same document whatever it came from.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

_TIME = re.compile(
    r"^(\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]))[T ]((?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d)"
    r"(?:[.,](\d+))?\s*(Z|UTC|[+-]\d\d:?\d\d)?$"
)
FRACTION_DIGITS = 7  # FILETIME resolution (100 ns), what Windows itself renders


class RecordError(ValueError):
    """The record lacks something every Windows event has (System, EventID, a valid time)."""


def text(value: Any) -> str:
    """Any JSON value of an event field as the string Windows would render."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        if "#text" in value:
            return text(value["#text"])
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if isinstance(value, list):
        return ",".join(text(v) for v in value)
    return str(value)


def attr(node: Any, name: str) -> Any:
    """An XML attribute from a pyevtx-rs node ({"#attributes": {...}})."""
    if isinstance(node, dict):
        attrs = node.get("#attributes")
        if isinstance(attrs, dict):
            return attrs.get(name)
    return None


def event_code(value: Any) -> str:
    """EventID as int, as {"#attributes": {"Qualifiers": ...}, "#text": N}, or as a string."""
    if isinstance(value, dict):
        value = value.get("#text")
    if isinstance(value, bool) or value is None:
        raise RecordError(f"EventID missing or invalid: {value!r}")
    if isinstance(value, int):
        return str(value)
    s = str(value).strip()
    if not s.isdigit():
        raise RecordError(f"EventID is not a number: {s[:80]!r}")
    return str(int(s))


def timestamp(value: Any) -> str:
    """System.TimeCreated SystemTime (3..9 fraction digits, Z or an offset) -> ISO 8601 UTC, 7 digits, Z."""
    if not isinstance(value, str):
        raise RecordError(f"TimeCreated SystemTime missing: {value!r}")
    m = _TIME.match(value.strip())
    if m is None:
        raise RecordError(f"TimeCreated SystemTime not ISO 8601: {value[:80]!r}")
    day, clock, frac, zone = m.groups()
    frac = ((frac or "") + "0" * FRACTION_DIGITS)[:FRACTION_DIGITS]
    if zone in (None, "Z", "UTC", "+00:00", "+0000", "-00:00", "-0000"):
        if day[8:] > "28":  # 29..31: check the month has that day
            try:
                datetime.fromisoformat(day)
            except ValueError as exc:
                raise RecordError(f"TimeCreated SystemTime invalid: {value[:80]!r}") from exc
        return f"{day}T{clock}.{frac}Z"
    try:
        dt = datetime.fromisoformat(f"{day}T{clock}{zone[:3]}:{zone[-2:]}").astimezone(UTC)
    except ValueError as exc:
        raise RecordError(f"TimeCreated SystemTime invalid: {value[:80]!r}") from exc
    return f"{dt.strftime('%Y-%m-%dT%H:%M:%S')}.{frac}Z"


def to_int(value: Any) -> int | None:
    """Decimal or 0x-hex (ProcessId "0x21c" in Security, 9044 in Sysmon) -> int; else None."""
    if type(value) is int:
        return value
    if isinstance(value, bool) or value is None:
        return None
    s = text(value).strip()
    try:
        return int(s, 16) if s[:2].lower() == "0x" else int(s)
    except ValueError:
        return None
