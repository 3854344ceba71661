"""Shared helpers for the detection tests (imported as `helpers` via conftest's sys.path)."""

from __future__ import annotations

from typing import Any

KEEP_CASE = {"@timestamp", "event.id"}


def mixed_case(doc: Any, path: str = "") -> Any:
    """The same document with every string's case swapped (Sigma matching must not care)."""
    if isinstance(doc, dict):
        return {k: mixed_case(v, f"{path}{k}" if not path else f"{path}.{k}") for k, v in doc.items()}
    if isinstance(doc, list):
        return [mixed_case(v, path) for v in doc]
    if isinstance(doc, str) and path not in KEEP_CASE:
        return doc.swapcase()
    return doc
