"""The raw-field mapping through the real servers: events that used to fool SigmaHQ's rules go
`ship evtx` -> Kafka -> `index --once` -> Elasticsearch, and the es engine (queries on the
index template's `winlog.event_data.*` / `winlog.user_data.*` mappings) returns exactly the
alerts hunt returns on the same documents, which are the alerts the rules must give."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from logwarden.detection.alerts import verdict
from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector, run_batch
from logwarden.detection.hunt import HuntStats, iter_docs
from logwarden.es_io import client
from logwarden.shippers.windows import synth
from tests.support.cli import cli, shipped
from tests.support.namespaces import count
from tests.windows.test_windows_sigma_fields import (
    EXTERNAL_RDP,
    LEVEL_AND_SESSION,
    MSSQL,
    PROCESS_CREATION,
    SECURITY,
    _unnamed,
    _wmi_5859,
)

pytestmark = pytest.mark.servers
H, T = "TAX-PROD", "2020-04-13T16:22:01.1234567Z"
WHOAMI = {"new_process_name": "C:\\Windows\\System32\\whoami.exe", "command_line": "whoami",
          "parent_process_name": "C:\\Windows\\System32\\cmd.exe"}
RULES: dict[str, tuple[dict[str, str], dict[str, Any]]] = {  # rule id -> (logsource, detection)
    "0c3b9f5e-1a01-4c6e-9a51-000000000001": (SECURITY, EXTERNAL_RDP),
    "0c3b9f5e-1a01-4c6e-9a51-000000000002": (SECURITY, {
        "selection": {"EventID": 4625}, "filter": {"SubjectUserSid": "S-1-0-0"},
        "condition": "selection and not filter"}),
    "0c3b9f5e-1a01-4c6e-9a51-000000000003": (PROCESS_CREATION, {
        "selection": {"User|contains": ["AUTHORI", "AUTORI"]}, "condition": "selection"}),
    "0c3b9f5e-1a01-4c6e-9a51-000000000004": (PROCESS_CREATION, LEVEL_AND_SESSION),
    "0c3b9f5e-1a01-4c6e-9a51-000000000005": ({"product": "windows", "service": "application"}, {
        "selection": {"EventID": 33205, "Data|contains|all": ["object_name:xp_cmdshell", "statement:EXEC"]},
        "condition": "selection"}),
    "0c3b9f5e-1a01-4c6e-9a51-000000000006": ({"product": "windows", "service": "wmi"}, {
        "selection": {"EventID": 5859}, "filter": {"Provider": "SCM Event Provider", "User": "S-1-5-32-544"},
        "condition": "selection and not filter"}),
    "0c3b9f5e-1a01-4c6e-9a51-000000000007": (SECURITY, {
        "selection": {"EventID": 5156, "SourcePort": 3389}, "filter": {"DestAddress|cidr": "10.0.0.0/8"},
        "condition": "selection and not filter"}),
}
# (event XML, the rule ids it must fire: none for the near misses)
EVENTS: list[tuple[str, set[str]]] = [
    (synth.security_4624(H, T, 1, target_user="a", ip="-"), set()),
    (synth.security_4624(H, T, 2, target_user="a", ip="::ffff:10.10.20.11"), set()),
    (synth.security_4624(H, T, 3, target_user="a", ip="::ffff:203.0.113.7"), {"1"}),
    (synth.security_4625(H, T, 4, target_user="a", ip="203.0.113.7", extra={"SubjectUserSid": "S-1-0-0"}), set()),
    (synth.security_4625(H, T, 5, target_user="a", ip="203.0.113.7"), {"2"}),
    (synth.sysmon_1(H, T, 6, image="C:\\Windows\\System32\\whoami.exe", command_line="whoami",
                    parent_image="C:\\Windows\\System32\\cmd.exe", user="NT AUTHORITY\\SYSTEM",
                    integrity_level="System", extra={"LogonId": "0x3e7"}), {"3", "4"}),
    (synth.security_4688(H, T, 7, **WHOAMI, extra={"MandatoryLabel": "S-1-16-16384", "SubjectLogonId": "0x3e7"}),
     {"4"}),
    (synth.security_4688(H, T, 8, **WHOAMI, extra={"MandatoryLabel": "S-1-16-8192", "SubjectLogonId": "0x3e7"}),
     set()),
    (_unnamed(synth.event(MSSQL, 33205, H, T, 9, qualifiers=16384), "x",
              "object_name:xp_cmdshell statement:EXEC xp_cmdshell 'whoami'"), {"5"}),
    (_wmi_5859("SCM Event Provider").replace("<EventRecordID>1<", "<EventRecordID>10<"), set()),
    (_wmi_5859("Evil Provider").replace("<EventRecordID>1<", "<EventRecordID>11<"), {"6"}),
    *[(synth.event(synth.SECURITY, 5156, H, T, n, task=12810, event_data={
        "ProcessID": "1084", "Application": "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe",
        "Direction": "%%14592", "SourceAddress": "10.10.20.11", "SourcePort": "3389", "DestAddress": remote,
        "DestPort": "51234", "Protocol": "6"}), fired) for n, remote, fired in
      ((12, "203.0.113.7", {"7"}), (13, "10.10.20.5", set()))],
]


def test_es_agrees_with_hunt_on_the_raw_fields(ns, tmp_path: Path) -> None:
    from logwarden.detection.es import EsDetector

    rules = tmp_path / "rules"
    rules.mkdir()
    for rid, (logsource, detection) in RULES.items():
        rule = {"title": f"case {rid[-1]}", "id": rid, "status": "test", "level": "high",
                "logsource": logsource, "detection": detection}
        (rules / f"{rid}.yml").write_text(yaml.safe_dump(rule), encoding="utf-8")
    events = tmp_path / "events.xml"
    events.write_text(synth.events(*(xml for xml, _ in EVENTS)), encoding="utf-8")
    summary = shipped(cli(ns, "ship", "evtx", str(events), "--json", "--no-progress"))
    assert summary["produced"] == len(EVENTS)
    done = cli(ns, "index", "--once", "--json", "--group", f"{ns.topic_prefix}indexer")
    assert done.returncode == 0, done.stderr[-3000:]
    es = client(ns, request_timeout=120)
    assert count(es, ns, "windows") == len(EVENTS)
    assert count(es, ns, "windows", {"term": {"winlog.event_data.Data.caseless": "x"}}) == 1

    ruleset = load_ruleset([rules], use_cache=False)
    assert not ruleset.errors
    docs = list(iter_docs([events], HuntStats()))
    hunt_alerts = run_batch(Detector(ruleset), docs)
    found = sorted(verdict(a) for a in EsDetector(ns, es, Detector(ruleset)).run_once(None, None))
    assert found == sorted(verdict(a) for a in hunt_alerts)
    by_record = {doc["winlog"]["record_id"]: eid for eid, doc in docs}
    expected = sorted((rid, (by_record[str(n)],)) for n, (_, fired) in enumerate(EVENTS, start=1)
                      for rid in RULES if rid[-1] in fired)
    assert sorted((a["rule"]["id"], tuple(a["sigma"]["events"])) for a in hunt_alerts) == expected
