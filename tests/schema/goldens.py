"""The golden documents of every source, by source name (what tests/schema checks the schema on)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from logwarden.resources import data_path


def _windows_docs(path: Path) -> Iterator[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    for item in data.get("records", []) + data.get("first", []):
        if "doc" in item:
            yield item["doc"]


def golden_docs() -> Iterator[tuple[str, Path, str, dict[str, Any]]]:
    """(source, expected file, "event" | "deadletter", document) for every golden document."""
    root = data_path("logwarden.shippers")
    for path in sorted(root.glob("*/testdata/*-expected.json")):
        for doc in json.loads(path.read_text(encoding="utf-8"))["expected"]:
            if "deadletter" in doc:
                yield path.parts[-3], path, "deadletter", doc["deadletter"]
            else:
                yield path.parts[-3], path, "event", doc
    for path in sorted((root / "windows" / "golden").glob("*-expected.json")):
        for doc in _windows_docs(path):
            yield "windows", path, "event", doc
