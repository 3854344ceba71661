"""ECS enrichment of a normalised Windows document, like Elastic's system.security and
windows.sysmon_operational ingest pipelines (event.category/type/action/outcome, source.*,
user.*, winlog.logon.*, process.*, file.*, service.*), done in Python (decision 1).

winlog.event_data is never modified: Sigma's ecs_windows pipeline reads it as well."""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from logwarden.shippers.textlog import flag_ip, flag_port, transport
from logwarden.shippers.windows.record import to_int
from logwarden.shippers.windows.tables import (
    DEFENDER,
    DEFENDER_ACTIONS,
    DEFENDER_PROVIDERS,
    EMPTY_VALUES,
    LOGON_STATUS,
    LOGON_TYPES,
    MESSAGE_TOKENS,
    POWERSHELL,
    POWERSHELL_DETAILS,
    POWERSHELL_PROVIDERS,
    SECURITY,
    SERVICE_TYPES,
    SYSMON,
    SYSMON_PROVIDER,
    SYSTEM,
)

Doc = dict[str, Any]
NULL_SID = "S-1-0-0"

# Logon-type events: user.* is the target account (the one logging on), as in Elastic.
TARGET_IS_USER = frozenset({"4624", "4625", "4627", "4634", "4647", "4768", "4769", "4771", "4776", "4778", "4779"})
# Account management: user.* is the subject (who did it), user.target.* the account changed.
TARGET_IS_ACCOUNT = frozenset({"4720", "4722", "4723", "4724", "4725", "4726", "4738", "4740", "4767", "4798"})
# Classic "Windows PowerShell" log: which unnamed Data holds the Key=Value engine details.
CLASSIC_DETAILS = {"400": "param3", "403": "param3", "600": "param3", "800": "param2"}
GROUP_MEMBERSHIP = frozenset({"4728", "4729", "4732", "4733", "4756", "4757"})
# Windows Filtering Platform connection events; Direction "%%14592" is inbound, "%%14593" outbound
FILTERING_PLATFORM = frozenset({"5156", "5157"})
INBOUND = frozenset({"%%14592", "Inbound"})


def clean(data: dict[str, Any] | None) -> dict[str, str]:
    """event_data without empty placeholders ("-", "", null GUID) and non-string values."""
    if not data:
        return {}
    return {k: v for k, v in data.items() if type(v) is str and v not in EMPTY_VALUES}


def value(data: dict[str, Any], key: str) -> str | None:
    """A field's string value, or None when missing or an empty placeholder ("-", "")."""
    v = data.get(key)
    if v is None or type(v) is not str or v in EMPTY_VALUES:
        return None
    return v


@functools.lru_cache(maxsize=8192)
def _ip(raw: str) -> str | None:
    s = raw.strip()
    if s.startswith("[") and s.endswith("]"):
        s = s[1:-1]
    s = s.split("%", 1)[0]
    try:
        addr = ipaddress.ip_address(s)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def ip(raw: str | None) -> str | None:
    """A valid IP address for source.ip (IPv4-mapped IPv6 unwrapped, zone ids dropped), else None."""
    return None if raw is None else _ip(raw)


def port(raw: str | None) -> int | None:
    n = to_int(raw)
    return n if n is not None and 0 < n < 65536 else None


def _sub(doc: Doc, *keys: str) -> Doc:
    node = doc
    for key in keys:
        nxt = node.get(key)
        if nxt is None:
            nxt = node[key] = {}
        node = nxt
    return node


def _related(doc: Doc, kind: str, item: str | None) -> None:
    if item:
        items = _sub(doc, "related").setdefault(kind, [])
        if item not in items:
            items.append(item)


def _user(doc: Doc, name: str | None, domain: str | None, sid: str | None, *path: str) -> None:
    if not name and (not sid or sid == NULL_SID):
        return
    node = _sub(doc, *path)
    if name:
        node["name"] = name
        _related(doc, "user", name)
    if domain:
        node["domain"] = domain
    if sid and sid != NULL_SID:
        node["id"] = sid


