"""normalise(): the record forms pyevtx-rs and exports produce, and the ECS enrichment."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from logwarden.shippers.windows import normalise, to_event
from logwarden.shippers.windows.record import RecordError


def record(event_id: Any = 4625, *, time: str = "2020-04-13T16:22:01.1234567Z", channel: str = "Security",
           provider: str = "Microsoft-Windows-Security-Auditing", event_data: Any = None,
           user_data: Any = None, keywords: str = "0x8010000000000000", level: int = 0) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "System": {
            "Provider": {"#attributes": {"Name": provider, "Guid": "{54849625-5478-4994-a5ba-3e3b0328c30d}"}},
            "EventID": event_id, "Version": 0, "Level": level, "Task": 12544, "Opcode": 0, "Keywords": keywords,
            "TimeCreated": {"#attributes": {"SystemTime": time}}, "EventRecordID": 42,
            "Correlation": None, "Execution": {"#attributes": {"ProcessID": 612, "ThreadID": 2964}},
            "Channel": channel, "Computer": "TAX-PROD", "Security": None,
        }
    }
    if event_data is not None:
        ev["EventData"] = event_data
    if user_data is not None:
        ev["UserData"] = user_data
    return {"Event": ev}


FAILED_LOGON = {
    "SubjectUserSid": "S-1-5-18", "SubjectUserName": "TAX-PROD$", "SubjectDomainName": "WORKGROUP",
    "SubjectLogonId": "0x3e7", "TargetUserSid": "S-1-0-0", "TargetUserName": "administrator",
    "TargetDomainName": "", "Status": "0xc000006d", "FailureReason": "%%2313", "SubStatus": "0xC000006A",
    "LogonType": 10, "WorkstationName": "KALI", "ProcessId": "0x1f4",
    "ProcessName": "C:\\Windows\\System32\\winlogon.exe", "IpAddress": "::ffff:203.0.113.7", "IpPort": "51234",
}


@pytest.mark.parametrize("form", [4625, "4625", " 4625 ", {"#attributes": {"Qualifiers": 0}, "#text": 4625},
                                  {"#attributes": {"Qualifiers": "16384"}, "#text": "4625"}])
def test_event_id_forms(form: Any) -> None:
    doc = normalise(record(form, event_data=FAILED_LOGON))
    assert doc["event"]["code"] == "4625"
    assert doc["winlog"]["event_id"] == "4625"
    assert doc["event"]["action"] == "logon-failed"


@pytest.mark.parametrize("bad", [None, "abc", True, {"#text": None}])
def test_bad_event_id_is_record_error(bad: Any) -> None:
    with pytest.raises(RecordError):
        normalise(record(bad))


@pytest.mark.parametrize(("raw", "expected"), [
    ("2020-04-13T16:22:01.123Z", "2020-04-13T16:22:01.1230000Z"),
    ("2020-04-13T16:22:01.1234Z", "2020-04-13T16:22:01.1234000Z"),
    ("2020-04-13T16:22:01.12345Z", "2020-04-13T16:22:01.1234500Z"),
    ("2020-04-13T16:22:01.123456Z", "2020-04-13T16:22:01.1234560Z"),
    ("2020-04-13T16:22:01.1234567Z", "2020-04-13T16:22:01.1234567Z"),
    ("2020-04-13T16:22:01.12345678Z", "2020-04-13T16:22:01.1234567Z"),
    ("2020-04-13T16:22:01.123456789Z", "2020-04-13T16:22:01.1234567Z"),
    ("2020-04-13T16:22:01Z", "2020-04-13T16:22:01.0000000Z"),
    ("2020-04-14T00:22:01.5+08:00", "2020-04-13T16:22:01.5000000Z"),
    ("2020-04-13 16:22:01.5", "2020-04-13T16:22:01.5000000Z"),
])
def test_time_created_fractions(raw: str, expected: str) -> None:
    assert normalise(record(time=raw))["@timestamp"] == expected


@pytest.mark.parametrize("bad", ["2020-02-30T00:00:00Z", "yesterday", "2020-13-01T00:00:00Z", ""])
def test_bad_time_is_record_error(bad: str) -> None:
    with pytest.raises(RecordError):
        normalise(record(time=bad))


def test_failed_logon_enrichment() -> None:
    doc = normalise(record(event_data=FAILED_LOGON))
    assert doc["event"] == {"code": "4625", "provider": "Microsoft-Windows-Security-Auditing", "kind": "event",
                            "module": "system", "dataset": "system.security", "category": ["authentication"],
                            "type": ["start"], "action": "logon-failed", "outcome": "failure"}
    assert doc["source"] == {"ip": "203.0.113.7", "port": 51234, "domain": "KALI"}
    assert doc["user"] == {"name": "administrator"}  # NULL SID and empty domain are not copied
    assert doc["winlog"]["logon"] == {
        "type": "RemoteInteractive", "id": "0x3e7",
        "failure": {"reason": "Unknown user name or bad password.",
                    "status": "This is either due to a bad username or authentication information",
                    "sub_status": "User logon with misspelled or bad password"}}
    assert doc["process"] == {"executable": "C:\\Windows\\System32\\winlogon.exe", "name": "winlogon.exe",
                              "pid": 500}
    assert doc["related"] == {"user": ["administrator", "TAX-PROD$"], "ip": ["203.0.113.7"]}
    # event_data keeps every field, as strings, %% tokens unresolved
    ed = doc["winlog"]["event_data"]
    assert ed["LogonType"] == "10" and ed["FailureReason"] == "%%2313" and ed["ProcessId"] == "0x1f4"
    assert ed["IpAddress"] == "::ffff:203.0.113.7" and set(ed) == set(FAILED_LOGON)
    assert doc["host"] == {"name": "TAX-PROD", "os": {"type": "windows", "family": "windows"}}
    assert doc["log"] == {"level": "information"}
    assert doc["winlog"]["keywords"] == ["Audit Failure"]
    assert doc["winlog"]["record_id"] == "42"
    assert doc["winlog"]["process"] == {"pid": 612, "thread": {"id": 2964}}


@pytest.mark.parametrize(("ip", "expected"), [
    ("-", None), ("", None), ("::1", "::1"), ("127.0.0.1", "127.0.0.1"), ("::ffff:10.1.2.3", "10.1.2.3"),
    ("fe80::1%12", "fe80::1"), ("2001:DB8::1", "2001:db8::1"), ("<script>", None), ("999.1.1.1", None),
])
def test_source_ip_forms(ip: str, expected: str | None) -> None:
    doc = normalise(record(event_data=dict(FAILED_LOGON, IpAddress=ip)))
    assert doc.get("source", {}).get("ip") == expected
    assert doc["winlog"]["event_data"]["IpAddress"] == ip


@pytest.mark.parametrize(("value", "name"), [(2, "Interactive"), ("3", "Network"), ("10", "RemoteInteractive"),
                                             (11, "CachedInteractive"), ("5", "Service"), ("99", None)])
def test_logon_type_int_or_string(value: Any, name: str | None) -> None:
    doc = normalise(record(4624, keywords="0x8020000000000000", event_data=dict(FAILED_LOGON, LogonType=value)))
    assert doc["winlog"]["event_data"]["LogonType"] == str(value)
    assert doc["winlog"].get("logon", {}).get("type") == name
    assert doc["event"]["outcome"] == "success" and doc["event"]["action"] == "logged-in"


def test_process_id_hex_and_decimal() -> None:
    sec = normalise(record(4688, keywords="0x8020000000000000", event_data={
        "NewProcessId": "0x1a2c", "NewProcessName": "C:\\Windows\\System32\\vssadmin.exe", "ProcessId": "0x10f4",
        "CommandLine": "vssadmin delete shadows /all /quiet", "ParentProcessName": "C:\\Windows\\System32\\cmd.exe",
        "SubjectUserName": "Administrator", "SubjectDomainName": "TAX-PROD", "SubjectUserSid": "S-1-5-21-1-500"}))
    assert sec["process"] == {
        "executable": "C:\\Windows\\System32\\vssadmin.exe", "name": "vssadmin.exe", "pid": 0x1A2C,
        "command_line": "vssadmin delete shadows /all /quiet",
        "parent": {"executable": "C:\\Windows\\System32\\cmd.exe", "name": "cmd.exe", "pid": 0x10F4}}
    assert sec["event"]["action"] == "created-process" and sec["user"]["name"] == "Administrator"
    sysmon = normalise(record(1, channel="Microsoft-Windows-Sysmon/Operational", provider="Microsoft-Windows-Sysmon",
                              event_data={"ProcessId": 9044, "Image": "C:\\x\\a.exe", "ParentProcessId": "4312",
                                          "User": "TAX-PROD\\Administrator",
                                          "Hashes": "SHA1=ABC,MD5=DEF,IMPHASH=00000000000000000000000000000000"}))
    assert sysmon["process"]["pid"] == 9044 and sysmon["process"]["parent"]["pid"] == 4312
    assert sysmon["winlog"]["event_data"]["ProcessId"] == "9044"
    assert sysmon["process"]["hash"] == {"sha1": "abc", "md5": "def"}
    assert sysmon["user"] == {"name": "Administrator", "domain": "TAX-PROD"}
    assert sysmon["event"]["module"] == "windows" and sysmon["event"]["dataset"] == "windows.sysmon_operational"


def test_1102_user_data() -> None:
    ud = {"LogFileCleared": {"#attributes": {"xmlns": "http://manifests.microsoft.com/win/2004/08/windows/eventlog"},
                             "SubjectUserSid": "S-1-5-21-1-500", "SubjectUserName": "jwrig",
                             "SubjectDomainName": "DESKTOP", "SubjectLogonId": "0x30550"}}
    doc = normalise(record(1102, provider="Microsoft-Windows-Eventlog", user_data=ud, keywords="0x4020000000000000",
                           level=4))
    assert doc["winlog"]["user_data"] == {"xml_name": "LogFileCleared", "SubjectUserSid": "S-1-5-21-1-500",
                                          "SubjectUserName": "jwrig", "SubjectDomainName": "DESKTOP",
                                          "SubjectLogonId": "0x30550"}
    assert "event_data" not in doc["winlog"]
    assert doc["event"]["action"] == "audit-log-cleared" and doc["event"]["category"] == ["iam"]
    assert doc["user"] == {"name": "jwrig", "domain": "DESKTOP", "id": "S-1-5-21-1-500"}


def test_104_user_data_system() -> None:
    ud = {"LogFileCleared": {"SubjectUserName": "tony", "SubjectDomainName": "DESKTOP",
                             "Channel": "Microsoft-Windows-Sysmon/Operational", "BackupPath": None}}
    doc = normalise(record(104, channel="System", provider="Microsoft-Windows-Eventlog", user_data=ud, level=4))
    assert doc["winlog"]["user_data"]["Channel"] == "Microsoft-Windows-Sysmon/Operational"
    assert doc["winlog"]["user_data"]["BackupPath"] == ""
    assert doc["event"]["action"] == "audit-log-cleared" and doc["event"]["dataset"] == "system.system"
    assert doc["user"] == {"name": "tony", "domain": "DESKTOP"}
    other = normalise(record(104, channel="System", provider="Some-Other-Provider", event_data={}))
    assert "action" not in other["event"]


def test_7045_service() -> None:
    doc = normalise(record({"#attributes": {"Qualifiers": 16384}, "#text": 7045}, channel="System",
                           provider="Service Control Manager", level=4, event_data={
                               "ServiceName": "securebootthemes", "ImagePath": "%SystemRoot%\\x.exe -k netsvcs",
                               "ServiceType": "user mode service", "StartType": "auto start",
                               "AccountName": "LocalSystem"}))
    assert doc["event"]["action"] == "service-installed"
    assert doc["service"] == {"name": "securebootthemes", "type": "user mode service"}
    assert doc["winlog"]["event_data"]["ImagePath"] == "%SystemRoot%\\x.exe -k netsvcs"


def test_unnamed_data_becomes_params_and_the_data_list() -> None:
    doc = normalise(record(1000, channel="Application", provider="App",
                           event_data={"Data": {"#text": ["a", 2, None]}, "Binary": "00FF"}))
    assert doc["winlog"]["event_data"] == {"param1": "a", "param2": "2", "param3": "", "Binary": "00FF",
                                           "Data": ["a", "2", ""]}
    single = normalise(record(1000, channel="Application", provider="App", event_data={"Data": "only"}))
    assert single["winlog"]["event_data"] == {"param1": "only", "Data": ["only"]}
    assert single["event"]["dataset"] == "system.application"


def test_event_data_value_types_become_strings() -> None:
    doc = normalise(record(5, channel="X", provider="P", event_data={
        "b": True, "f": False, "n": None, "i": 7, "l": ["x", 1], "d": {"#text": "t", "#attributes": {"a": "1"}}}))
    assert doc["winlog"]["event_data"] == {"b": "true", "f": "false", "n": "", "i": "7", "l": ["x", "1"], "d": "t"}


@pytest.mark.parametrize("value", ["<script>alert(1)</script>", "a\x00b\x07c\x1b[31m", "x" * (1 << 20),
                                   "\u202eexe.txt", "' OR 1=1 --"])
def test_hostile_values_kept_unchanged(value: str) -> None:
    doc = normalise(record(event_data=dict(FAILED_LOGON, TargetUserName=value, WorkstationName=value)))
    assert doc["winlog"]["event_data"]["TargetUserName"] == value
    assert doc["user"]["name"] == value
    assert doc["source"]["domain"] == value


def test_defender_1116_1117() -> None:
    data = {"Threat Name": "Trojan:Win32/CoinMiner", "Path": "file:_C:\\Windows\\a.dll; process:_pid:1",
            "Process Name": "C:\\Windows\\System32\\svchost.exe", "Detection User": "NT AUTHORITY\\SYSTEM",
            "Action Name": "Quarantine", "Threat ID": "2147729891", "Category Name": "Trojan"}
    prov = "Microsoft-Windows-Windows Defender"
    chan = "Microsoft-Windows-Windows Defender/Operational"
    d16 = normalise(record(1116, channel=chan, provider=prov, event_data=data, level=3))
    d17 = normalise(record(1117, channel=chan, provider=prov, event_data=data, level=4))
    assert d16["event"]["kind"] == "alert" and d16["event"]["category"] == ["malware"]
    assert d16["event"]["action"] == "malware-detected" and d17["event"]["action"] == "malware-quarantined"
    assert d16["rule"] == {"name": "Trojan:Win32/CoinMiner", "id": "2147729891", "category": "Trojan"}
    assert d16["file"] == {"path": "C:\\Windows\\a.dll", "name": "a.dll", "extension": "dll",
                           "directory": "C:\\Windows"}
    assert d16["process"]["executable"] == "C:\\Windows\\System32\\svchost.exe"
    assert d16["log"]["level"] == "warning" and d17["event"]["outcome"] == "success"
    assert d16["winlog"]["event_data"]["Threat Name"] == "Trojan:Win32/CoinMiner"


def test_sysmon_network_and_file() -> None:
    common: dict[str, Any] = {"channel": "Microsoft-Windows-Sysmon/Operational", "provider": "Microsoft-Windows-Sysmon"}
    net = normalise(record(3, **common, event_data={
        "Image": "C:\\a.exe", "ProcessId": "10", "Protocol": "tcp", "Initiated": "true", "SourceIp": "10.0.0.5",
        "SourcePort": "50000", "DestinationIp": "::ffff:10.0.0.6", "DestinationPort": "445"}))
    assert net["source"] == {"ip": "10.0.0.5", "port": 50000}
    assert net["destination"] == {"ip": "10.0.0.6", "port": 445}
    assert net["network"] == {"transport": "tcp", "direction": "egress"}
    f = normalise(record(11, **common, event_data={"Image": "C:\\a.exe",
                                                   "TargetFilename": "C:\\Users\\Public\\info.hta"}))
    assert f["file"] == {"path": "C:\\Users\\Public\\info.hta", "name": "info.hta", "extension": "hta",
                         "directory": "C:\\Users\\Public"}
    assert f["event"]["category"] == ["file"] and f["event"]["type"] == ["creation"]


def test_to_event_id_is_deterministic_and_not_in_doc() -> None:
    rec = record(event_data=FAILED_LOGON)
    a, b = to_event(normalise(rec), 1), to_event(normalise(copy.deepcopy(rec), "other-source"), 9)
    assert a.id == b.id and len(a.id) == 32
    assert a.dataset == "windows" and a.key == "TAX-PROD" and a.position == 1
    assert "id" not in a.doc["event"]
    changed = to_event(normalise(record(event_data=FAILED_LOGON, time="2020-04-13T16:22:01.1244567Z")), 1)
    assert changed.id != a.id
    # below the millisecond the id does not change: Winlogbeat's JSON keeps milliseconds only
    same = to_event(normalise(record(event_data=FAILED_LOGON, time="2020-04-13T16:22:01.1230000Z")), 1)
    assert same.id == a.id


@pytest.mark.parametrize("time", ["2020-04-13T16:22:01.1234567Z", "2020-04-13T16:22:01Z",
                                  "2020-04-13T16:22:01.12Z", "2020-04-13T16:22:01.123456789+02:00"])
@pytest.mark.parametrize("host", ["TAX-PROD", "a\x1fb", "\u202etsoh", "\udc80raw"])
def test_to_event_id_is_the_id_of_its_six_parts(time: str, host: str) -> None:
    """to_event hashes the parts joined once; the id must stay what event_id gives for the parts."""
    from logwarden.shippers.base import event_id
    from logwarden.shippers.windows.normalise import _FRACTION, id_time

    doc = normalise(record(event_data=FAILED_LOGON, time=time))
    doc["host"]["name"] = host
    w = doc["winlog"]
    m = _FRACTION.match(doc["@timestamp"])
    assert m is not None
    cut = f"{m.group(1)}.{(m.group(2) or '').ljust(3, '0')[:3]}{m.group(3)}"  # the general form of id_time
    assert id_time(doc["@timestamp"]) == cut
    assert to_event(doc, 1).id == event_id(host, w["channel"], w["record_id"], cut, w["provider_name"],
                                           w["event_id"])


@pytest.mark.parametrize("stamp", ["2020-04-13T16:22:01.12a4567Z", "2020-04-13T16:22:01.1234567+", "not a time",
                                   "2020-04-13T16:22:01.1234567Z"])
def test_id_time_of_any_text_is_the_general_form(stamp: str) -> None:
    from logwarden.shippers.windows.normalise import _FRACTION, id_time

    m = _FRACTION.match(stamp)
    general = stamp if m is None else f"{m.group(1)}.{(m.group(2) or '').ljust(3, '0')[:3]}{m.group(3)}"
    assert id_time(stamp) == general


def test_missing_system_is_record_error() -> None:
    with pytest.raises(RecordError):
        normalise({"Event": {"EventData": {}}})
    with pytest.raises(RecordError):
        normalise({"Event": "text"})


def test_powershell_4104_and_classic_800() -> None:
    chan, prov = "Microsoft-Windows-PowerShell/Operational", "Microsoft-Windows-PowerShell"
    d = normalise(record(4104, channel=chan, provider=prov, level=5, event_data={
        "MessageNumber": 1, "MessageTotal": 2, "ScriptBlockText": "IEX (New-Object Net.WebClient)",
        "ScriptBlockId": "ec311c0d", "Path": "C:\\Users\\x\\a.ps1"}))
    assert d["powershell"] == {"file": {"script_block_text": "IEX (New-Object Net.WebClient)",
                                        "script_block_id": "ec311c0d"}, "sequence": 1, "total": 2}
    assert d["file"]["path"] == "C:\\Users\\x\\a.ps1" and d["log"]["level"] == "verbose"
    assert d["winlog"]["event_data"]["ScriptBlockText"] == "IEX (New-Object Net.WebClient)"
    details = "\tSequenceNumber=27\r\n\tHostName=ConsoleHost\r\n\tHostApplication=powershell.exe -nop -w hidden\r\n" \
              "\tEngineVersion=5.1.19041.1\r\n\tRunspaceId=b385ee3b\r\n\tPipelineId=6\r\n\tScriptName=\r\n"
    c = normalise(record(800, channel="Windows PowerShell", provider="PowerShell", level=4,
                         event_data={"Data": {"#text": ["Get-Item x", details, "CommandInvocation(Get-Item)"]}}))
    assert c["process"] == {"title": "ConsoleHost", "command_line": "powershell.exe -nop -w hidden"}
    assert c["powershell"] == {"engine": {"version": "5.1.19041.1"}, "runspace_id": "b385ee3b", "pipeline_id": "6"}
    assert c["event"]["sequence"] == 27 and c["event"]["dataset"] == "windows.powershell"
    assert c["winlog"]["event_data"]["param2"] == details


def test_sysmon_7_image_loaded() -> None:
    d = normalise(record(7, channel="Microsoft-Windows-Sysmon/Operational", provider="Microsoft-Windows-Sysmon",
                         event_data={"Image": "C:\\a.exe", "ImageLoaded": "C:\\Windows\\System32\\vbscript.dll",
                                     "Signed": "true", "Signature": "Microsoft Windows", "SignatureStatus": "Valid",
                                     "Hashes": "SHA256=ABCD,IMPHASH=1234"}))
    assert d["file"]["code_signature"] == {"signed": True, "subject_name": "Microsoft Windows", "status": "Valid"}
    assert d["file"]["hash"] == {"sha256": "abcd"} and d["file"]["pe"] == {"imphash": "1234"}
    assert d["process"]["executable"] == "C:\\a.exe"


@pytest.mark.parametrize("address", ["010.0.0.2", "203.01.113.45", "not-an-ip"])
def test_invalid_ip_address_kept_as_text_and_flagged(address: str) -> None:
    doc = normalise(record(event_data={**FAILED_LOGON, "IpAddress": address}), "x.evtx")
    assert "ip" not in doc["source"]
    assert doc["source"]["address"] == address
    assert "source.ip-invalid" in doc["log"]["flags"]
    assert address not in doc.get("related", {}).get("ip", [])


def test_out_of_range_port_flagged() -> None:
    doc = normalise(record(event_data={**FAILED_LOGON, "IpPort": "70000"}), "x.evtx")
    assert doc["source"]["ip"] == "203.0.113.7" and "port" not in doc["source"]
    assert doc["log"]["flags"] == ["source.port-invalid"]
    ok = normalise(record(event_data={**FAILED_LOGON, "IpAddress": "-", "IpPort": "-"}), "x.evtx")
    assert "flags" not in ok["log"]
