"""What a test reads back from the log records pytest captured."""

from __future__ import annotations

import pytest


def messages(caplog: pytest.LogCaptureFixture, level: int, logger: str = "logwarden") -> list[str]:
    """The messages logged at exactly `level` by `logger` or a logger under it, in order."""
    return [r.getMessage() for r in caplog.records
            if r.levelno == level and (r.name == logger or r.name.startswith(logger + "."))]
