"""One ATT&CK source (data/attack.json through `detection.attack`): a rule's technique tag names
the same tactic in its alerts and in its Kibana export, for every bundled rule and for a
technique whose tactic the rule does not tag (no servers)."""

from __future__ import annotations

from pathlib import Path

from logwarden.detection.alerts import alert_for_match, threat
from logwarden.detection.compiler import compile_files, load_ruleset
from logwarden.detection.evaluate import flatten
from logwarden.detection.kibana_rules import export
from logwarden.detection.model import RuleSet

EVENT = flatten({"@timestamp": "2020-04-14T00:22:00Z", "host": {"name": "ws01"}})

UNTAGGED_TACTIC = """\
title: Log Cleared
id: 55555555-5555-4555-8555-555555555555
status: test
level: high
description: a technique tag alone (T1070.001 is Defense Evasion in ATT&CK v17)
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 1102}
  condition: sel
tags: [attack.t1070.001, attack.impact, attack.t9999]
"""


def _alert_tactics(ruleset: RuleSet) -> dict[str, tuple[list[str], list[str]]]:
    """rule id -> (tactic ids, tactic shortnames) of an alert the rule raises (a correlation's
    alert: the threat object `alert_for_fired` writes)."""
    out = {}
    for rule in ruleset.rules:
        tactic = alert_for_match(rule, EVENT, "event-1").get("threat", {}).get("tactic", {})
        out[rule.id] = (tactic.get("id", []), tactic.get("name", []))
    for corr in ruleset.correlations:
        tactic = threat(corr.tags).get("tactic", {})
        out[corr.id] = (tactic.get("id", []), tactic.get("name", []))
    return out


def _kibana_tactics(ruleset: RuleSet) -> dict[str, list[str]]:
    return {r["rule_id"]: [t["tactic"]["id"] for t in r["threat"]] for r in export(ruleset, "logwarden-").rules}


def test_bundled_rules_name_the_same_tactics_in_alerts_and_kibana() -> None:
    ruleset = load_ruleset(use_cache=False)
    alerts, kibana = _alert_tactics(ruleset), _kibana_tactics(ruleset)
    tagged = {rid for rid, (ids, _) in alerts.items() if ids}
    assert len(tagged) >= 10  # the bundled rules carry ATT&CK tags
    assert kibana and set(kibana) <= set(alerts)
    for rid in kibana:
        assert alerts[rid][0] == kibana[rid], rid


def test_a_technique_tag_brings_its_tactic_to_both(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(UNTAGGED_TACTIC)
    ruleset = compile_files([tmp_path / "r.yml"])
    assert not ruleset.errors
    rid = "55555555-5555-4555-8555-555555555555"
    assert _alert_tactics(ruleset)[rid] == (["TA0040", "TA0005"], ["impact", "defense-evasion"])
    assert _kibana_tactics(ruleset)[rid] == ["TA0040", "TA0005"]
    technique = alert_for_match(ruleset.rules[0], EVENT, "event-1")["threat"]["technique"]
    assert technique == {"id": ["T1070.001", "T9999"]}  # an id ATT&CK lacks stays in the alert
