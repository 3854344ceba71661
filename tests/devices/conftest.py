"""Deterministic time and zone for the device parser tests (as tests/textlogs does)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from logwarden.shippers import textlog


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textlog.CONFIG, "tz", UTC)
    monkeypatch.setattr(textlog.CONFIG, "now", lambda: datetime(2020, 6, 1, tzinfo=UTC))
    monkeypatch.setattr(textlog.CONFIG, "hostname", None)
