"""The zone of log timestamps written without one: LOGWARDEN_LOG_TZ ("UTC", "+08:00", "Asia/Shanghai").

Read in one place so that a bad value is a configuration error naming the variable (exit 2) when a
command starts, instead of an exception while importing the parsers or a dead letter per line.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from logwarden.errors import ConfigError

LOG_TZ_VAR = "LOGWARDEN_LOG_TZ"

_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")


def parse_tz(value: str) -> tzinfo:
    """The zone for "UTC"/"Z"/"" (UTC), "+08:00"/"-0530" (a fixed offset) or an IANA name.

    Raises:
        ValueError: an offset beyond +-23:59 or with minutes over 59, or an unknown zone name.
    """
    value = value.strip()
    if not value or value.upper() in ("UTC", "Z"):
        return UTC
    m = _OFFSET.fullmatch(value)
    if m:
        hours, minutes = int(m.group(2)), int(m.group(3))
        if hours > 23 or minutes > 59:
            raise ValueError(f"{value!r} is not an offset from -23:59 to +23:59")
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if m.group(1) == "-" else delta)
    try:
        return ZoneInfo(value)
    except (KeyError, ValueError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"{value[:80]!r} is not UTC, an offset like +08:00 or a time zone name "
                         "like Asia/Shanghai") from exc


def log_tz() -> tzinfo:
    """The zone LOGWARDEN_LOG_TZ names (UTC when unset).

    Raises:
        ConfigError: the value is not a zone (the message names the variable).
    """
    try:
        return parse_tz(os.environ.get(LOG_TZ_VAR, ""))
    except ValueError as exc:
        raise ConfigError(f"{LOG_TZ_VAR}: {exc}") from None
