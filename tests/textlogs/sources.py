"""The text-log sources under test (every registry entry this issue owns)."""

from __future__ import annotations

import importlib
from pathlib import Path

from logwarden.shippers import registry

TEXT_SOURCES = sorted(name for name in registry.PARSERS if name not in ("windows", "auto"))
SHIPPERS = Path(importlib.import_module("logwarden.shippers").__file__).resolve().parent


def module(name: str):
    return importlib.import_module(registry.PARSERS[name].split(":")[0])


def golden_lines(name: str) -> list[bytes]:
    lines: list[bytes] = []
    for log in sorted((SHIPPERS / name / "testdata").glob("test-*.log")):
        lines += [ln for ln in log.read_bytes().splitlines() if ln.strip()]
    return lines
