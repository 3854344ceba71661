"""Durations written the way the CLI and logwarden.yml take them (`90`, `90s`, `30m`, `24h`, `7d`),
in one place for `detect --interval` and the silence settings."""

from __future__ import annotations

import re

DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in `text`.

    Raises:
        ValueError: not a number with an optional unit s, m, h or d.
    """
    m = DURATION.fullmatch(text.strip())
    if not m:
        raise ValueError(f"not a duration: {text!r} (e.g. 60s, 5m, 24h)")
    return float(m.group(1)) * UNIT_SECONDS[m.group(2)]
