"""Sigma keywords (detection items with no field) are found inside any string value of the
event, case-insensitively, wildcards honoured, as Chainsaw, Hayabusa and Zircolite find them; in
hunt, stream and es alike (the es case runs on the lab's Elasticsearch, where a keyword is a
`wildcard` query on the template's catch-all field, schema_template.ALL_VALUES_FIELD)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector, run_batch
from logwarden.detection.evaluate import flatten
from tests.support.paths import need_shared

RULES: dict[str, tuple[str, dict[str, Any]]] = {  # name -> (rule id, detection)
    "plain": ("a0000000-0000-4000-8000-000000000001",
              {"keywords": ["sekurlsa::", "Kiwi Legit Printer"], "condition": "keywords"}),
    "all": ("a0000000-0000-4000-8000-000000000002",
            {"keywords": {"|all": ["New-ExchangeCertificate", " -RequestFile"]}, "condition": "keywords"}),
    "wildcard": ("a0000000-0000-4000-8000-000000000003",
                 {"keywords": ["vssadmin*delete*shadows"], "condition": "keywords"}),
    "edge_star": ("a0000000-0000-4000-8000-000000000004", {"keywords": ["mimi*"], "condition": "keywords"}),
    "cased": ("a0000000-0000-4000-8000-000000000005",
              {"keywords": {"|cased": ["CaseOnly"]}, "condition": "keywords"}),
    "number": ("a0000000-0000-4000-8000-000000000006", {"keywords": [31337], "condition": "keywords"}),
    "negated": ("a0000000-0000-4000-8000-000000000007",
                {"sel": {"EventID": 4688}, "keywords": ["benign"], "condition": "sel and not keywords"}),
}


# SigmaHQ's own keyword rules, used in place (../shared/data): none fires on the shared samples
SIGMAHQ = {
    "mimikatz": ("06d71506-7beb-4f22-8888-e2e5e2ca7fd8", "rules/windows/builtin/win_alert_mimikatz_keywords.yml"),
    "exchange_cert": ("b7bc7038-638b-4ffd-880c-292c692209ef",
                      "rules/windows/builtin/msexchange/win_exchange_proxyshell_certificate_generation.yml"),
}
IDS = {**{name: rid for name, (rid, _) in RULES.items()}, **{name: rid for name, (rid, _) in SIGMAHQ.items()}}


def _write_rules(folder: Path) -> Path:
    for name, (rid, detection) in RULES.items():
        rule = {"title": f"keyword {name}", "id": rid, "status": "test",
                "logsource": {"product": "windows", "service": "security"},
                "detection": detection, "level": "high"}
        (folder / f"kw_{name}.yml").write_text(yaml.safe_dump(rule, sort_keys=False), encoding="utf-8")
    return folder


def _doc(eid: str, record: int, channel: str = "Security", code: str = "4688",
         **event_data: Any) -> tuple[str, dict[str, Any]]:
    return eid, {
        "@timestamp": f"2024-01-01T00:00:{record:02d}.000Z",
        "event": {"id": eid, "code": code, "kind": "event"},
        "host": {"name": "HOST1"},
        "winlog": {"channel": channel, "event_id": code, "record_id": str(record),
                   "event_data": event_data},
    }


# (document, the rule names that must fire on it)
CASES: list[tuple[tuple[str, dict[str, Any]], set[str]]] = [
    (_doc("e01", 1, CommandLine="mimikatz.exe \"SEKURLSA::LogonPasswords\" exit"),
     {"plain", "edge_star", "negated", "mimikatz"}),
    (_doc("e02", 2, CommandLine="sekurlsa"), {"negated"}),  # no "::": not inside
    (_doc("e03", 3, PrinterName="x Kiwi Legit Printer y"), {"plain", "negated", "mimikatz"}),
    (_doc("e04", 4, A="New-ExchangeCertificate -GenerateRequest", B="-x -RequestFile c:\\a"), {"all", "negated"}),
    (_doc("e05", 5, A="New-ExchangeCertificate"), {"negated"}),  # |all: one of two
    (_doc("e06", 6, CommandLine="cmd /c VSSADMIN.exe Delete Shadows /all /quiet"), {"wildcard", "negated"}),
    (_doc("e07", 7, CommandLine="vssadmin delete"), {"negated"}),
    (_doc("e08", 8, X="has CaseOnly inside"), {"cased", "negated"}),
    (_doc("e09", 9, X="has caseonly inside"), {"negated"}),
    (_doc("e10", 10, Port="port 31337 open"), {"number", "negated"}),
    (_doc("e11", 11, Note="a benign tool"), set()),
    (_doc("e12", 12, List=["first", "a mimikatz value"]), {"edge_star", "negated"}),  # list elements
    (_doc("e13", 13, "Microsoft-Windows-Sysmon/Operational", "1", Image="C:\\m.exe",
          CommandLine="m.exe privilege::debug lsadump::dcsync /user:krbtgt"), {"mimikatz"}),
    (_doc("e14", 14, "Microsoft-Windows-Sysmon/Operational", "15", Contents="sekurlsa::"), set()),  # rule's filter
    (_doc("e15", 15, "MSExchange Management", "1", Payload=(
        "New-ExchangeCertificate -GenerateRequest -BinaryEncoded -RequestFile "
        "'\\\\localhost\\C$\\inetpub\\wwwroot\\aspnet_client\\shell.aspx'")), {"exchange_cert"}),
    (_doc("e16", 16, "MSExchange Management", "1", Payload="New-ExchangeCertificate -GenerateRequest"), set()),
    # a value longer than Elasticsearch indexes (kafka_io.KEYWORD_LIMIT): found all the same
    (_doc("e17", 17, Script="x" * 9000 + " SekurLSA::LogonPasswords"), {"plain", "negated", "mimikatz"}),
    (_doc("e18", 18, Script="y" * 9000), {"negated"}),
]


def _expected() -> set[tuple[str, str]]:
    return {(IDS[name], doc[0]) for doc, names in CASES for name in names}


@pytest.fixture(scope="module")
def keyword_rules(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Our keyword rules (written here) and SigmaHQ's (read in place)."""
    return [_write_rules(tmp_path_factory.mktemp("kwrules")),
            *(need_shared(f"sigmahq/{path}") for _, path in SIGMAHQ.values())]