def basename(path: str) -> str:
    """Windows (or POSIX) path -> last component; faster than ntpath.basename on the hot path."""
    cut = max(path.rfind("\\"), path.rfind("/"), 1 if path[1:2] == ":" else -1)
    return path[cut + 1:]


def dirname(path: str) -> str:
    cut = max(path.rfind("\\"), path.rfind("/"))
    if cut < 0:
        return path[:2] if path[1:2] == ":" else ""
    head = path[:cut]
    return head + "\\" if len(head) == 2 and head[1] == ":" else head


def _split_user(raw: str | None) -> tuple[str | None, str | None]:
    """"DOMAIN\\name" -> (name, domain)."""
    if not raw:
        return None, None
    domain, sep, name = raw.rpartition("\\")
    return (name, domain or None) if sep else (raw, None)


def set_file(doc: Doc, path: str | None, key: str = "file") -> None:
    if not path:
        return
    node = _sub(doc, key)
    node["path"] = path
    name = basename(path)
    if name:
        node["name"] = name
        stem, dot, ext = name.rpartition(".")
        if dot and stem.strip(".") and ext:
            node["extension"] = ext
    directory = dirname(path)
    if directory and directory != path:
        node["directory"] = directory


def set_process(doc: Doc, executable: str | None, pid: Any = None, *path: str) -> None:
    node = _sub(doc, *(path or ("process",)))
    if executable:
        node["executable"] = executable
        name = basename(executable)
        if name:
            node["name"] = name
    n = to_int(pid) if pid is not None and pid not in EMPTY_VALUES else None
    if n is not None:
        node["pid"] = n
    if not node:
        _prune(doc, *(path or ("process",)))


def _prune(doc: Doc, *path: str) -> None:
    parents = [doc]
    for key in path[:-1]:
        parents.append(parents[-1][key])
    for depth in range(len(path) - 1, -1, -1):
        parent, key = parents[depth], path[depth]
        if parent.get(key):
            return
        parent.pop(key, None)


def _categorise(doc: Doc, table: dict[str, tuple[list[str], list[str], str]], code: str) -> bool:
    entry = table.get(code)
    if entry is None:
        return False
    event = doc["event"]
    event["category"] = list(entry[0])
    event["type"] = list(entry[1])
    event["action"] = entry[2]
    return True


def enrich(doc: Doc, winlog: Doc, keywords: list[str]) -> None:
    code = winlog["event_id"]
    channel = winlog["channel"]
    provider = winlog["provider_name"]
    # event_data is cleaned only for the sources enriched below (the others keep it as it is)
    if channel == "Security":
        _categorise(doc, SECURITY, code)
        if "Audit Success" in keywords:
            doc["event"]["outcome"] = "success"
        elif "Audit Failure" in keywords:
            doc["event"]["outcome"] = "failure"
        security(doc, winlog, code, clean(winlog.get("event_data")))
    elif provider == SYSMON_PROVIDER:
        _categorise(doc, SYSMON, code)
        sysmon(doc, code, clean(winlog.get("event_data")))
    elif provider in DEFENDER_PROVIDERS:
        defender(doc, code, clean(winlog.get("event_data")))
    elif provider in POWERSHELL_PROVIDERS:
        _categorise(doc, POWERSHELL, code)
        powershell(doc, code, clean(winlog.get("event_data")))
    elif channel == "System":
        _categorise(doc, SYSTEM, code)
        system(doc, winlog, code, clean(winlog.get("event_data")))


