"""`rules convert --target kibana`: rules Kibana's import API accepts, built offline, whose queries
search on the real Elasticsearch what the in-process engine matches (issue 11, Kibana rules)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from logwarden.detection.compiler import load_ruleset
from logwarden.detection.kibana_rules import APPROXIMATE_TAG, export, render, threat
from tests.detection.kibana_schema import problems

CUSTOM = """\
title: Regex Export
id: 11111111-1111-4111-8111-111111111111
status: test
level: informational
description: a Python-style regex
logsource: {product: windows, category: process_creation}
detection:
  sel:
    CommandLine|re: '(?i)^cmd.*\\.EXE$'
  condition: sel
tags: [attack.credential_access, attack.t1110.001, attack.t1021.001, attack.t9999]
---
title: Address Filter
id: 44444444-4444-4444-8444-444444444444
status: test
level: low
description: a filter comparing an ip field with a dash
logsource: {category: firewall}
detection:
  sel: {dst_port: 3389}
  dash: {src_ip: '-'}
  condition: sel and not dash
---
title: Base
id: 22222222-2222-4222-8222-222222222222
name: kib_base
status: test
level: low
logsource: {category: firewall}
detection:
  sel: {dst_port: 445}
  condition: sel
---
title: Few
id: 33333333-3333-4333-8333-333333333333
status: test
level: medium
correlation:
  type: event_count
  rules: [kib_base]
  group-by: [src_ip]
  timespan: 10m
  condition: {lte: 3}
---
title: More Than Four
id: 55555555-5555-4555-8555-555555555555
status: test
level: high
correlation:
  type: event_count
  rules: [kib_base]
  group-by: [src_ip]
  timespan: 1h
  condition: {gt: 4}
