"""Lookup tables for Windows event enrichment, after Elastic's system.security and
windows.sysmon_operational ingest pipelines (category/type/action per event code, logon
types, NTSTATUS failure codes, %%NNNN message tokens)."""

from __future__ import annotations

from typing import Any

# (category, type, action) per Security event code (Elastic system.security "standard" pipeline).
SECURITY: dict[str, tuple[list[str], list[str], str]] = {
    "1100": (["process"], ["end"], "logging-service-shutdown"),
    "1102": (["iam"], ["admin", "change"], "audit-log-cleared"),
    "1104": (["iam"], ["admin"], "logging-full"),
    "4624": (["authentication"], ["start"], "logged-in"),
    "4625": (["authentication"], ["start"], "logon-failed"),
    "4634": (["authentication"], ["end"], "logged-out"),
    "4647": (["authentication"], ["end"], "logged-out"),
    "4648": (["authentication"], ["start"], "logged-in-explicit"),
    "4672": (["iam"], ["admin"], "logged-in-special"),
    "4688": (["process"], ["start"], "created-process"),
    "4689": (["process"], ["end"], "exited-process"),
    "4697": (["iam", "configuration"], ["admin", "change"], "service-installed"),
    "4698": (["iam", "configuration"], ["creation", "admin"], "scheduled-task-created"),
    "4699": (["iam", "configuration"], ["deletion", "admin"], "scheduled-task-deleted"),
    "4719": (["iam", "configuration"], ["admin", "change"], "changed-audit-config"),
    "4720": (["iam"], ["user", "creation"], "added-user-account"),
    "4722": (["iam"], ["user", "change"], "enabled-user-account"),
    "4723": (["iam"], ["user", "change"], "changed-password"),
    "4724": (["iam"], ["user", "change"], "reset-password"),
    "4725": (["iam"], ["user", "deletion"], "disabled-user-account"),
    "4726": (["iam"], ["user", "deletion"], "deleted-user-account"),
    "4727": (["iam"], ["group", "creation"], "added-group-account"),
    "4728": (["iam"], ["group", "change"], "added-member-to-group"),
    "4729": (["iam"], ["group", "change"], "removed-member-from-group"),
    "4731": (["iam"], ["group", "creation"], "added-group-account"),
    "4732": (["iam"], ["group", "change"], "added-member-to-group"),
    "4733": (["iam"], ["group", "change"], "removed-member-from-group"),
    "4738": (["iam"], ["user", "change"], "modified-user-account"),
    "4740": (["iam"], ["user", "change"], "locked-out-user-account"),
    "4756": (["iam"], ["group", "change"], "added-member-to-group"),
    "4767": (["iam"], ["user", "change"], "unlocked-user-account"),
    "4768": (["authentication"], ["start"], "kerberos-authentication-ticket-requested"),
    "4769": (["authentication"], ["start"], "kerberos-service-ticket-requested"),
    "4770": (["authentication"], ["start"], "kerberos-service-ticket-renewed"),
    "4771": (["authentication"], ["start"], "kerberos-preauth-failed"),
    "4776": (["authentication"], ["start"], "credential-validated"),
    "4778": (["authentication", "session"], ["start"], "session-reconnected"),
    "4779": (["authentication", "session"], ["end"], "session-disconnected"),
    "4798": (["iam"], ["user", "info"], "group-membership-enumerated"),
    "4799": (["iam"], ["group", "info"], "user-member-enumerated"),
    "5140": (["network", "file"], ["info", "access"], "network-share-object-accessed"),
    "5145": (["network", "file"], ["info", "access"], "network-share-object-access-checked"),
    # not in Elastic's table: the Windows Filtering Platform connection events, as a firewall's
    "5156": (["network"], ["connection", "allowed"], "network-connection-allowed"),
    "5157": (["network"], ["connection", "denied"], "network-connection-blocked"),
}

# System channel events we enrich (no Elastic pipeline; same vocabulary as above).
SYSTEM: dict[str, tuple[list[str], list[str], str]] = {
    "104": (["iam"], ["admin", "change"], "audit-log-cleared"),
    "7045": (["iam", "configuration"], ["admin", "change"], "service-installed"),
    "7036": (["process"], ["change"], "service-state-changed"),
    "7040": (["configuration"], ["change"], "service-start-type-changed"),
}

