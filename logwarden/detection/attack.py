"""MITRE ATT&CK as the package ships it (data/attack.json, Enterprise v17): the one table of
tactics and techniques, and the one reading of a rule's `attack.*` tags.

The alert documents (`alerts.threat`) and the Kibana rule export (`kibana_rules.threat`) both
resolve tags here, so a technique tag names the same tactic in an alert and in Kibana: the
tactics the rule tags, plus, for a technique none of whose tactics is tagged, its first ATT&CK
tactic (a sub-technique without tactics of its own takes its parent's).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from logwarden.resources import data_path

_TECHNIQUE = re.compile(r"t\d{4}(\.\d{3})?\Z")


@lru_cache(maxsize=1)
def attack_data() -> dict[str, Any]:
    """The packaged ATT&CK data: `tactics` (id -> name, shortname) and `techniques` (id -> name,
    tactic shortnames).

    Raises:
        ResourceError: the package is not installed as plain files.
    """
    path = data_path("logwarden.detection", "data", "attack.json")
    return dict(json.loads(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def _tactic_ids() -> dict[str, str]:
    return {t["shortname"]: tid for tid, t in attack_data()["tactics"].items()}


def tactic_id(shortname: str) -> str:
    """The tactic's id (TA0005 for defense-evasion); KeyError for a name ATT&CK does not have."""
    return _tactic_ids()[shortname]


def technique_tactics(technique: str) -> list[str]:
    """The tactic shortnames ATT&CK files technique `technique` (T1070.001) under; [] when unknown."""
    techniques = attack_data()["techniques"]
    own = techniques.get(technique, {}).get("tactics", [])
    return list(own or techniques.get(technique.split(".")[0], {}).get("tactics", []))


@dataclass(frozen=True)
class Tagged:
    """What a rule's tags say: technique ids (upper case, in tag order, well-formed ones even when
    ATT&CK does not know them) and tactic shortnames (tagged, then implied by a technique)."""

    techniques: list[str]
    tactics: list[str]

    @property
    def known_techniques(self) -> list[str]:
        """The techniques ATT&CK v17 knows (Kibana requires a name for each)."""
        return [t for t in self.techniques if t in attack_data()["techniques"]]


def tagged(tags: list[str]) -> Tagged:
    """Read the `attack.*` tags (case and `_`/`-` ignored); other tags are left alone."""
    techniques: list[str] = []
    tactics: list[str] = []
    for tag in tags:
        name = tag.lower()
        if not name.startswith("attack."):
            continue
        value = name.removeprefix("attack.").replace("_", "-")
        if _TECHNIQUE.match(value):
            if value.upper() not in techniques:
                techniques.append(value.upper())
        elif value in _tactic_ids() and value not in tactics:
            tactics.append(value)
    for technique in techniques:
        own = technique_tactics(technique)
        if own and not any(t in tactics for t in own):
            tactics.append(own[0])
    return Tagged(techniques, tactics)


__all__ = ["Tagged", "attack_data", "tactic_id", "tagged", "technique_tactics"]