"""


@pytest.fixture(scope="module")
def custom(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("kibana")
    (folder / "custom.yml").write_text(CUSTOM, encoding="utf-8")
    exported = export(load_ruleset([folder], use_cache=False), "soc-")
    out = {r["rule_id"]: r for r in exported.rules}
    out.update({rid: {"skipped": why} for rid, why in exported.skipped})
    return out


def test_bundled_rules_export_offline_and_meet_the_import_schema(monkeypatch):
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the export tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    rs = load_ruleset()
    exported = export(rs, "logwarden-")
    alerting = [r for r in rs.rules if r.generate] + rs.correlations
    assert len(exported.rules) + len(exported.skipped) == len(alerting)
    assert len(exported.rules) >= len(alerting) - 1  # only the temporal_ordered one cannot be a threshold
    for rule in exported.rules:
        assert problems(rule) == [], rule["name"]
    text = render(exported)
    assert len(text.splitlines()) == len(exported.rules)
    by_name = {r["name"]: r for r in exported.rules}
    brute = by_name["Logon Brute Force From One Source"]
    assert brute["type"] == "threshold" and brute["index"] == ["logwarden-windows-*"]
    assert brute["threshold"]["field"] == ["source.ip"] and brute["threshold"]["value"] >= 1


def test_severity_regex_index_and_dash_comparisons(custom):
    rx = custom["11111111-1111-4111-8111-111111111111"]
    assert rx["severity"] == "low" and rx["risk_score"] == 21  # informational is not a Kibana severity
    assert rx["index"] == ["soc-windows-*"]
    assert APPROXIMATE_TAG in rx["tags"]
    dumped = json.dumps(rx["filters"][0]["query"])
    assert '"regexp"' in dumped and "(?i)" not in dumped and "^" not in dumped and "$" not in dumped
    assert '"case_insensitive": true' in dumped
    dash = custom["44444444-4444-4444-8444-444444444444"]
    assert dash["index"] == ["soc-firewall-*"]
    assert '"-"' not in json.dumps(dash["filters"][0]["query"])  # an ip field never holds "-": no term on it
    for rule in (rx, dash):
        assert problems(rule) == []


def test_correlations_become_thresholds_where_kibana_means_the_same(custom):
    more = custom["55555555-5555-4555-8555-555555555555"]
    assert more["type"] == "threshold" and more["threshold"] == {"field": ["source.ip"], "value": 5}
    assert more["interval"] == "1h" and more["from"] == "now-1h"
    assert problems(more) == []
    few = custom["33333333-3333-4333-8333-333333333333"]
    assert "lte" in few["skipped"]
    assert "22222222-2222-4222-8222-222222222222" not in custom  # feeds a correlation only


def test_tactics_and_techniques_are_paired_by_attack_not_by_position():
    got = threat(["attack.credential_access", "attack.t1110.001", "attack.t1021.001", "attack.t9999"])
    by_tactic = {t["tactic"]["name"]: t for t in got}
    assert set(by_tactic) == {"Credential Access", "Lateral Movement"}
    cred = by_tactic["Credential Access"]
    assert cred["tactic"]["id"] == "TA0006"
    assert [(t["id"], [s["id"] for s in t["subtechnique"]]) for t in cred["technique"]] == [("T1110", ["T1110.001"])]
    lateral = by_tactic["Lateral Movement"]["technique"][0]
    assert lateral["name"] == "Remote Services" and lateral["subtechnique"][0]["name"] == "Remote Desktop Protocol"
    assert lateral["subtechnique"][0]["reference"].endswith("/techniques/T1021/001/")


def test_cli_writes_the_ndjson_and_names_what_it_skipped(tmp_path: Path):
    out = tmp_path / "rules.ndjson"
    res = cli_run("rules", "convert", "--target", "kibana", "-o", str(out))
    assert res.returncode == 0, res.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines and all(problems(json.loads(line)) == [] for line in lines)
    assert "temporal_ordered correlation" in res.stderr
    assert f"{len(lines)} rules" in res.stderr


def test_sigmahq_windows_rules_export_and_meet_the_schema(shared_data):
    rs = load_ruleset([shared_data / "sigmahq" / "rules" / "windows"])
    exported = export(rs, "logwarden-")
    assert len(exported.rules) > 2000
    bad = {r["rule_id"]: problems(r) for r in exported.rules if problems(r)}
    assert bad == {}
    assert all(why for _, why in exported.skipped)


@pytest.mark.servers
def test_exported_filters_search_what_the_engine_matches(lab, ns):
    """Every exported query rule, run on the real Elasticsearch over the rule cases' events,
    finds exactly the events the in-process engine matches (a superset when tagged approximate);
    every threshold rule's query parses and its firing case reaches the threshold."""
    from logwarden.detection.cases import load_cases
    from logwarden.detection.engine import Detector
    from logwarden.detection.evaluate import flatten
    from logwarden.es_io import client
    from logwarden.shippers.base import dumps

    rs = load_ruleset()
    detector = Detector(rs)
    es = client(ns)
    docs: dict[str, dict[str, Any]] = {}
    for case in load_cases():
        for eid, doc in case.events:
            docs[f"{case.name}-{eid}"] = doc
    families = ("windows", "firewall", "av")
    body = b"".join(dumps({"create": {"_index": f"{ns.index_prefix}{fam}-2026.04.13", "_id": eid}}) + b"\n"
                    + dumps(doc) + b"\n" for eid, doc in docs.items() for fam in families)
    resp = es.bulk(body=body, refresh="wait_for")  # type: ignore[arg-type]  # NDJSON bytes
    assert not resp["errors"]
    expected: dict[str, set[str]] = {}
    for eid, doc in docs.items():
        for rule in detector.match(flatten(doc)):
            expected.setdefault(rule.id, set()).add(eid)
    exported = export(rs, ns.index_prefix)
    checked = 0
    for rule in exported.rules:
        query = rule["filters"][0]["query"]
        if rule["type"] == "query":
            hits = es.search(index=",".join(rule["index"]), query=query, size=10000, _source=False,
                             ignore_unavailable=True)["hits"]["hits"]
            found = {h["_id"] for h in hits}
            want = expected.get(rule["rule_id"], set())
            if APPROXIMATE_TAG in rule["tags"]:
                assert want <= found, rule["name"]
            else:
                assert found == want, rule["name"]
            assert want, f"{rule['name']}: no rule case fires it"
        else:
            th = rule["threshold"]
            sources = [{f: {"terms": {"field": f}}} for f in th["field"]]
            aggs: dict[str, Any] = {"g": {"composite": {"sources": sources, "size": 1000}}}
            if th.get("cardinality"):
                aggs["g"]["aggs"] = {"c": {"cardinality": {"field": th["cardinality"][0]["field"]}}}
            resp = es.search(index=",".join(rule["index"]), query=query, size=0, aggs=aggs, ignore_unavailable=True)
            buckets = resp["aggregations"]["g"]["buckets"]
            if th.get("cardinality"):
                reached = [b for b in buckets if b["c"]["value"] >= th["cardinality"][0]["value"]]
            else:
                reached = [b for b in buckets if b["doc_count"] >= th["value"]]
            assert reached, f"{rule['name']}: no group reaches the threshold"
        checked += 1
    assert checked == len(exported.rules)


def test_help_lists_kibana_target():
    res = cli_run("rules", "convert", "--help")
    assert "kibana" in res.stdout


def cli_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logwarden.cli", *args], capture_output=True, text=True,
                          timeout=600)