def _logon(doc: Doc, winlog: Doc, code: str, data: dict[str, Any]) -> None:
    logon: Doc = {}
    ltype = data.get("LogonType")
    if ltype is not None:
        name = LOGON_TYPES.get(ltype.strip())
        if name:
            logon["type"] = name
    # 4688's TargetLogonId is the new process's other logon (0x0 mostly): its session is the subject's
    lid = data.get("SubjectLogonId") if code == "4688" else data.get("TargetLogonId") or data.get("SubjectLogonId")
    if lid:
        logon["id"] = lid
    if code in ("4625", "4771", "4776"):
        failure: Doc = {}
        reason = data.get("FailureReason")
        if reason:
            failure["reason"] = MESSAGE_TOKENS.get(reason.strip(), reason)
        for field, key in (("Status", "status"), ("SubStatus", "sub_status")):
            raw = data.get(field)
            if raw:
                failure[key] = LOGON_STATUS.get(raw.strip().lower(), raw)
        if failure:
            logon["failure"] = failure
    if logon:
        winlog["logon"] = logon


def _flag(doc: Doc, name: str) -> None:
    flags = _sub(doc, "log").setdefault("flags", [])
    if name not in flags:
        flags.append(name)


def _source(doc: Doc, data: dict[str, Any]) -> None:
    raw = data.get("IpAddress")
    addr = ip(raw)
    workstation = data.get("WorkstationName") or data.get("Workstation")
    given = raw is not None and raw.strip() not in ("", "-")
    if addr is None and workstation is None and not given:
        return
    src = _sub(doc, "source")
    if addr:
        src["ip"] = addr
        _related(doc, "ip", addr)
        raw_port = data.get("IpPort")
        p = port(raw_port)
        if p is not None:
            src["port"] = p
        elif raw_port is not None and raw_port.strip() not in ("", "-", "0"):
            _flag(doc, "source.port-invalid")  # 0 is what Windows writes for "no port"
    elif given and raw is not None:  # 010.0.0.2, not-an-ip: kept as text, never in source.ip
        src["address"] = raw.strip()
        _flag(doc, "source.ip-invalid")
    if workstation:
        src["domain"] = workstation


def security(doc: Doc, winlog: Doc, code: str, data: dict[str, Any]) -> None:
    subject = (data.get("SubjectUserName"), data.get("SubjectDomainName"), data.get("SubjectUserSid"))
    target = (data.get("TargetUserName"), data.get("TargetDomainName"),
              data.get("TargetUserSid") or data.get("TargetSid"))
    if code in TARGET_IS_USER:
        _user(doc, *(target if target[0] or target[2] else subject), "user")
        if subject[0] and subject[0] != target[0]:
            _related(doc, "user", subject[0])
    elif code == "4648":
        _user(doc, *subject, "user")
        _user(doc, *target, "user", "effective")
    elif code in TARGET_IS_ACCOUNT:
        _user(doc, *subject, "user")
        _user(doc, *target, "user", "target")
    elif code in GROUP_MEMBERSHIP:
        _user(doc, *subject, "user")
        group = {k: v for k, v in (("name", target[0]), ("domain", target[1]), ("id", target[2])) if v}
        if group:
            doc["group"] = group
        member_sid = data.get("MemberSid")
        member = data.get("MemberName")
        _user(doc, member, None, member_sid, "user", "target")
    elif code == "1102":
        ud = winlog.get("user_data") or {}
        _user(doc, value(ud, "SubjectUserName"), value(ud, "SubjectDomainName"), value(ud, "SubjectUserSid"),
              "user")
    else:
        _user(doc, *subject, "user")
        if target[0]:
            _related(doc, "user", target[0])
    _logon(doc, winlog, code, data)
    _source(doc, data)
    if code == "4688":
        set_process(doc, data.get("NewProcessName"), data.get("NewProcessId"))
        cmd = data.get("CommandLine")
        if cmd:
            _sub(doc, "process")["command_line"] = cmd  # also when NewProcessName is missing
        set_process(doc, data.get("ParentProcessName"), data.get("ProcessId"), "process", "parent")
    elif "ProcessName" in data or "ProcessId" in data:
        set_process(doc, data.get("ProcessName"), data.get("ProcessId"))
    if code in FILTERING_PLATFORM:
        _filtering_platform(doc, data)
    if code == "4697":
        _service(doc, data.get("ServiceName"), data.get("ServiceType"))
        account = data.get("AccountName")  # Sigma's ecs_windows maps AccountName to user.name
        if account:
            _user(doc, account, None, None, "user")


