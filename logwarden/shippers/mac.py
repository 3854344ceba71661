"""MAC addresses as ECS writes them (`00-D0-F8-12-34-56`: upper case, hyphen-separated) from the
notations devices print: Ruijie/Cisco dotted (`00d0.f812.3456`), Huawei VRP hyphenated groups of
four (`00d0-f812-3456`), and the usual colon or hyphen pairs. Anything else is not read as a MAC
(the parser keeps it in event.original), never guessed.
"""

from __future__ import annotations

import re

_GROUPS = re.compile(r"^([0-9A-Fa-f]{4})([.-])([0-9A-Fa-f]{4})\2([0-9A-Fa-f]{4})$")
_PAIRS = re.compile(r"^[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")


def ecs_mac(text: str | None) -> str | None:
    """The ECS form of a MAC address in one of the notations above; None for anything else."""
    value = (text or "").strip()
    m = _GROUPS.match(value)
    if m is not None:
        digits = (m.group(1) + m.group(3) + m.group(4)).upper()
    elif _PAIRS.match(value):
        digits = re.sub(r"[:-]", "", value).upper()
    else:
        return None
    return "-".join(digits[i:i + 2] for i in range(0, 12, 2))