def _fired(alerts: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(rule id, source event id) of single-event alerts."""
    return {(a["rule"]["id"], a["sigma"]["events"][0]) for a in alerts}


def test_keywords_match_inside_values_in_hunt_and_stream(keyword_rules: list[Path]) -> None:
    rs = load_ruleset(keyword_rules, use_cache=False)
    assert not rs.errors, rs.errors
    detector = Detector(rs)
    docs = [doc for doc, _ in CASES]
    hunt = {(rule.id, eid) for eid, d in docs for rule in detector.match(flatten(d))}
    assert hunt == _expected()
    streamer = Detector(rs)
    stream = _fired([a for eid, d in docs for a in streamer.process(d, eid)])
    batch = _fired(run_batch(detector, docs))
    assert stream == batch == hunt


def test_raw_input_copy_is_not_keyword_searched(keyword_rules: list[Path]) -> None:
    """event.original is stored, not indexed: no engine searches it (es could not)."""
    rs = load_ruleset(keyword_rules, use_cache=False)
    eid, doc = _doc("e20", 20, Other="nothing")
    doc["event"]["original"] = "sekurlsa::logonpasswords"
    assert [r.id for r in Detector(rs).match(flatten(doc))] == [RULES["negated"][0]]


@pytest.mark.servers
def test_keywords_es_agrees_with_hunt(ns, keyword_rules: list[Path]) -> None:
    from logwarden.detection.es import EsDetector
    from logwarden.es_io import client
    from logwarden.kafka_io import encode

    es = client(ns)
    index = f"{ns.index_prefix}windows-2024.01.01"
    operations: list[dict[str, Any]] = []
    for (eid, d), _ in CASES:  # encoded as the shipper encodes (marks over-long fields)
        operations += [{"create": {"_index": index, "_id": eid}}, json.loads(encode(dict(d)))]
    resp = es.bulk(operations=operations, refresh="wait_for")
    assert not resp["errors"], resp["items"][:2]
    rs = load_ruleset(keyword_rules, use_cache=False)
    runner = EsDetector(ns, es, Detector(rs))
    got = _fired(runner.run_once(None, None))
    assert got == _expected()
    # the long values (e17, e18) make every keyword rule fetch those two documents for the
    # in-process verdict; the cased keyword is confirmed in process
    assert set(runner.stats.inexact_rules) == set(IDS.values())


@pytest.mark.servers
def test_keyword_rule_is_filtered_by_elasticsearch(ns, keyword_rules: list[Path]) -> None:
    """A keyword-only rule is one query on the catch-all field, not match-all: Elasticsearch
    returns exactly the documents holding the keyword inside a value of a field the rule does not
    name, none where it is absent, and the in-process check drops nothing."""
    from logwarden.detection.es import EsDetector, QueryBuilder, field_types
    from logwarden.es_io import client
    from logwarden.schema_template import ALL_VALUES_FIELD

    es = client(ns)
    index = f"{ns.index_prefix}windows-2024.01.02"
    docs = [_doc("k1", 1, CommandLine='mimikatz.exe "SEKURLSA::LogonPasswords" exit'),
            _doc("k2", 2, Path="C:\\x\\mimidrv.sys.bak", Other="plain"),
            _doc("k3", 3, CommandLine="sekurlsa", Note="kiwi legit"),  # the keywords absent
            _doc("k4", 4, CommandLine="notepad.exe")]
    operations: list[dict[str, Any]] = []
    for eid, d in docs:
        operations += [{"create": {"_index": index, "_id": eid}}, d]
    assert not es.bulk(operations=operations, refresh="wait_for")["errors"]
    rs = load_ruleset(keyword_rules, use_cache=False)
    mimikatz = next(r for r in rs.rules if r.id == IDS["mimikatz"])
    types = field_types(es, f"{ns.index_prefix}windows-*")
    assert types[ALL_VALUES_FIELD] == "keyword"
    qb = QueryBuilder(types)
    query = qb.build(mimikatz.ir)
    text = json.dumps(query)
    assert "match_all" not in json.dumps(query["bool"]["filter"][0]), query  # the keywords' part
    assert f'{{"wildcard": {{"{ALL_VALUES_FIELD}": {{"value": "*sekurlsa::*"}}}}}}' in text
    assert not qb.inexact
    hits = es.search(index=index, query=query, size=10)["hits"]["hits"]
    assert sorted(h["_id"] for h in hits) == ["k1", "k2"]
    runner = EsDetector(ns, es, Detector(rs))
    got = _fired(runner.run_once(None, None))
    assert {e for r, e in got if r == IDS["mimikatz"]} == {"k1", "k2"}
    assert got == {(rid, eid) for eid, d in docs for rid in (r.id for r in Detector(rs).match(flatten(d)))}
    assert runner.stats.dropped == 0 and IDS["mimikatz"] not in runner.stats.inexact_rules


def test_kibana_export_queries_keywords_on_the_catch_all(keyword_rules: list[Path]) -> None:
    """Kibana gets the keyword query `detect` runs (before: match-all, an alert on every event)."""
    from logwarden.detection.kibana_rules import APPROXIMATE_TAG, export
    from logwarden.schema_template import ALL_VALUES_FIELD

    exported = {r["rule_id"]: r for r in export(load_ruleset(keyword_rules, use_cache=False), "soc-").rules}
    for name in ("plain", "all", "wildcard", "edge_star", "number", "mimikatz", "exchange_cert"):
        rule = exported[IDS[name]]
        text = json.dumps(rule["filters"][0]["query"])
        assert ALL_VALUES_FIELD in text and "match_all" not in text, name
        assert APPROXIMATE_TAG not in rule["tags"], name
    assert APPROXIMATE_TAG in exported[IDS["cased"]]["tags"]  # the case is checked in process only


@pytest.mark.servers
def test_kibana_keyword_filters_search_what_the_engine_matches(ns, keyword_rules: list[Path]) -> None:
    """The exported filters on the real Elasticsearch find exactly what hunt matches (a superset
    for the approximate cased rule). Values longer than Elasticsearch indexes are left out: Kibana
    cannot search them (the export's documented limit; `detect` fetches them, test above)."""
    from logwarden.detection.kibana_rules import APPROXIMATE_TAG, export
    from logwarden.es_io import client

    es = client(ns)
    index = f"{ns.index_prefix}windows-2024.01.03"
    docs = [doc for doc, _ in CASES if doc[0] not in ("e17", "e18")]
    operations: list[dict[str, Any]] = []
    for eid, d in docs:
        operations += [{"create": {"_index": index, "_id": eid}}, d]
    assert not es.bulk(operations=operations, refresh="wait_for")["errors"]
    rs = load_ruleset(keyword_rules, use_cache=False)
    detector = Detector(rs)
    expected: dict[str, set[str]] = {}
    for eid, d in docs:
        for matched in detector.match(flatten(d)):
            expected.setdefault(matched.id, set()).add(eid)
    for rule in export(rs, ns.index_prefix).rules:
        hits = es.search(index=",".join(rule["index"]), query=rule["filters"][0]["query"], size=100,
                         source=False, ignore_unavailable=True)["hits"]["hits"]
        found, want = {h["_id"] for h in hits}, expected.get(rule["rule_id"], set())
        if APPROXIMATE_TAG in rule["tags"]:
            assert want <= found, rule["name"]
        else:
            assert found == want, rule["name"]
