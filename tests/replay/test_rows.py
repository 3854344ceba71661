"""Every INCIDENT.md row raises the rules it names, from its own records alone; the benign
background raises nothing; the rows are INCIDENT.md's, in its order. No servers (the same
Detector `hunt` runs; the real path is tests/replay/test_replay_servers.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector, run_batch
from logwarden.replay import path, run, scenario, writers
from logwarden.replay.model import ROWS, Row
from tests.support.paths import need_shared


def _alerts(tmp_path: Path, rows: tuple[str, ...] | None, background: bool) -> tuple[list[dict[str, Any]], Any]:
    files = writers.write(scenario.records(seed=1, rows=rows, with_background=background), tmp_path)
    events = path.event_rows(files)
    return run_batch(Detector(load_ruleset(None)), [(eid, doc) for eid, (_row, doc) in events.items()]), events


def test_every_named_rule_exists() -> None:
    titles = {rule.title for rule in load_ruleset(None).rules} | \
             {c.title for c in load_ruleset(None).correlations}
    for row in ROWS:
        assert set(row.rules) <= titles, (row.key, set(row.rules) - titles)


@pytest.mark.parametrize("row", [r for r in ROWS if r.rules], ids=lambda r: r.key)
def test_each_row_raises_its_rules_on_its_own_records(row: Row, tmp_path: Path) -> None:
    alerts, _events = _alerts(tmp_path, (row.key,), background=False)
    fired = {a["rule"]["name"] for a in alerts}
    assert set(row.rules) <= fired, set(row.rules) - fired


def test_the_background_raises_no_alert(tmp_path: Path) -> None:
    files = writers.write(scenario.records(seed=1, scale=3, rows=()), tmp_path)
    events = path.event_rows(files)
    assert len(events) > 1500
    alerts = run_batch(Detector(load_ruleset(None)), [(eid, doc) for eid, (_row, doc) in events.items()])
    assert [a["event"]["reason"] for a in alerts] == []


def test_the_timeline_holds_every_row_in_order_and_nothing_else(tmp_path: Path) -> None:
    alerts, events = _alerts(tmp_path, None, background=True)
    entries, background, foreign = run.timeline(alerts, events)
    assert (background, foreign) == (0, 0)
    keys = [e.row for e in entries]
    assert keys == sorted(keys, key=[r.key for r in ROWS].index)
    for row in ROWS:
        assert set(row.rules) <= {e.rule for e in entries if e.row == row.key}, row.key
    brute = next(e for e in entries if e.rule == "Brute Force Followed By A Successful Logon")
    assert (brute.host, brute.user, brute.source, brute.first[:16]) == \
           ("WIN-TAX-PROD", "Administrator", "185.220.101.47", "2020-04-14T00:04")  # the episode's start:
    # the brute force that the 00:07 logon followed (correlation alerts are dated by their episode)
    lines = run.timeline_lines(entries)
    assert [line for line in lines if not line.startswith("    ")] == [f"{r.when} - {r.what}" for r in ROWS]
    assert "NOT DETECTED" not in "\n".join(lines)


def test_rows_are_the_incident_timeline() -> None:
    incident = (need_shared().parent / "INCIDENT.md").read_text(encoding="utf-8")
    table = incident.split("## Timeline", 1)[1].split("\n## ", 1)[0]
    times = [cells[1].strip() for line in table.splitlines()
             if (cells := line.split("|")) and len(cells) > 3 and not re.match(r"\s*(time|---)", cells[1])]
    assert len(times) == len(ROWS)
    assert [t.lower() for t in times] == [r.when.lower() for r in ROWS]
