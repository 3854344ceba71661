"""The settings of detect's silence alerts (logwarden/detection/silence.py), parsed from their
config strings; apart from the detection package so that logwarden.config can validate them at
start without importing it."""

from __future__ import annotations

from dataclasses import dataclass, field

from logwarden.durations import parse_duration
from logwarden.shippers.datasets import SOURCE_DATASETS

FAMILIES = SOURCE_DATASETS  # each source dataset (index family) is watched
ON = {"on", "true", "yes", "1"}
OFF = {"off", "false", "no", "0"}


@dataclass(frozen=True)
class Settings:
    enabled: bool = True
    gap: float = 1800.0  # seconds without an event before a source is silent
    gaps: dict[str, float] = field(default_factory=dict)  # per family override
    baseline: float = 86400.0  # window of the usual rate

    def gap_for(self, family: str) -> float:
        return self.gaps.get(family, self.gap)


def _seconds(text: str, what: str) -> float:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"{what}: {text!r} is not a duration (e.g. 90s, 30m, 24h)") from exc
    if value <= 0:
        raise ValueError(f"{what}: {text!r} must be more than 0")
    return value


def parse_settings(enabled: str, gap: str, baseline: str) -> Settings:
    """The silence settings from their config strings: `enabled` on/off, `gap` a default duration
    and `family=duration` overrides separated by commas (`30m, av=24h, firewall=10m`).

    Raises:
        ValueError: a value that is not one of these, naming it.
    """
    if enabled.strip().lower() not in ON | OFF:
        raise ValueError(f"{enabled!r} is not on or off")
    default, gaps = 1800.0, {}
    for part in (p.strip() for p in gap.split(",")):
        if not part:
            continue
        family, sep, value = part.partition("=")
        if not sep:
            default = _seconds(part, "gap")
        elif family.strip() not in FAMILIES:
            raise ValueError(f"gap override {part!r}: {family.strip()!r} is not one of {', '.join(FAMILIES)}")
        else:
            gaps[family.strip()] = _seconds(value, f"gap of {family.strip()}")
    return Settings(enabled.strip().lower() in ON, default, gaps, _seconds(baseline, "baseline"))
