"""Mixed-case documents: Sigma string matching ignores case, so every engine must give the same
verdict on a document whose strings have their case swapped."""

from __future__ import annotations

from typing import Any

# Fields whose value is not matched as a case-insensitive string (a date, an event code).
KEEP_CASE = {"@timestamp", "event.id"}


def mixed_case(doc: Any, path: str = "") -> Any:
    """The same document with every string's case swapped, except the fields in KEEP_CASE."""
    if isinstance(doc, dict):
        return {k: mixed_case(v, f"{path}.{k}" if path else k) for k, v in doc.items()}
    if isinstance(doc, list):
        return [mixed_case(v, path) for v in doc]
    if isinstance(doc, str) and path not in KEEP_CASE:
        return doc.swapcase()
    return doc