# Sysmon (Elastic windows.sysmon_operational pipeline).
SYSMON: dict[str, tuple[list[str], list[str], str]] = {
    "1": (["process"], ["start"], "Process creation"),
    "2": (["file"], ["change"], "A process changed a file creation time"),
    "3": (["network"], ["start", "connection", "protocol"], "Network connection"),
    "4": (["process"], ["change"], "Sysmon service state changed"),
    "5": (["process"], ["end"], "Process terminated"),
    "6": (["driver"], ["start"], "Driver loaded"),
    "7": (["process"], ["change"], "Image loaded"),
    "8": (["process"], ["change"], "CreateRemoteThread"),
    "9": (["process"], ["access"], "RawAccessRead"),
    "10": (["process"], ["access"], "ProcessAccess"),
    "11": (["file"], ["creation"], "FileCreate"),
    "12": (["configuration", "registry"], ["change"], "RegistryEvent (Object create and delete)"),
    "13": (["configuration", "registry"], ["change"], "RegistryEvent (Value Set)"),
    "14": (["configuration", "registry"], ["change"], "RegistryEvent (Key and Value Rename)"),
    "15": (["file"], ["access"], "FileCreateStreamHash"),
    "16": (["configuration"], ["change"], "ServiceConfigurationChange"),
    "17": (["file"], ["creation"], "PipeEvent (Pipe Created)"),
    "18": (["file"], ["access"], "PipeEvent (Pipe Connected)"),
    "19": (["process"], ["info"], "WmiEvent (WmiEventFilter activity detected)"),
    "20": (["process"], ["change"], "WmiEvent (WmiEventConsumer activity detected)"),
    "21": (["process"], ["access"], "WmiEvent (WmiEventConsumerToFilter activity detected)"),
    "22": (["network"], ["connection", "protocol", "info"], "DNSEvent (DNS query)"),
    "23": (["file"], ["deletion"], "FileDelete (File Delete archived)"),
    "25": (["process"], ["change"], "ProcessTampering (Process image change)"),
    "26": (["file"], ["deletion"], "FileDeleteDetected (File Delete logged)"),
}

# Microsoft Defender Antivirus (Microsoft-Windows-Windows Defender/Operational).
DEFENDER: dict[str, tuple[list[str], list[str], str]] = {
    "1006": (["malware"], ["info"], "malware-detected"),
    "1007": (["malware"], ["info"], "malware-action-taken"),
    "1008": (["malware"], ["info"], "malware-action-failed"),
    "1015": (["malware"], ["info"], "suspicious-behavior-detected"),
    "1116": (["malware"], ["info"], "malware-detected"),
    "1117": (["malware"], ["info", "deletion"], "malware-action-taken"),
    "1118": (["malware"], ["info"], "malware-action-failed"),
    "1119": (["malware"], ["info"], "malware-action-failed"),
    "5001": (["configuration"], ["change"], "real-time-protection-disabled"),
}

# Defender 1117 "Action Name" values -> a more precise event.action.
DEFENDER_ACTIONS: dict[str, str] = {
    "quarantine": "malware-quarantined",
    "remove": "malware-removed",
    "clean": "malware-cleaned",
    "allow": "malware-allowed",
    "block": "malware-blocked",
}

LOGON_TYPES: dict[str, str] = {
    "0": "System",
    "2": "Interactive",
    "3": "Network",
    "4": "Batch",
    "5": "Service",
    "7": "Unlock",
    "8": "NetworkCleartext",
    "9": "NewCredentials",
    "10": "RemoteInteractive",
    "11": "CachedInteractive",
    "12": "CachedRemoteInteractive",
    "13": "CachedUnlock",
}

# NTSTATUS codes seen in 4625/4776 Status / SubStatus (text as in Elastic's pipeline).
LOGON_STATUS: dict[str, str] = {
    "0x0": "Status OK.",
    "0xc000005e": "There are currently no logon servers available to service the logon request.",
    "0xc0000064": "User logon with misspelled or bad user account",
    "0xc000006a": "User logon with misspelled or bad password",
    "0xc000006d": "This is either due to a bad username or authentication information",
    "0xc000006e": "Unknown user name or bad password.",
    "0xc000006f": "User logon outside authorized hours",
    "0xc0000070": "User logon from unauthorized workstation",
    "0xc0000071": "User logon with expired password",
    "0xc0000072": "User logon to account disabled by administrator",
    "0xc00000dc": "Indicates the Sam Server was in the wrong state to perform the desired operation.",
    "0xc0000133": "Clocks between DC and other computer too far out of sync",
    "0xc000015b": "The user has not been granted the requested logon type (aka logon right) at this machine",
    "0xc000018c": "The logon request failed because the trust relationship between the primary domain "
    "and the trusted domain failed.",
    "0xc0000192": "An attempt was made to logon, but the Netlogon service was not started.",
    "0xc0000193": "User logon with expired account",
    "0xc0000224": "User is required to change password at next logon",
    "0xc0000225": "Evidently a bug in Windows and not a risk",
    "0xc0000234": "User logon with account locked",
    "0xc00002ee": "Failure Reason: An Error occurred during Logon",
    "0xc0000371": "The local account store does not contain secret material for the specified account",
    "0xc0000413": "Logon Failure: The machine you are logging onto is protected by an authentication "
    "firewall. The specified account is not allowed to authenticate to the machine.",
}

