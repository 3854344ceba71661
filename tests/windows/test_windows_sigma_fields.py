"""Sigma fields reach the values Windows wrote (pipelines/sigma/windows.yml, issue 8).

Small XML cases: a rule shaped like the SigmaHQ rule that was wrong, run by hunt's batch engine
on documents the shipper made from event XML; each case once where the rule must fire and once
where it must not. Shared samples: SigmaHQ's own rules over every file of ../shared/data/evtx,
pinning what the mapping fixed (docs/ecs-conformance.md, "## Windows", has the whole table).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from logwarden import networks
from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector, run_batch
from logwarden.detection.hunt import HuntStats, iter_docs
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.windows import iter_file, synth
from logwarden.shippers.windows.charset import FLAG_GB18030
from tests.support.paths import need_shared

H = "TAX-PROD"
T = "2020-04-13T16:22:01.1234567Z"
RULE_ID = "6a1f3a52-9c1e-4d5e-8f0a-3b2c1d0e9f81"
WMI = synth.Provider("Microsoft-Windows-WMI-Activity", "{1418ef04-b0b4-4623-bf7e-d74ab47bbdaa}",
                     "Microsoft-Windows-WMI-Activity/Operational")
MSSQL = synth.Provider("MSSQLSERVER", "", "Application", event_source="MSSQLSERVER")


def docs_of(tmp_path: Path, text: str, suffix: str = ".xml") -> list[tuple[str, dict[str, Any]]]:
    path = tmp_path / f"input{suffix}"
    path.write_text(text, encoding="utf-8")
    items = list(iter_file(path))
    assert not [i for i in items if isinstance(i, DeadLetter)]
    return [(i.id, i.doc) for i in items if isinstance(i, Event)]


def fires(tmp_path: Path, logsource: dict[str, str], detection: dict[str, Any], event_xml: str) -> bool:
    """Does a rule with this log source and detection alert on this one event?"""
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    rule = {"title": "case", "id": RULE_ID, "status": "test", "level": "high", "logsource": logsource,
            "detection": detection}
    (rules / "case.yml").write_text(yaml.safe_dump(rule), encoding="utf-8")
    ruleset = load_ruleset([rules], use_cache=False)
    assert not ruleset.errors
    alerts = run_batch(Detector(ruleset), docs_of(tmp_path, synth.events(event_xml)))
    return RULE_ID in {a["rule"]["id"] for a in alerts}


SECURITY = {"product": "windows", "service": "security"}
PROCESS_CREATION = {"product": "windows", "category": "process_creation"}
# as SigmaHQ's win_security_successful_external_remote_rdp_login: "-" and private ranges filtered
EXTERNAL_RDP = {
    "selection": {"EventID": 4624, "LogonType": 10},
    "filter_main_local_ranges": {"IpAddress|cidr": ["::1/128", "10.0.0.0/8", "127.0.0.0/8", "172.16.0.0/12",
                                                    "192.168.0.0/16", "169.254.0.0/16", "fc00::/7", "fe80::/10"]},
    "filter_main_empty": {"IpAddress": "-"},
    "condition": "selection and not 1 of filter_main_*",
}


@pytest.mark.parametrize(("ip", "expected"), [
    ("-", False),  # no address (was: a "logon from a public IP" alert)
    ("203.0.113.7", True),
    ("::ffff:10.10.20.11", False),  # IPv4-mapped: the CIDR tests the unwrapped ECS address
    ("::ffff:203.0.113.7", True),
    ("127.0.0.1", False),
])
def test_logon_address_as_written(tmp_path: Path, ip: str, expected: bool) -> None:
    event = synth.security_4624(H, T, 1, target_user="administrator", ip=ip, port="0")
    assert fires(tmp_path, SECURITY, EXTERNAL_RDP, event) is expected


@pytest.mark.parametrize(("field", "extra", "expected"), [
    ("SubjectUserSid", {"SubjectUserSid": "S-1-0-0"}, False),  # user.id holds the target on 4625
    ("SubjectUserSid", {}, True),
    ("WorkstationName", {"WorkstationName": "-"}, False),  # source.domain drops "-"
    ("WorkstationName", {"WorkstationName": "KALI"}, True),
])
def test_4625_subject_and_workstation_as_written(tmp_path: Path, field: str, extra: dict[str, str],
                                                 expected: bool) -> None:
    detection = {"selection": {"EventID": 4625}, "filter": {field: "S-1-0-0" if field == "SubjectUserSid" else "-"},
                 "condition": "selection and not filter"}
    event = synth.security_4625(H, T, 1, target_user="administrator", ip="203.0.113.7", extra=extra)
    assert fires(tmp_path, SECURITY, detection, event) is expected


@pytest.mark.parametrize(("user", "expected"), [("NT AUTHORITY\\SYSTEM", True), ("TAX-PROD\\bob", False)])
def test_sysmon_user_whole(tmp_path: Path, user: str, expected: bool) -> None:
    """User|contains: AUTHORI (SigmaHQ's SYSTEM-shell rules): user.name holds "SYSTEM" only."""
    detection = {"selection": {"Image|endswith": "\\whoami.exe", "User|contains": ["AUTHORI", "AUTORI"]},
                 "condition": "selection"}
    event = synth.sysmon_1(H, T, 1, image="C:\\Windows\\System32\\whoami.exe", command_line="whoami",
                           parent_image="C:\\Windows\\System32\\cmd.exe", user=user)
    assert fires(tmp_path, PROCESS_CREATION, detection, event) is expected


LEVEL_AND_SESSION = {"selection": {"IntegrityLevel": ["System", "S-1-16-16384"], "LogonId": "0x3e7"},
                     "condition": "selection"}


@pytest.mark.parametrize(("event", "expected"), [
    (synth.security_4688(H, T, 1, new_process_name="C:\\Windows\\System32\\whoami.exe", command_line="whoami",
                         parent_process_name="C:\\Windows\\System32\\cmd.exe",
                         extra={"MandatoryLabel": "S-1-16-16384", "SubjectLogonId": "0x3e7"}), True),
    (synth.security_4688(H, T, 1, new_process_name="C:\\Windows\\System32\\whoami.exe", command_line="whoami",
                         parent_process_name="C:\\Windows\\System32\\cmd.exe",
                         extra={"MandatoryLabel": "S-1-16-8192", "SubjectLogonId": "0x3e7"}), False),
    (synth.sysmon_1(H, T, 1, image="C:\\Windows\\System32\\whoami.exe", command_line="whoami",
                    parent_image="C:\\Windows\\System32\\cmd.exe", user="NT AUTHORITY\\SYSTEM",
                    integrity_level="System", extra={"LogonId": "0x3e7"}), True),
], ids=["4688-system", "4688-medium", "sysmon-system"])
def test_process_creation_integrity_and_logon_id_reach_4688(tmp_path: Path, event: str, expected: bool) -> None:
    assert fires(tmp_path, PROCESS_CREATION, LEVEL_AND_SESSION, event) is expected


def test_logon_id_null_is_one_field(tmp_path: Path) -> None:
    """`LogonId: null` (SigmaHQ's WmiPrvSE rule) is false on a 4688 that has a SubjectLogonId."""
    detection = {"selection": {"Image|endswith": "\\whoami.exe"}, "filter_null": {"LogonId": None},
                 "condition": "selection and not filter_null"}
    event = synth.security_4688(H, T, 1, new_process_name="C:\\Windows\\System32\\whoami.exe",
                                command_line="whoami", parent_process_name="C:\\Windows\\System32\\cmd.exe")
    assert fires(tmp_path, PROCESS_CREATION, detection, event)


def _unnamed(xml: str, *values: str) -> str:
    head, _, _ = xml.partition("<EventData>")
    return head + "<EventData>" + "".join(f"<Data>{v}</Data>" for v in values) + "</EventData></Event>"


@pytest.mark.parametrize(("statement", "expected"), [("EXEC", True), ("SELECT", False)])
def test_unnamed_data_reachable_as_data(tmp_path: Path, statement: str, expected: bool) -> None:
    """SigmaHQ's MSSQL/ESENT/MSI rules name `Data`: every unnamed <Data> value, any of them."""
    detection = {"selection": {"EventID": 33205, "Data|contains|all": ["object_name:xp_cmdshell",
                                                                         f"statement:{statement}"]},
                 "condition": "selection"}
    event = _unnamed(synth.event(MSSQL, 33205, H, T, 1, qualifiers=16384), "first value",
                     "action_id:EX object_name:xp_cmdshell statement:EXEC xp_cmdshell 'whoami'")
    assert fires(tmp_path, {"product": "windows", "service": "application"}, detection, event) is expected


def _wmi_5859(provider: str) -> str:
    return synth.event(WMI, 5859, H, T, 1, user_data=(
        "Operation_EssStarted", "http://manifests.microsoft.com/win/2006/windows/WMI", {
            "NamespaceName": "//./root/CIMV2", "Query": "select * from MSFT_SCMEventLogEvent",
            "User": "S-1-5-32-544", "Processid": "1104", "Provider": provider, "queryid": "0",
            "PossibleCause": "Permanent"}))


@pytest.mark.parametrize(("provider", "expected"), [("SCM Event Provider", False), ("Evil Provider", True)])
def test_user_data_fields_reachable(tmp_path: Path, provider: str, expected: bool) -> None:
    """SigmaHQ's WMI persistence filter (5859) names UserData fields, `User` among them."""
    detection = {"selection": {"EventID": 5859},
                 "filter_scmevent": {"Provider": "SCM Event Provider", "Query": "select * from MSFT_SCMEventLogEvent",
                                     "User": "S-1-5-32-544", "PossibleCause": "Permanent"},
                 "condition": "selection and not filter_scmevent"}
    assert fires(tmp_path, {"product": "windows", "service": "wmi"}, detection, _wmi_5859(provider)) is expected


def test_sysmon_wmi_consumer_destination(tmp_path: Path) -> None:
    """Sysmon 20's Destination is the consumer's command, not a process.executable."""
    event = synth.event(synth.SYSMON, 20, H, T, 1, level=4, task=20, version=3, keywords="0x8000000000000000",
                        event_data={"EventType": "WmiConsumerEvent", "Operation": "Created", "Type": "Command Line",
                                    "Destination": " \"powershell.exe -nop -enc SQBFAFgA\""})
    detection = {"selection": {"Destination|contains": "powershell"}, "condition": "selection"}
    assert fires(tmp_path, {"product": "windows", "category": "wmi_event"}, detection, event)


@pytest.mark.parametrize(("port", "remote", "expected"), [("3389", "203.0.113.7", True), ("3389", "10.10.20.5", False),
                                                          ("445", "203.0.113.7", False)])
def test_5156_fields_as_written(tmp_path: Path, port: str, remote: str, expected: bool) -> None:
    """5156: Windows names the local end Source; rules test its fields as written (the ECS
    source/destination are the initiator and the responder)."""
    event = synth.event(synth.SECURITY, 5156, H, T, 1, task=12810, event_data={
        "ProcessID": "1084", "Application": "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe",
        "Direction": "%%14592", "SourceAddress": "10.10.20.11", "SourcePort": port, "DestAddress": remote,
        "DestPort": "51234", "Protocol": "6"})
    detection = {"selection": {"EventID": 5156, "SourcePort": 3389},
                 "filter": {"DestAddress|cidr": "10.0.0.0/8"}, "condition": "selection and not filter"}
    assert fires(tmp_path, SECURITY, detection, event) is expected
    (_, doc), = docs_of(tmp_path, synth.events(event))
    assert (doc["source"]["ip"], doc["destination"]["port"]) == (remote, int(port))
    assert doc["network"]["direction"] == "ingress" and doc["network"]["transport"] == "tcp"


# --- documents ---------------------------------------------------------------------------------


def test_gb18030_fallback_is_flagged(tmp_path: Path) -> None:
    xml = synth.events(synth.security_4625(H, T, 1, target_user="管理员", ip="203.0.113.7"),
                       synth.security_4625(H, T, 2, target_user="admin", ip="203.0.113.7"))
    xml_path = tmp_path / "gbk.xml"
    xml_path.write_bytes(xml.replace('encoding="utf-8"', "").encode("gb18030"))
    first, second = [i for i in iter_file(xml_path) if isinstance(i, Event)]
    assert first.doc["user"]["name"] == "管理员" and FLAG_GB18030 in first.doc["log"]["flags"]
    assert "flags" not in second.doc["log"]  # plain ASCII is UTF-8: no guess made
    line = json.dumps({"winlog": {"channel": "Security", "event_id": "4625", "record_id": "3",
                                  "provider_name": "Microsoft-Windows-Security-Auditing", "computer_name": H,
                                  "event_data": {"TargetUserName": "管理员"}}, "@timestamp": T},
                      ensure_ascii=False)
    json_path = tmp_path / "gbk.jsonl"
    json_path.write_bytes(line.encode("gb18030") + b"\n")
    (ev,) = [i for i in iter_file(json_path) if isinstance(i, Event)]
    assert ev.doc["user"]["name"] == "管理员" and ev.doc["log"]["flags"] == [FLAG_GB18030]


def test_sysmon_3_addresses_checked_like_firewalls(tmp_path: Path) -> None:
    event = synth.sysmon_3(H, T, 1, image="C:\\x.exe", user="TAX-PROD\\bob", source_ip="10.10.20.11",
                           source_port=49823, destination_ip="010.0.0.2", destination_port=70000)
    (_, doc), = docs_of(tmp_path, synth.events(event))
    assert doc["destination"] == {"address": "010.0.0.2"}  # never in an `ip` field, never silently gone
    assert doc["log"]["flags"] == ["destination.ip-invalid", "destination.port-invalid"]
    assert doc["winlog"]["event_data"]["DestinationIp"] == "010.0.0.2"


def test_winlogbeat_json_keeps_winlog_user_and_enriches_4627_like_xml(tmp_path: Path) -> None:
    xml = synth.event(synth.SECURITY, 4627, H, T, 7, task=12554, user_sid="S-1-5-18", event_data={
        "SubjectUserSid": "S-1-0-0", "SubjectUserName": "-", "SubjectDomainName": "-", "SubjectLogonId": "0x0",
        "TargetUserSid": synth.ADMIN_SID, "TargetUserName": "administrator", "TargetDomainName": H,
        "TargetLogonId": "0x5a3c1f", "LogonType": "10", "GroupMembership": "%{S-1-5-32-544}"})
    (_, from_xml), = docs_of(tmp_path, synth.events(xml))
    assert from_xml["user"] == {"name": "administrator", "domain": H, "id": synth.ADMIN_SID}
    assert from_xml["winlog"]["logon"] == {"id": "0x5a3c1f", "type": "RemoteInteractive"}
    winlogbeat = json.loads(json.dumps(from_xml))
    for key in ("user", "related"):
        winlogbeat.pop(key)
    winlogbeat["winlog"].pop("logon")
    winlogbeat["winlog"]["user"].update(name="SYSTEM", domain="NT AUTHORITY", type="Well Known Group")
    (_, from_json), = docs_of(tmp_path, json.dumps(winlogbeat) + "\n", ".jsonl")
    assert from_json["winlog"]["user"] == {"identifier": "S-1-5-18", "name": "SYSTEM", "domain": "NT AUTHORITY",
                                           "type": "Well Known Group"}
    from_json["winlog"]["user"] = from_xml["winlog"]["user"]
    from_json["log"]["file"] = from_xml["log"]["file"]
    assert from_json == from_xml


def test_winlogbeat_params_become_data(tmp_path: Path) -> None:
    doc = {"@timestamp": T, "winlog": {"channel": "Application", "event_id": "15457", "provider_name": "MSSQLSERVER",
                                       "computer_name": H, "record_id": "5",
                                       "event_data": {"param1": "xp_cmdshell", "param2": "0", "param3": "1"}}}
    (_, once), = docs_of(tmp_path, json.dumps(doc) + "\n", ".jsonl")
    assert once["winlog"]["event_data"] == {"param1": "xp_cmdshell", "param2": "0", "param3": "1",
                                            "Data": ["xp_cmdshell", "0", "1"]}
    (_, twice), = docs_of(tmp_path, json.dumps(once) + "\n", ".jsonl")  # our own output read back
    assert twice["winlog"]["event_data"] == once["winlog"]["event_data"]


# --- SigmaHQ's rules on the shared samples -------------------------------------------------------

PUBLIC_IP_RULES = {  # rule file -> title; all three filtered "-" and private ranges, and did not
    "builtin/security/account_management/win_security_successful_external_remote_rdp_login.yml":
        "External Remote RDP Logon from Public IP",
    "builtin/security/account_management/win_security_successful_external_remote_smb_login.yml":
        "External Remote SMB Logon from Public IP",
    "builtin/security/account_management/win_security_susp_failed_logon_source.yml": "Failed Logon From Public IP",
}
SYSTEM_USER_RULES = [  # select on User|contains: AUTHORI (Sysmon's "NT AUTHORITY\SYSTEM")
    "process_creation/proc_creation_win_susp_elevated_system_shell_uncommon_parent.yml",
    "process_creation/proc_creation_win_sysinternals_psexesvc_as_system.yml",
    "process_creation/proc_creation_win_whoami_execution_from_high_priv_process.yml",
    "process_creation/proc_creation_win_susp_abusing_debug_privilege.yml",
    "process_creation/proc_creation_win_susp_system_user_anomaly.yml",
]
DATA_RULES = [  # unnamed <Data>
    "builtin/application/esent/win_esent_ntdsutil_abuse.yml",
    "builtin/application/mssqlserver/win_mssql_xp_cmdshell_change.yml",
]
WMI_PERSISTENCE = "builtin/wmi/win_wmi_persistence.yml"


@pytest.fixture(scope="module")
def sample_docs() -> list[tuple[str, dict[str, Any]]]:
    unique: dict[str, dict[str, Any]] = {}
    for eid, doc in iter_docs([need_shared("evtx")], HuntStats()):
        unique.setdefault(eid, doc)
    return list(unique.items())


@pytest.fixture(scope="module")
def sample_alerts(sample_docs: list[tuple[str, dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    root = need_shared("sigmahq/rules/windows")
    files = [root / f for f in (*PUBLIC_IP_RULES, *SYSTEM_USER_RULES, *DATA_RULES, WMI_PERSISTENCE)]
    ruleset = load_ruleset(files)
    assert not ruleset.errors
    by_path = {r.id: Path(r.path).relative_to(root).as_posix() for r in ruleset.rules}
    out: dict[str, list[dict[str, Any]]] = {str(f.relative_to(root).as_posix()): [] for f in files}
    for alert in run_batch(Detector(ruleset), sample_docs):
        out[by_path[alert["rule"]["id"]]].append(alert)
    return out


@pytest.mark.shared
def test_no_public_ip_logon_alert_without_a_public_address(sample_docs, sample_alerts) -> None:
    docs = dict(sample_docs)
    for rule in PUBLIC_IP_RULES:
        for alert in sample_alerts[rule]:
            (eid,) = alert["sigma"]["events"]
            raw = docs[eid]["winlog"]["event_data"]["IpAddress"]
            assert raw != "-" and networks.is_public(docs[eid]["source"]["ip"]), (rule, raw)
    # before the mapping: 56 SMB alerts, every one on IpAddress "-"
    assert len(sample_alerts[next(r for r in PUBLIC_IP_RULES if "smb" in r)]) == 0


@pytest.mark.shared
def test_system_user_rules_fire_on_the_account_as_written(sample_docs, sample_alerts) -> None:
    docs = dict(sample_docs)
    for rule in SYSTEM_USER_RULES:  # none of them fired before
        assert sample_alerts[rule], rule
        for alert in sample_alerts[rule]:
            user = docs[alert["sigma"]["events"][0]]["winlog"]["event_data"]["User"]
            assert "AUTHORI" in user or "AUTORI" in user, (rule, user)


@pytest.mark.shared
def test_data_rules_fire_and_wmi_filters_hold(sample_docs, sample_alerts) -> None:
    for rule in DATA_RULES:  # none fired before
        assert sample_alerts[rule], rule
    # 11 before, all SCM Event Provider filter registrations (5859) the filter must drop: its
    # UserData fields were unreachable. What remains is the consumer binding (5861) the rule's
    # keywords find anywhere in the event (Sigma keyword semantics).
    docs = dict(sample_docs)
    codes = [docs[a["sigma"]["events"][0]]["event"]["code"] for a in sample_alerts[WMI_PERSISTENCE]]
    assert codes and set(codes) == {"5861"}, codes