def _endpoint(doc: Doc, side: str, raw_ip: str | None, raw_port: str | None) -> None:
    """<side>.ip/.port from Windows text, checked as the firewall sources check theirs: an address
    that is not one (leading zeros, garbage) stays text in <side>.address, a port outside
    0-65535 is left out, and either flags the document (log.flags); IPv4-mapped IPv6 is
    unwrapped as for logons. "-" and "" mean no value."""
    addr = ip(raw_ip)
    if addr:
        _sub(doc, side)["ip"] = addr
        _related(doc, "ip", addr)
    elif raw_ip is not None and raw_ip.strip() not in ("", "-"):
        _sub(doc, side)["address"] = raw_ip.strip()
        _flag(doc, flag_ip(side))
    if raw_port is None or raw_port.strip() in ("", "-"):
        return
    n = to_int(raw_port)
    if n is not None and 0 <= n <= 65535:
        _sub(doc, side)["port"] = n
    else:
        _flag(doc, flag_port(side))


def _filtering_platform(doc: Doc, data: dict[str, Any]) -> None:
    """5156/5157 (Windows Filtering Platform permitted/blocked a connection): Windows names the
    local end Source and the remote end Destination whatever the direction; ECS source is the
    initiator, so an inbound connection swaps them. Addresses and ports as `_endpoint` checks them."""
    inbound = (data.get("Direction") or "").strip() in INBOUND
    local = (data.get("SourceAddress"), data.get("SourcePort"))
    remote = (data.get("DestAddress"), data.get("DestPort"))
    initiator, responder = (remote, local) if inbound else (local, remote)
    for side, (addr, side_port) in (("source", initiator), ("destination", responder)):
        _endpoint(doc, side, addr, side_port)
    transport(doc, data.get("Protocol"))
    if data.get("Direction"):
        _sub(doc, "network")["direction"] = "ingress" if inbound else "egress"
    set_process(doc, data.get("Application"), data.get("ProcessID") or data.get("ProcessId"))


def _service(doc: Doc, name: str | None, stype: str | None) -> None:
    if name:
        _sub(doc, "service")["name"] = name
    if stype:
        _sub(doc, "service")["type"] = SERVICE_TYPES.get(stype.strip().lower(), stype)


def system(doc: Doc, winlog: Doc, code: str, data: dict[str, Any]) -> None:
    provider = winlog["provider_name"]
    if code == "104" and provider == "Microsoft-Windows-Eventlog":
        ud = winlog.get("user_data") or {}
        _user(doc, value(ud, "SubjectUserName"), value(ud, "SubjectDomainName"), value(ud, "SubjectUserSid"),
              "user")
    elif code == "104":  # another provider's 104 is not a log clear
        _drop_categorisation(doc)
    elif code == "7045":
        if provider != "Service Control Manager":
            _drop_categorisation(doc)
            return
        _service(doc, data.get("ServiceName"), data.get("ServiceType"))


def _drop_categorisation(doc: Doc) -> None:
    for key in ("category", "type", "action"):
        doc["event"].pop(key, None)


