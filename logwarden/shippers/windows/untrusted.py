"""What one Windows record may hold before it is normalised: limits and repairs for hostile input.

A record nested deeper than any Windows event (Event/UserData/... is a handful of levels) would
exhaust Python's recursion in the readers, the normaliser or later in hunt: it becomes that
record's dead letter instead. A lone UTF-16 surrogate (`"\\ud800"` in JSON, or in an EVTX
string) cannot be encoded as UTF-8, so it would fail in Kafka, Elasticsearch or hunt's output on
every retry: it is replaced with U+FFFD and the document flagged (`log.flags`).
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 64  # containers (objects, lists, elements) inside each other
FLAG_SURROGATES = "lone-surrogate-replaced"
READER_FLAGS = "logwarden.flags"  # key a reader sets on a record it repaired (log.flags of its document)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class TooDeep(ValueError):
    """The record is nested deeper than MAX_DEPTH."""


def check_depth(obj: Any, limit: int = MAX_DEPTH) -> None:
    """Raises TooDeep when dicts and lists in `obj` are nested more than `limit` levels."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            raise TooDeep(f"record nested deeper than {limit} levels")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def may_hold_surrogates(json_text: str) -> bool:
    """Whether JSON text can decode to a lone surrogate (it has a \\uD800-\\uDFFF escape or one itself)."""
    return _SURROGATE_ESCAPE.search(json_text) is not None or _SURROGATE.search(json_text) is not None


def replace_surrogates(obj: Any) -> tuple[Any, bool]:
    """`obj` with every surrogate in its strings (keys too) replaced by U+FFFD; and whether any was.

    Surrogate pairs never reach here (json and the readers combine them into one character)."""
    if isinstance(obj, str):
        fixed = _SURROGATE.sub("\ufffd", obj)
        return fixed, fixed is not obj and fixed != obj
    if isinstance(obj, dict):
        out: dict[Any, Any] = {}
        changed = False
        for key, value in obj.items():
            new_key, key_changed = replace_surrogates(key)
            new_value, value_changed = replace_surrogates(value)
            out[new_key] = new_value
            changed = changed or key_changed or value_changed
        return (out, True) if changed else (obj, False)
    if isinstance(obj, list):
        items = [replace_surrogates(v) for v in obj]
        if any(changed for _, changed in items):
            return [v for v, _ in items], True
        return obj, False
    return obj, False


def raw_bytes(text: str) -> bytes:
    """A record's text as the bytes kept in a dead letter: bytes smuggled in by surrogateescape
    come back as they were; a lone surrogate is kept as its UTF-8-style bytes (never an error)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")
