"""Fixtures of the services' tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from logwarden import consume, refusals


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry loops (consume.Outage, refusals.Refusal) start without waiting: unit tests script
    many failures in a row."""
    monkeypatch.setattr(refusals, "FIRST_BACKOFF", 0.0)
    monkeypatch.setattr(consume, "FIRST_BACKOFF", 0.0)


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logwarden record, debug included (tests/support/log_lines.py reads them)."""
    caplog.set_level(logging.DEBUG, logger="logwarden")
    yield caplog