def sysmon(doc: Doc, code: str, data: dict[str, Any]) -> None:
    rule = data.get("RuleName")
    if rule:
        doc["rule"] = {"name": rule}
    image = data.get("Image") or data.get("SourceImage")
    pid = data.get("ProcessId", data.get("SourceProcessId"))
    if image or pid is not None:
        set_process(doc, image, pid)
    for field, key in (("ProcessGuid", "entity_id"), ("SourceProcessGuid", "entity_id"),
                       ("CommandLine", "command_line"), ("CurrentDirectory", "working_directory")):
        v = data.get(field)
        if v:  # also when Image and ProcessId are missing: what is there is normalised
            _sub(doc, "process")[key] = v
    tid = to_int(data.get("SourceThreadId"))
    if tid is not None:
        _sub(doc, "process")["thread"] = {"id": tid}
    if data.get("ParentImage") or data.get("ParentProcessId"):
        set_process(doc, data.get("ParentImage"), data.get("ParentProcessId"), "process", "parent")
    for field, key in (("ParentProcessGuid", "entity_id"), ("ParentCommandLine", "command_line")):
        v = data.get(field)
        if v:
            _sub(doc, "process", "parent")[key] = v
    if code == "1":
        pe = {k: v for k, v in (("original_file_name", data.get("OriginalFileName")),
                                ("company", data.get("Company")),
                                ("description", data.get("Description")),
                                ("file_version", data.get("FileVersion")),
                                ("product", data.get("Product"))) if v}
        if pe:
            _sub(doc, "process")["pe"] = pe
        _hashes(doc, data.get("Hashes") or data.get("Hash"))
    name, domain = _split_user(data.get("User"))
    _user(doc, name, domain, None, "user")
    logon_id = data.get("LogonId")
    if logon_id:  # as Windows wrote it ("0x3e7"), like 4688's SubjectLogonId: Sigma's LogonId reads it
        _sub(doc, "winlog", "logon")["id"] = logon_id
    if code == "3":
        _network(doc, data)
    elif code in ("11", "23", "26", "15", "2"):
        set_file(doc, data.get("TargetFilename"))
    elif code in ("6", "7"):
        _loaded_image(doc, data)
    elif code in ("17", "18"):
        pipe = data.get("PipeName")
        if pipe:
            doc["file"] = {"name": pipe}
    elif code == "9":
        set_file(doc, data.get("Device"))
    elif code in ("12", "13", "14"):
        target = data.get("TargetObject")
        if target:
            reg: Doc = {"path": target}
            hive, _, key = target.partition("\\")
            if key:
                reg["hive"] = hive
                reg["key"] = key
            details = data.get("Details")
            if details:
                reg["data"] = {"strings": [details]}
            doc["registry"] = reg
    elif code == "22":
        qname = data.get("QueryName")
        if qname:
            doc["dns"] = {"question": {"name": qname}}


def _loaded_image(doc: Doc, data: dict[str, str]) -> None:
    """Sysmon 6 (driver loaded) / 7 (image loaded): file.* with signature and PE metadata."""
    set_file(doc, data.get("ImageLoaded"))
    node = doc.get("file")
    if node is None:
        return
    sig: Doc = {}
    signed = data.get("Signed")
    if signed:
        sig["signed"] = signed.lower() == "true"
    for field, key in (("Signature", "subject_name"), ("SignatureStatus", "status")):
        v = data.get(field)
        if v:
            sig[key] = v
    if sig:
        node["code_signature"] = sig
    pe = {k: v for k, v in (("original_file_name", data.get("OriginalFileName")), ("company", data.get("Company")),
                            ("description", data.get("Description")), ("file_version", data.get("FileVersion")),
                            ("product", data.get("Product"))) if v}
    hashes = data.get("Hashes") or data.get("Hash")
    if hashes:
        for part in hashes.split(","):
            algo, sep, digest = part.partition("=")
            digest = digest.strip().lower()
            if sep and digest.strip("0"):
                if algo.strip().lower() == "imphash":
                    pe["imphash"] = digest
                else:
                    node.setdefault("hash", {})[algo.strip().lower()] = digest
    if pe:
        node["pe"] = pe