# Common %%NNNN message-table tokens (msobjs.dll), as in Elastic's pipeline.
MESSAGE_TOKENS: dict[str, str] = {
    "%%1832": "Identification",
    "%%1833": "Impersonation",
    "%%1840": "Delegation",
    "%%1841": "Denied by Process Trust Label ACE",
    "%%1842": "Yes",
    "%%1843": "No",
    "%%1844": "System",
    "%%1845": "Not Available",
    "%%1936": "Type 1 is a full token with no privileges removed or groups disabled.",
    "%%1937": "Type 2 is an elevated token with no privileges removed or groups disabled.",
    "%%1938": "Type 3 is a limited token with administrative privileges removed "
    "and administrative groups disabled.",
    "%%2304": "An Error occured during Logon.",
    "%%2305": "The specified user account has expired.",
    "%%2306": "The NetLogon component is not active.",
    "%%2307": "Account locked out.",
    "%%2308": "The user has not been granted the requested logon type at this machine.",
    "%%2309": "The specified account's password has expired.",
    "%%2310": "Account currently disabled.",
    "%%2311": "Account logon time restriction violation.",
    "%%2312": "User not allowed to logon at this computer.",
    "%%2313": "Unknown user name or bad password.",
    "%%2314": "Domain sid inconsistent.",
    "%%2315": "Smartcard logon is required and was not used.",
}

# 4697 ServiceType codes (Elastic pipeline).
SERVICE_TYPES: dict[str, str] = {
    "0x1": "Kernel Driver",
    "0x2": "File System Driver",
    "0x8": "Recognizer Driver",
    "0x10": "Win32 Own Process",
    "0x20": "Win32 Share Process",
    "0x110": "Interactive Own Process",
    "0x120": "Interactive Share Process",
}

LEVELS: dict[str, str] = {
    "0": "information",
    "1": "critical",
    "2": "error",
    "3": "warning",
    "4": "information",
    "5": "verbose",
}

OPCODES: dict[str, str] = {"0": "Info", "1": "Start", "2": "Stop", "3": "DCStart", "4": "DCStop"}

# Standard keyword bits (winmeta.xml), rendered like Winlogbeat.
KEYWORD_BITS: tuple[tuple[int, str], ...] = (
    (0x0001000000000000, "Response Time"),
    (0x0002000000000000, "WDI Context"),
    (0x0004000000000000, "WDI Diag"),
    (0x0008000000000000, "SQM"),
    (0x0010000000000000, "Audit Failure"),
    (0x0020000000000000, "Audit Success"),
    (0x0040000000000000, "Correlation Hint"),
    (0x0080000000000000, "Classic"),
)

SYSMON_PROVIDER = "Microsoft-Windows-Sysmon"
DEFENDER_PROVIDERS = frozenset({"Microsoft-Windows-Windows Defender", "Microsoft Antimalware"})
EMPTY_VALUES: frozenset[Any] = frozenset({"", "-", "{00000000-0000-0000-0000-000000000000}"})

POWERSHELL_PROVIDERS = frozenset({"Microsoft-Windows-PowerShell", "PowerShell"})

# PowerShell (Elastic windows.powershell / powershell_operational pipelines).
POWERSHELL: dict[str, tuple[list[str], list[str], str]] = {
    "400": (["process"], ["start"], "Engine Lifecycle"),
    "403": (["process"], ["end"], "Engine Lifecycle"),
    "600": (["process"], ["info"], "Provider Lifecycle"),
    "800": (["process"], ["info"], "Pipeline Execution Details"),
    "4103": (["process"], ["info"], "Executing Pipeline"),
    "4104": (["process"], ["info"], "Execute a Remote Command"),
    "4105": (["process"], ["start"], "Starting Command"),
    "4106": (["process"], ["end"], "Stopping Command"),
}

# Keys of PowerShell's "Key=Value" detail text (classic param2/param3, 4103 ContextInfo) -> ECS field.
POWERSHELL_DETAILS: dict[str, tuple[str, ...]] = {
    "hostapplication": ("process", "command_line"),
    "engineversion": ("powershell", "engine", "version"),
    "hostversion": ("powershell", "process", "executable_version"),
    "hostname": ("process", "title"),
    "hostid": ("process", "entity_id"),
    "newenginestate": ("powershell", "engine", "new_state"),
    "previousenginestate": ("powershell", "engine", "previous_state"),
    "newproviderstate": ("powershell", "provider", "new_state"),
    "providername": ("powershell", "provider", "name"),
    "runspaceid": ("powershell", "runspace_id"),
    "pipelineid": ("powershell", "pipeline_id"),
    "commandname": ("powershell", "command", "name"),
    "commandtype": ("powershell", "command", "type"),
    "commandpath": ("powershell", "command", "path"),
    "scriptname": ("file", "path"),
}
