"""The text-log sources under test: every declared source with a line parser."""

from __future__ import annotations

import importlib
from pathlib import Path

from logwarden.shippers import registry

TEXT_SOURCES = registry.names(lambda s: s.line_oriented)
SHIPPERS = Path(importlib.import_module("logwarden.shippers").__file__).resolve().parent


def module(name: str):
    """The source's package (its parser's functions are exported there)."""
    return importlib.import_module(registry.source(name).package)


def golden_lines(name: str) -> list[bytes]:
    lines: list[bytes] = []
    for log in sorted((SHIPPERS / name / "testdata").glob("test-*.log")):
        lines += [ln for ln in log.read_bytes().splitlines() if ln.strip()]
    return lines