def powershell(doc: Doc, code: str, data: dict[str, str]) -> None:
    """PowerShell 4104 script blocks, 4103 module logging, classic 400/403/600/800 engine details."""
    if code == "4104":
        block = {k: v for k, v in (("script_block_text", data.get("ScriptBlockText")),
                                   ("script_block_id", data.get("ScriptBlockId"))) if v}
        ps: Doc = {"file": block} if block else {}
        for field, key in (("MessageNumber", "sequence"), ("MessageTotal", "total")):
            n = to_int(data.get(field))
            if n is not None:
                ps[key] = n
        if ps:
            doc["powershell"] = ps
        set_file(doc, data.get("Path"))
        return
    details = ""
    if code == "4103":
        payload = data.get("Payload")
        if payload:
            _sub(doc, "powershell", "file")["script_block_text"] = payload
        details = data.get("ContextInfo") or ""
    else:
        details = data.get(CLASSIC_DETAILS.get(code, ""), "")
    seq = data.get("SequenceNumber")
    for raw_line in details.splitlines():
        key, sep, val = raw_line.partition("=")
        key, val = key.replace(" ", "").strip().lower(), val.strip()
        if not sep or not val:
            continue
        if key == "sequencenumber":
            seq = val
            continue
        target = POWERSHELL_DETAILS.get(key)
        if target == ("file", "path"):
            set_file(doc, val)
        elif target is not None:
            _sub(doc, *target[:-1])[target[-1]] = val
    n = to_int(seq)
    if n is not None:
        doc["event"]["sequence"] = n


def _hashes(doc: Doc, raw: str | None) -> None:
    if not raw:
        return
    hashes: Doc = {}
    for part in raw.split(","):
        algo, sep, digest = part.partition("=")
        digest = digest.strip().lower()
        if sep and digest and digest.strip("0"):
            hashes[algo.strip().lower()] = digest
            _related(doc, "hash", digest)
    imphash = hashes.pop("imphash", None)
    if imphash:
        _sub(doc, "process", "pe")["imphash"] = imphash
    if hashes:
        _sub(doc, "process")["hash"] = hashes


def _network(doc: Doc, data: dict[str, Any]) -> None:
    """Sysmon 3: addresses and ports checked and flagged as `_endpoint` does."""
    for side, prefix in (("source", "Source"), ("destination", "Destination")):
        _endpoint(doc, side, data.get(prefix + "Ip"), data.get(prefix + "Port"))
        host = data.get(prefix + "Hostname")
        if host:
            _sub(doc, side)["domain"] = host
    net: Doc = {}
    port_name = data.get("DestinationPortName")
    if port_name:
        net["protocol"] = port_name
    proto = data.get("Protocol")
    if proto:
        net["transport"] = proto.lower()
    initiated = data.get("Initiated")
    if initiated:
        net["direction"] = "egress" if initiated.lower() == "true" else "ingress"
    if net:
        doc["network"] = net


def defender(doc: Doc, code: str, data: dict[str, Any]) -> None:
    if not _categorise(doc, DEFENDER, code):
        return
    event = doc["event"]
    if code in ("1006", "1015", "1116", "1117", "1007", "1008", "1118", "1119"):
        event["kind"] = "alert"
    action = data.get("Action Name")
    if code in ("1117", "1007") and action:
        event["action"] = DEFENDER_ACTIONS.get(action.split()[0].lower(), event["action"])
    if code in ("1117", "1007"):
        event["outcome"] = "success"
    elif code in ("1118", "1119", "1008"):
        event["outcome"] = "failure"
    threat = data.get("Threat Name")
    if threat:
        rule: Doc = {"name": threat}
        tid = data.get("Threat ID")
        if tid:
            rule["id"] = tid
        category = data.get("Category Name")
        if category:
            rule["category"] = category
        doc["rule"] = rule
    path = data.get("Path")
    if path:
        first = path.split(";")[0]
        for prefix in ("file:_", "containerfile:_", "process:_", "regkey:_"):
            if first.lower().startswith(prefix):
                first = first[len(prefix):]
                break
        set_file(doc, first)
    proc = data.get("Process Name")
    if proc and proc.lower() != "unknown":
        set_process(doc, proc)
    name, domain = _split_user(data.get("Detection User") or data.get("User"))
    _user(doc, name, domain, None, "user")
