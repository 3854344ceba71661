"""The scenario `phobos`: the incident's records plus the benign background, for a seed and scale."""

from __future__ import annotations

import random

from logwarden.replay.background import background
from logwarden.replay.model import Record
from logwarden.replay.timeline import incident

SCENARIOS = ("phobos",)


def records(seed: int = 1, scale: int = 1, rows: tuple[str, ...] | None = None,
            with_background: bool = True) -> list[Record]:
    """Every record of the replay: the incident `rows` (default all) and, unless told otherwise,
    `scale` times the background. Two separate generators, so the incident's details for a seed
    do not change with the scale."""
    incident_records = incident(random.Random(f"{seed}:incident"), rows)
    if not with_background:
        return incident_records
    return incident_records + background(random.Random(f"{seed}:background"), max(1, scale))
