"""Windows event XML of our own (no third-party data) for the demo and the incident replay.

Each function takes the host, the time (datetime or an ISO 8601 string), the record id and the
event's fields, and returns one <Event> in the real Windows XML shape (event namespace,
Provider Name/Guid, EventID, TimeCreated SystemTime with 7 fraction digits, EventRecordID,
Channel, Computer, Security UserID, Execution ProcessID/ThreadID). `events()` wraps several in
<Events> like an export. Output parses through this package exactly like a real export.

Field values are XML-escaped, never altered: a value Windows XML cannot carry (e.g. NUL) gives
XML that the parser turns into a dead letter, as a real broken export would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
EVENTLOG_NS = "http://manifests.microsoft.com/win/2004/08/windows/eventlog"
Time = datetime | str
Fields = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    guid: str
    channel: str
    event_source: str | None = None
    pid: int = 4
    tid: int = 100


SECURITY = Provider("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-a5ba-3e3b0328c30d}",
                    "Security", pid=612, tid=2964)
EVENTLOG_SECURITY = Provider("Microsoft-Windows-Eventlog", "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}",
                             "Security", pid=1228, tid=6280)
EVENTLOG_SYSTEM = Provider("Microsoft-Windows-Eventlog", "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}",
                           "System", pid=1228, tid=6280)
SCM = Provider("Service Control Manager", "{555908d1-a6d7-4695-8e1e-26931d2012f4}", "System",
               event_source="Service Control Manager", pid=580, tid=3112)
SYSMON = Provider("Microsoft-Windows-Sysmon", "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
                  "Microsoft-Windows-Sysmon/Operational", pid=2032, tid=3524)
DEFENDER = Provider("Microsoft-Windows-Windows Defender", "{11cd958a-c507-4ef3-b3f2-5fd9dfbd2c78}",
                    "Microsoft-Windows-Windows Defender/Operational", pid=2884, tid=4120)

SYSTEM_SID = "S-1-5-18"
ADMIN_SID = "S-1-5-21-1004336348-1177238915-682003330-500"
AUDIT_SUCCESS = "0x8020000000000000"
AUDIT_FAILURE = "0x8010000000000000"


def system_time(t: Time) -> str:
    """datetime (naive = UTC) or string -> SystemTime as Windows writes it (7 fraction digits, Z)."""
    if isinstance(t, str):
        return t
    if t.tzinfo is not None:
        t = t.astimezone(UTC).replace(tzinfo=None)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _data(fields: Fields) -> str:
    return "".join(f"<Data Name={quoteattr(k)}>{escape(v)}</Data>" for k, v in fields.items())


def event(provider: Provider, event_id: int, host: str, time: Time, record_id: int, *,
          event_data: Fields | None = None, user_data: tuple[str, str, Fields] | None = None,
          level: int = 0, task: int = 0, opcode: int = 0, keywords: str = AUDIT_SUCCESS,
          qualifiers: int | None = None, version: int = 0, user_sid: str | None = None) -> str:
    """One <Event> element (the general form; the functions below fill it per event id)."""
    src = f" EventSourceName={quoteattr(provider.event_source)}" if provider.event_source else ""
    qual = f" Qualifiers={quoteattr(str(qualifiers))}" if qualifiers is not None else ""
    security = f"<Security UserID={quoteattr(user_sid)}/>" if user_sid else "<Security/>"
    if user_data is not None:
        name, ns, fields = user_data
        body = (f"<UserData><{name} xmlns={quoteattr(ns)}>"
                + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items()) + f"</{name}></UserData>")
    else:
        body = f"<EventData>{_data(event_data or {})}</EventData>"
    return (
        f'<Event xmlns="{EVENT_NS}"><System>'
        f"<Provider Name={quoteattr(provider.name)} Guid={quoteattr(provider.guid)}{src}/>"
        f"<EventID{qual}>{event_id}</EventID><Version>{version}</Version><Level>{level}</Level>"
        f"<Task>{task}</Task><Opcode>{opcode}</Opcode><Keywords>{keywords}</Keywords>"
        f"<TimeCreated SystemTime={quoteattr(system_time(time))}/>"
        f"<EventRecordID>{record_id}</EventRecordID><Correlation/>"
        f'<Execution ProcessID="{provider.pid}" ThreadID="{provider.tid}"/>'
        f"<Channel>{escape(provider.channel)}</Channel><Computer>{escape(host)}</Computer>{security}"
        f"</System>{body}</Event>"
    )


def events(*xml: str) -> str:
    """Several events as one export document (<Events> wrapper)."""
    return '<?xml version="1.0" encoding="utf-8"?>\n<Events>\n' + "\n".join(xml) + "\n</Events>\n"


def _merge(base: dict[str, str], extra: Fields | None) -> dict[str, str]:
    if extra:
        base.update(extra)
    return base


def _subject(user: str, domain: str, sid: str, logon_id: str) -> dict[str, str]:
    return {"SubjectUserSid": sid, "SubjectUserName": user, "SubjectDomainName": domain,
            "SubjectLogonId": logon_id}


def _machine(host: str) -> dict[str, str]:
    return _subject(f"{host}$", "WORKGROUP", SYSTEM_SID, "0x3e7")


def security_4625(host: str, time: Time, record_id: int, *, target_user: str, ip: str, port: str = "0",
                  target_domain: str = "", logon_type: int = 10, workstation: str = "-",
                  status: str = "0xc000006d", sub_status: str = "0xc000006a",
                  failure_reason: str = "%%2313", extra: Fields | None = None) -> str:
    """An account failed to log on (RDP brute force: LogonType 10, bad password)."""
    fields = _machine(host) | {
        "TargetUserSid": "S-1-0-0", "TargetUserName": target_user, "TargetDomainName": target_domain,
        "Status": status, "FailureReason": failure_reason, "SubStatus": sub_status,
        "LogonType": str(logon_type), "LogonProcessName": "User32 ", "AuthenticationPackageName": "Negotiate",
        "WorkstationName": workstation, "TransmittedServices": "-", "LmPackageName": "-", "KeyLength": "0",
        "ProcessId": "0x1f4", "ProcessName": "C:\\Windows\\System32\\winlogon.exe",
        "IpAddress": ip, "IpPort": port,
    }
    return event(SECURITY, 4625, host, time, record_id, event_data=_merge(fields, extra), task=12544,
                 keywords=AUDIT_FAILURE)


def security_4624(host: str, time: Time, record_id: int, *, target_user: str, ip: str, port: str = "0",
                  target_domain: str = "", target_sid: str = "S-1-5-21-1004336348-1177238915-682003330-500",
                  logon_type: int = 10, logon_id: str = "0x5a3c1f", workstation: str = "-",
                  extra: Fields | None = None) -> str:
    """An account was successfully logged on (LogonType 10 = RemoteInteractive / RDP)."""
    process = "C:\\Windows\\System32\\winlogon.exe" if logon_type in (2, 10, 11) else "-"
    fields = _machine(host) | {
        "TargetUserSid": target_sid, "TargetUserName": target_user, "TargetDomainName": target_domain or host,
        "TargetLogonId": logon_id, "LogonType": str(logon_type),
        "LogonProcessName": "User32 " if logon_type in (2, 10) else "NtLmSsp ",
        "AuthenticationPackageName": "Negotiate" if logon_type in (2, 10) else "NTLM",
        "WorkstationName": workstation, "LogonGuid": "{00000000-0000-0000-0000-000000000000}",
        "TransmittedServices": "-", "LmPackageName": "-", "KeyLength": "0",
        "ProcessId": "0x1f4" if process != "-" else "0x0", "ProcessName": process,
        "IpAddress": ip, "IpPort": port,
    }
    return event(SECURITY, 4624, host, time, record_id, event_data=_merge(fields, extra), task=12544)


def security_4634(host: str, time: Time, record_id: int, *, target_user: str, target_domain: str = "",
                  target_sid: str = "S-1-5-21-1004336348-1177238915-682003330-500", logon_type: int = 10,
                  logon_id: str = "0x5a3c1f", extra: Fields | None = None) -> str:
    """An account was logged off."""
    fields = {"TargetUserSid": target_sid, "TargetUserName": target_user,
              "TargetDomainName": target_domain or host, "TargetLogonId": logon_id, "LogonType": str(logon_type)}
    return event(SECURITY, 4634, host, time, record_id, event_data=_merge(fields, extra), task=12545)


def security_4648(host: str, time: Time, record_id: int, *, subject_user: str, target_user: str,
                  target_server: str, ip: str = "-", port: str = "-", subject_domain: str = "",
                  target_domain: str = "", process_name: str = "C:\\Windows\\System32\\svchost.exe",
                  extra: Fields | None = None) -> str:
    """A logon was attempted using explicit credentials (lateral movement / spraying)."""
    fields = _subject(subject_user, subject_domain or host, "S-1-5-21-1004336348-1177238915-682003330-500",
                      "0x5a3c1f") | {
        "LogonGuid": "{00000000-0000-0000-0000-000000000000}", "TargetUserName": target_user,
        "TargetDomainName": target_domain or target_server, "TargetLogonGuid": "{00000000-0000-0000-0000-000000000000}",
        "TargetServerName": target_server, "TargetInfo": target_server, "ProcessId": "0x4",
        "ProcessName": process_name, "IpAddress": ip, "IpPort": port,
    }
    return event(SECURITY, 4648, host, time, record_id, event_data=_merge(fields, extra), task=12544)


def security_4672(host: str, time: Time, record_id: int, *, subject_user: str, subject_domain: str = "",
                  subject_sid: str = "S-1-5-21-1004336348-1177238915-682003330-500", logon_id: str = "0x5a3c1f",
                  privileges: str = "SeSecurityPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeDebugPrivilege",
                  extra: Fields | None = None) -> str:
    """Special privileges assigned to new logon."""
    fields = _subject(subject_user, subject_domain or host, subject_sid, logon_id) | {"PrivilegeList": privileges}
    return event(SECURITY, 4672, host, time, record_id, event_data=_merge(fields, extra), task=12548)


def security_4688(host: str, time: Time, record_id: int, *, new_process_name: str, command_line: str,
                  parent_process_name: str, subject_user: str = "Administrator", subject_domain: str = "",
                  new_process_id: str = "0x1a2c", process_id: str = "0x10f4", extra: Fields | None = None) -> str:
    """A new process has been created (with command line auditing on)."""
    fields = _subject(subject_user, subject_domain or host, "S-1-5-21-1004336348-1177238915-682003330-500",
                      "0x5a3c1f") | {
        "NewProcessId": new_process_id, "NewProcessName": new_process_name, "TokenElevationType": "%%1936",
        "ProcessId": process_id, "CommandLine": command_line, "TargetUserSid": "S-1-0-0",
        "TargetUserName": "-", "TargetDomainName": "-", "TargetLogonId": "0x0",
        "ParentProcessName": parent_process_name, "MandatoryLabel": "S-1-16-12288",
    }
    return event(SECURITY, 4688, host, time, record_id, event_data=_merge(fields, extra), task=13312, version=2)


def security_4697(host: str, time: Time, record_id: int, *, service_name: str, service_file_name: str,
                  service_type: str = "0x10", start_type: str = "2", account: str = "LocalSystem",
                  subject_user: str = "Administrator", subject_domain: str = "", extra: Fields | None = None) -> str:
    """A service was installed in the system (Security log)."""
    fields = _subject(subject_user, subject_domain or host, "S-1-5-21-1004336348-1177238915-682003330-500",
                      "0x5a3c1f") | {
        "ServiceName": service_name, "ServiceFileName": service_file_name, "ServiceType": service_type,
        "ServiceStartType": start_type, "ServiceAccount": account,
    }
    return event(SECURITY, 4697, host, time, record_id, event_data=_merge(fields, extra), task=12289)


def security_4720(host: str, time: Time, record_id: int, *, target_user: str, target_domain: str = "",
                  target_sid: str = "S-1-5-21-1004336348-1177238915-682003330-1010",
                  subject_user: str = "Administrator", extra: Fields | None = None) -> str:
    """A user account was created."""
    fields = {"TargetUserName": target_user, "TargetDomainName": target_domain or host, "TargetSid": target_sid} | \
        _subject(subject_user, host, "S-1-5-21-1004336348-1177238915-682003330-500", "0x5a3c1f") | {
            "PrivilegeList": "-", "SamAccountName": target_user, "DisplayName": "%%1793",
            "UserPrincipalName": "-", "UserAccountControl": "\n\t\t%%2080\n\t\t%%2082\n\t\t%%2084",
        }
    return event(SECURITY, 4720, host, time, record_id, event_data=_merge(fields, extra), task=13824)


def security_4732(host: str, time: Time, record_id: int, *, member_sid: str, group_name: str = "Administrators",
                  group_domain: str = "Builtin", group_sid: str = "S-1-5-32-544", member_name: str = "-",
                  subject_user: str = "Administrator", extra: Fields | None = None) -> str:
    """A member was added to a security-enabled local group."""
    fields = {"MemberName": member_name, "MemberSid": member_sid, "TargetUserName": group_name,
              "TargetDomainName": group_domain, "TargetSid": group_sid} | \
        _subject(subject_user, host, "S-1-5-21-1004336348-1177238915-682003330-500", "0x5a3c1f") | \
        {"PrivilegeList": "-"}
    return event(SECURITY, 4732, host, time, record_id, event_data=_merge(fields, extra), task=13826)


def security_1102(host: str, time: Time, record_id: int, *, subject_user: str, subject_domain: str = "",
                  subject_sid: str = "S-1-5-21-1004336348-1177238915-682003330-500",
                  logon_id: str = "0x5a3c1f") -> str:
    """The audit log was cleared (UserData/LogFileCleared, not EventData)."""
    fields = {"SubjectUserSid": subject_sid, "SubjectUserName": subject_user,
              "SubjectDomainName": subject_domain or host, "SubjectLogonId": logon_id}
    return event(EVENTLOG_SECURITY, 1102, host, time, record_id, user_data=("LogFileCleared", EVENTLOG_NS, fields),
                 level=4, task=104, keywords="0x4020000000000000")


def system_104(host: str, time: Time, record_id: int, *, subject_user: str, subject_domain: str = "",
               channel: str = "System", backup_path: str = "") -> str:
    """The System log (or `channel`) was cleared (UserData/LogFileCleared)."""
    fields = {"SubjectUserName": subject_user, "SubjectDomainName": subject_domain or host, "Channel": channel,
              "BackupPath": backup_path}
    return event(EVENTLOG_SYSTEM, 104, host, time, record_id, user_data=("LogFileCleared", EVENTLOG_NS, fields),
                 level=4, task=104, keywords="0x8000000000000000", user_sid=ADMIN_SID)


def system_7045(host: str, time: Time, record_id: int, *, service_name: str, image_path: str,
                service_type: str = "user mode service", start_type: str = "auto start",
                account_name: str = "LocalSystem", extra: Fields | None = None) -> str:
    """A service was installed in the system (System log, Service Control Manager)."""
    fields = {"ServiceName": service_name, "ImagePath": image_path, "ServiceType": service_type,
              "StartType": start_type, "AccountName": account_name}
    return event(SCM, 7045, host, time, record_id, event_data=_merge(fields, extra), level=4,
                 keywords="0x8080000000000000", qualifiers=16384, user_sid=ADMIN_SID)


def _guid(n: int) -> str:
    return f"{{6c5e3b2a-{n % 0x10000:04x}-5e95-0000-0010{n % 0x100000000:08x}}}"


def sysmon_1(host: str, time: Time, record_id: int, *, image: str, command_line: str, parent_image: str,
             user: str, process_id: int = 6744, parent_process_id: int = 4312, parent_command_line: str = "",
             current_directory: str = "C:\\Windows\\system32\\",
             hashes: str = "MD5=00000000000000000000000000000001,SHA256=000000000000000000000000000000000000000000"
             "0000000000000000000001,IMPHASH=00000000000000000000000000000002",
             original_file_name: str = "", integrity_level: str = "High", extra: Fields | None = None) -> str:
    """Sysmon process creation."""
    utc = system_time(time)
    fields = {
        "RuleName": "-", "UtcTime": f"{utc[:10]} {utc[11:23]}", "ProcessGuid": _guid(process_id),
        "ProcessId": str(process_id), "Image": image, "FileVersion": "-", "Description": "-", "Product": "-",
        "Company": "-", "OriginalFileName": original_file_name or image.rsplit("\\", 1)[-1],
        "CommandLine": command_line, "CurrentDirectory": current_directory, "User": user,
        "LogonGuid": "{6c5e3b2a-0000-5e95-0000-0020e3f15a00}", "LogonId": "0x5af1e3", "TerminalSessionId": "2",
        "IntegrityLevel": integrity_level, "Hashes": hashes, "ParentProcessGuid": _guid(parent_process_id),
        "ParentProcessId": str(parent_process_id), "ParentImage": parent_image,
        "ParentCommandLine": parent_command_line or parent_image,
    }
    return event(SYSMON, 1, host, time, record_id, event_data=_merge(fields, extra), level=4, task=1, version=5,
                 keywords="0x8000000000000000", user_sid=SYSTEM_SID)


def sysmon_3(host: str, time: Time, record_id: int, *, image: str, user: str, source_ip: str, source_port: int,
             destination_ip: str, destination_port: int, protocol: str = "tcp", initiated: bool = True,
             process_id: int = 6744, destination_hostname: str = "", extra: Fields | None = None) -> str:
    """Sysmon network connection."""
    utc = system_time(time)
    fields = {
        "RuleName": "-", "UtcTime": f"{utc[:10]} {utc[11:23]}", "ProcessGuid": _guid(process_id),
        "ProcessId": str(process_id), "Image": image, "User": user, "Protocol": protocol,
        "Initiated": "true" if initiated else "false", "SourceIsIpv6": "true" if ":" in source_ip else "false",
        "SourceIp": source_ip, "SourceHostname": "-", "SourcePort": str(source_port), "SourcePortName": "-",
        "DestinationIsIpv6": "true" if ":" in destination_ip else "false", "DestinationIp": destination_ip,
        "DestinationHostname": destination_hostname or "-", "DestinationPort": str(destination_port),
        "DestinationPortName": "-",
    }
    return event(SYSMON, 3, host, time, record_id, event_data=_merge(fields, extra), level=4, task=3, version=5,
                 keywords="0x8000000000000000", user_sid=SYSTEM_SID)


def sysmon_11(host: str, time: Time, record_id: int, *, image: str, target_filename: str, process_id: int = 6744,
              user: str = "", extra: Fields | None = None) -> str:
    """Sysmon file created (e.g. a ransom note)."""
    utc = system_time(time)
    fields = {"RuleName": "-", "UtcTime": f"{utc[:10]} {utc[11:23]}", "ProcessGuid": _guid(process_id),
              "ProcessId": str(process_id), "Image": image, "TargetFilename": target_filename,
              "CreationUtcTime": f"{utc[:10]} {utc[11:23]}"}
    if user:
        fields["User"] = user
    return event(SYSMON, 11, host, time, record_id, event_data=_merge(fields, extra), level=4, task=11, version=2,
                 keywords="0x8000000000000000", user_sid=SYSTEM_SID)


def _defender(code: int, host: str, time: Time, record_id: int, threat_name: str, path: str, process_name: str,
              detection_user: str, action_name: str, severity: str, category: str, threat_id: str,
              extra: Fields | None) -> str:
    fields = {
        "Product Name": "Microsoft Defender Antivirus", "Product Version": "4.18.2001.10",
        "Detection ID": "{6A5B1C2D-0000-4000-8000-00000000" + f"{record_id % 0x10000:04X}" + "}",
        "Detection Time": system_time(time)[:23] + "Z", "Threat ID": threat_id, "Threat Name": threat_name,
        "Severity ID": "5", "Severity Name": severity, "Category ID": "34", "Category Name": category,
        "FWLink": "https://go.microsoft.com/fwlink/?linkid=37020&name=" + threat_name,
        "Status Code": "1" if code == 1116 else "3", "Source ID": "3", "Source Name": "Real-Time Protection",
        "Process Name": process_name, "Detection User": detection_user, "Path": path,
        "Origin ID": "1", "Origin Name": "Local machine", "Execution ID": "1", "Execution Name": "Suspended",
        "Type ID": "0", "Type Name": "Concrete", "Pre Execution Status": "0",
        "Action ID": "9" if code == 1116 else "2", "Action Name": "Not Applicable" if code == 1116 else action_name,
        "Error Code": "0x00000000", "Error Description": "The operation completed successfully. ",
        "Post Clean Status": "0", "Additional Actions ID": "0",
        "Additional Actions String": "No additional actions required",
        "Remediation User": "" if code == 1116 else "NT AUTHORITY\\SYSTEM",
        "Security intelligence Version": "AV: 1.311.0.0, AS: 1.311.0.0, NIS: 1.311.0.0",
        "Engine Version": "AM: 1.1.16800.2, NIS: 1.1.16800.2",
    }
    return event(DEFENDER, code, host, time, record_id, event_data=_merge(fields, extra),
                 level=3 if code == 1116 else 4, keywords="0x8000000000000000", user_sid=SYSTEM_SID)


def defender_1116(host: str, time: Time, record_id: int, *, threat_name: str, path: str, process_name: str,
                  detection_user: str, severity: str = "Severe", category: str = "Trojan",
                  threat_id: str = "2147729891", extra: Fields | None = None) -> str:
    """Defender detected malware."""
    return _defender(1116, host, time, record_id, threat_name, path, process_name, detection_user, "",
                     severity, category, threat_id, extra)


def defender_1117(host: str, time: Time, record_id: int, *, threat_name: str, path: str, process_name: str,
                  detection_user: str, action_name: str = "Quarantine", severity: str = "Severe",
                  category: str = "Trojan", threat_id: str = "2147729891", extra: Fields | None = None) -> str:
    """Defender took action (quarantine, remove, ...) against malware."""
    return _defender(1117, host, time, record_id, threat_name, path, process_name, detection_user, action_name,
                     severity, category, threat_id, extra)
