"""Logging for the long-running services (index, stream, detect, ship): the standard `logging`
module, configured once by the CLI from `--log-level` / `--log-format` (or LOGWARDEN_LOG_LEVEL /
LOGWARDEN_LOG_FORMAT).

`text` writes `time level logger: message` lines; `json` writes one JSON object a line with
ECS names (`@timestamp`, `log.level`, `log.logger`, `message`), ready for a log shipper. Either
way messages go to stderr, and log content in them is made printable (logwarden.safe_text).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from logwarden.errors import UsageError
from logwarden.safe_text import printable

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, ECS field names."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "@timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "log.level": record.levelname.lower(),
            "log.logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["error.stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`2026-12-04T16:00:00.000Z info logwarden.indexer: message`, control characters escaped."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line = f"{when} {record.levelname.lower()} {record.name}: {printable(record.getMessage())}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(level: str = "info", fmt: str = "text") -> None:
    """Send the `logwarden` loggers to stderr at `level` in `fmt`.

    Raises:
        UsageError: an unknown level or format.
    """
    if level.lower() not in LEVELS:
        raise UsageError(f"unknown log level {level!r} (one of {', '.join(LEVELS)})")
    if fmt.lower() not in FORMATS:
        raise UsageError(f"unknown log format {fmt!r} (one of {', '.join(FORMATS)})")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt.lower() == "json" else TextFormatter())
    root = logging.getLogger("logwarden")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
