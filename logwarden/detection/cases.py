"""Rule test cases (sigma_rules/tests/*.yml, see the README there) -> concrete event lists."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from logwarden.shippers.base import event_id

from .compiler import DEFAULT_RULES

BASE_TIME = datetime(2020, 4, 13, 16, 0, 0, tzinfo=UTC)


@dataclass
class Case:
    file: str
    rule_id: str
    expect: bool  # True: must fire; False: near miss
    index: int
    events: list[tuple[str, dict[str, Any]]]  # (event id, document)
    building_block: bool = False

    @property
    def name(self) -> str:
        return f"{Path(self.file).stem}-{'fires' if self.expect else 'quiet'}{self.index}"


def _subst(value: Any, i: int) -> Any:
    if isinstance(value, str):
        return value.replace("{i}", str(i))
    if isinstance(value, dict):
        return {k: _subst(v, i) for k, v in value.items()}
    if isinstance(value, list):
        return [_subst(v, i) for v in value]
    return value


def expand(items: list[Any], tag: str) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for n, item in enumerate(items):
        if isinstance(item, dict) and "doc" in item:
            doc, repeat, every, at = item["doc"], int(item.get("repeat", 1)), item.get("every", 1), item.get("at", 0)
        else:
            doc, repeat, every, at = item, 1, 1, n
        for i in range(repeat):
            d = _subst(copy.deepcopy(doc), i)
            if "@timestamp" not in d:
                ts = BASE_TIME + timedelta(seconds=float(at) + i * float(every))
                d["@timestamp"] = ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            eid = event_id("case", tag, n, i)
            d.setdefault("event", {})["id"] = eid
            out.append((eid, d))
    return out


def load_cases(root: Path | None = None) -> list[Case]:
    root = root or DEFAULT_RULES / "tests"
    cases: list[Case] = []
    for f in sorted(root.glob("*.yml")):
        data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        for key, expect in (("fires", True), ("quiet", False)):
            for idx, events in enumerate(data.get(key) or []):
                tag = f"{f.stem}:{key}:{idx}"
                cases.append(
                    Case(str(f), str(data["rule"]), expect, idx, expand(events, tag), bool(data.get("building_block")))
                )
    return cases
