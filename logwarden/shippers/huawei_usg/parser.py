"""Huawei USG / HiSecEngine information-center logs:
`<PRI>TIMESTAMP HOSTNAME %%01MODULE/SEVERITY/BRIEF(l)[count]:[CID=0x...;]DESCRIPTION`.

The TIMESTAMP takes several forms (`Jan 19 2023 08:53:29`, `2023-10-11 20:38:20`, either with a
`+08:00` zone and a `DST` word); when the shared syslog splitter did not read it, it is read
here from the text before `%%`. Logs parsed (see README.md for where each layout was confirmed):
- POLICY/POLICYPERMIT, POLICY/POLICYDENY: `vsys=..., protocol=<number>, source-ip=..., source-port=...,
  destination-ip=..., destination-port=..., time=..., source-zone=..., destination-zone=...,
  application-name=..., rule-name=...` -> a connection allowed or denied by rule.name.
- SECLOG/SESSION_BUILT, SECLOG/SESSION_TEARDOWN: `IPVer=4,Protocol=udp,SourceIP=...,DestinationIP=...,
  SourcePort=...,DestinationPort=...,BeginTime=<epoch>,...` (the default content), or the `mtn`
  sentence `Built an udp session, 10.1.1.1:1 (trust) to 10.1.1.2:1 (trust).`; a session exists only
  for permitted traffic, so it is an allowed connection (start or end). NAT keys
  (SourceNatIP/SourceNatPort/DestinationNatIP/DestinationNatPort) are mapped when present.
- IPS/DETECT: `An intrusion was detected. (SyslogId=..., SrcIp=..., DstIp=..., SignName=..., Action=...)`
  -> an intrusion alert.
- SECE (the attack-defence logs of VRP switches beside the firewalls): ARPMISS `Attack occurred.(AttackType=
  Arp Miss Attack, SourceInterface=..., SourceIP=..., AttackPackets=N packets per second)`, USER_ATTACK
  `User attack occurred.(Slot=..., SourceAttackInterface=..., OuterVlan/InnerVlan=o/i, UserMacAddress=
  xxxx-xxxx-xxxx, [AttackProtocol=...,] AttackPackets=N packets per second)`, PORT_ATTACK_END `Auto
  port-defend stop.(SourceAttackInterface=..., AttackProtocol=...)` -> the attacking host as source.
- SEC/ATCKDF of Huawei AntiDDoS (space-separated `key=value`): log_type ip_attack (`zone_ip=<attacked>
  attack_type=<n> start_time_attack="..." end_time="..." attack_status=... drop_packets=...
  attacker=<ip>,<ip>,...`) and ip_attack_sum -> an attack alert on destination.ip; its traffic
  statistics (ip_flow, ip_drop) and other log_types are dead letters.
Any other MODULE/BRIEF is a dead letter naming it: no field of an unconfirmed layout is guessed.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, tzinfo
from typing import Any

from logwarden.shippers import keyvalue, nat
from logwarden.shippers import textlog as t
from logwarden.shippers.huawei_usg import SOURCE
from logwarden.shippers.mac import ecs_mac
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

_MARK = re.compile(r"%%(\d{2})([A-Z][A-Z0-9_-]{1,31})/([0-7])/([A-Z][A-Z0-9_]{1,63})(?:\(([a-z])\))?(?:\[(\d+)\])?:\s*")
_PRE = re.compile(r"^\s*(?P<ts>(?:[A-Z][a-z]{2} +\d{1,2} \d{4}|\d{4}[-/]\d{1,2}[-/]\d{1,2}) \d{2}:\d{2}:\d{2})"
                  r"(?P<zone>[+-]\d{2}:\d{2})?(?: DST)?\s+(?P<host>\S+)?\s*(?:%%:)?\s*$")
_KV = re.compile(r'([A-Za-z][\w-]*)=("[^"]*"|[^,;()]*)')
_SPACES = re.compile(r" +")
_CID = re.compile(r"^CID=0x[0-9a-fA-F]+;")
_BUILT = re.compile(r"Built an? (\w+) session, (\S+?):(\d+) \((\S*)\) to (\S+?):(\d+) \((\S*)\)")
_SEVERITY = {"0": "emergency", "1": "alert", "2": "critical", "3": "error", "4": "warning", "5": "notice",
             "6": "informational", "7": "debug"}
_PRE_FORMATS = ("%b %d %Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")


def kv_pairs(text: str) -> dict[str, str]:
    """`Key=value` pairs separated by commas (values may be double-quoted); the last value's
    closing period and parenthesis are not part of it. The first of a repeated key wins."""
    out: dict[str, str] = {}
    for key, value in _KV.findall(text):
        if key in out:
            continue
        value = value.strip()
        if value[:1] == '"' and value[-1:] == '"' and len(value) > 1:
            value = value[1:-1]
        elif value[-1:] == ".":
            value = value[:-1]
        out[key] = value
    return out


def _pre_time(text: str) -> tuple[str | None, str | None]:
    """(ISO time, host) from the text before `%%` when the syslog splitter left it there; cached
    per text and zone (the same second and host repeat)."""
    return _pre_time_in(text, t.CONFIG.tz)


@functools.lru_cache(maxsize=4096)
def _pre_time_in(text: str, tz: tzinfo) -> tuple[str | None, str | None]:
    """_pre_time read in zone `tz` (CONFIG.tz when called: part of the cache key)."""
    return _read_pre_time(text)


def _read_pre_time(text: str) -> tuple[str | None, str | None]:
    m = _PRE.match(text)
    if m is None:
        return None, None
    stamp = _SPACES.sub(" ", m.group("ts"))
    zone = m.group("zone")
    if zone:
        return t.parse_time(f"{stamp} {zone.replace(':', '')}", tuple(f"{f} %z" for f in _PRE_FORMATS)), m.group("host")
    return t.parse_time(stamp, _PRE_FORMATS), m.group("host")


def _epoch(value: str | None) -> str | None:
    seconds = t.to_int(value)
    if seconds is None or seconds <= 0:
        return None
    try:
        return t.iso(datetime.fromtimestamp(seconds, UTC))
    except (OverflowError, OSError, ValueError):
        return None


def _first(kv: dict[str, str], *keys: str) -> str | None:
    for key in keys:
        value = kv.get(key)
        if value is not None:
            value = value.strip()
            if value and value != "-":
                return value
    return None


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    m = _MARK.search(msg, 0, 400)
    if m is None:
        raise ParseError("not a Huawei information-center log (no %%NNMODULE/severity/BRIEF:)")
    _, module, severity, brief, _, _ = m.groups()
    body = msg[m.end():]
    if body.startswith("CID="):
        body = _CID.sub("", body, count=1)
    ts, host = _pre_time(msg[:m.start()]) if m.start() else (None, None)
    # the common fields as literals (a `put` per field cost more than building them)
    observer: dict[str, Any] = {"vendor": "Huawei", "product": "USG", "type": "firewall"}
    if host:
        observer["hostname"] = host
    doc: dict[str, Any] = {"observer": observer, "event": {"code": f"{module}/{severity}/{brief}",
                                                           "severity": int(severity)},
                           "log": {"level": _SEVERITY[severity]}}
    if ts:
        doc["@timestamp"] = ts
    handler = _HANDLERS.get((module, brief))
    if handler is None:
        raise ParseError(f"Huawei log not confirmed, not parsed: {module}/{brief}")
    handler(doc, body)
    nat.direction(doc)
    return doc


def _policy(doc: dict[str, Any], body: str) -> None:
    kv = kv_pairs(body)
    if "source-ip" not in kv:
        raise ParseError("Huawei policy log without source-ip")
    t.endpoint(doc, "source", _first(kv, "source-ip"), _first(kv, "source-port"))
    t.endpoint(doc, "destination", _first(kv, "destination-ip"), _first(kv, "destination-port"))
    t.transport(doc, _first(kv, "protocol"))
    put(doc, "observer.ingress.zone", _first(kv, "source-zone"))
    put(doc, "observer.egress.zone", _first(kv, "destination-zone"))
    put(doc, "network.application", (_first(kv, "application-name") or "").lower() or None)
    put(doc, "rule.name", _first(kv, "rule-name"))
    put(doc, "huawei.vsys", _first(kv, "vsys"))
    permit = "PERMIT" in t.get(doc, "event.code")
    t.verdict(doc, "permit" if permit else "deny", allowed=permit)


def _session(doc: dict[str, Any], body: str) -> None:
    phase = "end" if t.get(doc, "event.code").endswith("TEARDOWN") else "start"
    built = _BUILT.search(body)
    if built is not None and "SourceIP" not in body:
        proto, sip, sport, szone, dip, dport, dzone = built.groups()
        t.endpoint(doc, "source", sip, sport)
        t.endpoint(doc, "destination", dip, dport)
        t.transport(doc, proto)
        put(doc, "observer.ingress.zone", szone or None)
        put(doc, "observer.egress.zone", dzone or None)
        t.verdict(doc, "session-built", allowed=True, phase=phase)
        return
    kv = kv_pairs(body)
    if "SourceIP" not in kv:
        raise ParseError("Huawei session log without SourceIP")
    t.endpoint(doc, "source", _first(kv, "SourceIP"), _first(kv, "SourcePort"))
    t.endpoint(doc, "destination", _first(kv, "DestinationIP"), _first(kv, "DestinationPort"))
    t.endpoint(doc, "source.nat", _first(kv, "SourceNatIP"), _first(kv, "SourceNatPort"))
    t.endpoint(doc, "destination.nat", _first(kv, "DestinationNatIP"), _first(kv, "DestinationNatPort"))
    t.transport(doc, _first(kv, "Protocol"))
    put(doc, "@timestamp", t.get(doc, "@timestamp") or _epoch(_first(kv, "EndTime" if phase == "end" else "BeginTime")))
    put(doc, "source.packets", t.to_int(_first(kv, "SendPkts")))
    put(doc, "source.bytes", t.to_int(_first(kv, "SendBytes")))
    put(doc, "destination.packets", t.to_int(_first(kv, "RcvPkts")))
    put(doc, "destination.bytes", t.to_int(_first(kv, "RcvBytes")))
    put(doc, "observer.ingress.zone", _first(kv, "SourceZone"))
    put(doc, "observer.egress.zone", _first(kv, "DestinationZone"))
    put(doc, "rule.name", _first(kv, "PolicyName"))
    put(doc, "user.name", _first(kv, "UserName"))
    put(doc, "network.application", (_first(kv, "Application") or "").lower() or None)
    put(doc, "huawei.close_reason", _first(kv, "CloseReason"))
    verb = "session-teardown" if phase == "end" else "session-built"
    t.verdict(doc, verb, allowed=True, phase=phase)


_SECE_NAMES = {"ARPMISS": "ARP miss attack", "USER_ATTACK": "user attack",
               "PORT_ATTACK_END": "port attack defence ended"}


def _sece(doc: dict[str, Any], body: str) -> None:
    """VRP switch attack defence (Huawei's log reference, SECE/4/ARPMISS and SECE/4/USER_ATTACK;
    captured PORT_ATTACK_END lines): the attacker (source ip or mac), where it was seen
    (interface, VLANs), the attack rate."""
    kv = kv_pairs(body)
    brief = t.get(doc, "event.code").rpartition("/")[2]
    interface = _first(kv, "SourceInterface", "SourceAttackInterface")
    if interface is None and "SourceIP" not in kv:
        raise ParseError(f"Huawei SECE {brief} log without SourceInterface or SourceIP")
    put(doc, "observer.product", "VRP")
    put(doc, "observer.type", "switch")
    t.endpoint(doc, "source", _first(kv, "SourceIP"))
    put(doc, "source.mac", ecs_mac(_first(kv, "UserMacAddress", "SourceMAC")))
    put(doc, "observer.ingress.interface.name", interface)
    outer, _, inner = (_first(kv, "InnerVlan") or "").partition("/")  # the key is OuterVlan/InnerVlan
    put(doc, "network.vlan.id", outer.strip() if outer.strip() not in ("", "0") else None)
    put(doc, "network.inner.vlan.id", inner.strip() if inner.strip() not in ("", "0") else None)
    protocol = _first(kv, "AttackProtocol")
    put(doc, "huawei.attack_protocol", protocol)
    put(doc, "huawei.attack_pps", t.to_int((_first(kv, "AttackPackets") or "").split(" ")[0]))
    put(doc, "huawei.slot", _first(kv, "Slot"))
    name = _first(kv, "AttackType") or _SECE_NAMES[brief]
    put(doc, "rule.name", f"Huawei SECE: {name}" + (f" ({protocol})" if protocol else ""))
    ended = brief.endswith("_END")
    put(doc, "event.kind", "event" if ended else "alert")
    put(doc, "event.category", ["network", "intrusion_detection"])
    put(doc, "event.type", ["info", "end"] if ended else ["info"])
    put(doc, "event.action", brief.lower())


def _atckdf(doc: dict[str, Any], body: str) -> None:
    """Huawei AntiDDoS attack logs (public SIEM collectors' captured ip_attack / ip_attack_sum lines):
    the attacked zone address is destination.ip, the listed attackers source.ip (the first) and
    huawei.attackers (all); attack_type stays a number (rule.id): its names are not published."""
    kv = keyvalue.kv_pairs(body)
    log_type = kv.get("log_type", "")
    if log_type not in ("ip_attack", "ip_attack_sum"):
        raise ParseError(f"Huawei AntiDDoS ATCKDF log_type={log_type[:40]!r} not mapped (traffic statistics "
                         "or unconfirmed)")
    doc.get("observer", {}).pop("type", None)
    put(doc, "observer.product", "AntiDDoS")
    put(doc, "observer.ip", t.ip_or_none(kv.get("device_ip")))
    put(doc, "huawei.device_type", kv.get("device_type") or None)
    put(doc, "huawei.log_type", log_type)
    put(doc, "huawei.zone_name", kv.get("zone_name") or None)
    t.endpoint(doc, "destination", t.ip_or_none(kv.get("zone_ip")))
    attackers = [ip for ip in (t.ip_or_none(a.strip()) for a in (kv.get("attacker") or "").split(",")) if ip]
    if attackers:
        t.endpoint(doc, "source", attackers[0])
        put(doc, "huawei.attackers", attackers)
        put(doc, "related.ip", list(dict.fromkeys(attackers)))
    fmt = ("%Y-%m-%d %H:%M:%S",)
    start = kv.get("start_time_attack") or kv.get("start_time") or ""
    put(doc, "event.start", t.parse_time(start, fmt) if start else None)
    end = kv.get("end_time") or ""
    put(doc, "event.end", t.parse_time(end, fmt) if end else None)
    attack_type = kv.get("attack_type") or None
    put(doc, "rule.id", attack_type)
    put(doc, "rule.name", f"Huawei AntiDDoS attack type {attack_type}" if attack_type else "Huawei AntiDDoS attack")
    put(doc, "huawei.severity", kv.get("severity") or None)
    put(doc, "huawei.drop_packets", t.to_int(kv.get("drop_packets")))
    put(doc, "event.kind", "alert")
    put(doc, "event.category", ["network", "intrusion_detection"])
    put(doc, "event.type", ["info"])
    put(doc, "event.action", (kv.get("attack_status") or log_type).lower())


def _ips(doc: dict[str, Any], body: str) -> None:
    kv = kv_pairs(body)
    if "SrcIp" not in kv and "SignName" not in kv:
        raise ParseError("Huawei IPS log without SrcIp or SignName")
    t.endpoint(doc, "source", _first(kv, "SrcIp"), _first(kv, "SrcPort"))
    t.endpoint(doc, "destination", _first(kv, "DstIp"), _first(kv, "DstPort"))
    t.transport(doc, _first(kv, "Protocol"))
    put(doc, "observer.ingress.zone", _first(kv, "SrcZone"))
    put(doc, "observer.egress.zone", _first(kv, "DstZone"))
    user = _first(kv, "User")
    put(doc, "user.name", None if user == "unknown" else user)
    put(doc, "network.application", (_first(kv, "Application") or "").lower() or None)
    put(doc, "rule.name", _first(kv, "SignName"))
    put(doc, "rule.id", _first(kv, "SignId"))
    put(doc, "rule.category", _first(kv, "Category"))
    put(doc, "rule.ruleset", _first(kv, "Profile"))
    put(doc, "huawei.policy", _first(kv, "Policy"))
    put(doc, "huawei.vsys", _first(kv, "Vsys", "VSys"))
    put(doc, "huawei.syslog_id", _first(kv, "SyslogId"))
    put(doc, "huawei.severity", _first(kv, "Severity"))
    put(doc, "huawei.reference", _first(kv, "Reference"))
    action = (_first(kv, "Action") or "").lower()
    put(doc, "event.kind", "alert")
    put(doc, "event.category", ["network", "intrusion_detection"])
    put(doc, "event.type", ["info", "denied"] if action == "block" else ["info"])
    put(doc, "event.action", action or None)


_HANDLERS = {
    ("POLICY", "POLICYPERMIT"): _policy,
    ("POLICY", "POLICYDENY"): _policy,
    ("SECLOG", "SESSION_BUILT"): _session,
    ("SECLOG", "SESSION_TEARDOWN"): _session,
    ("IPS", "DETECT"): _ips,
    ("SECE", "ARPMISS"): _sece,
    ("SECE", "USER_ATTACK"): _sece,
    ("SECE", "PORT_ATTACK_END"): _sece,
    ("SEC", "ATCKDF"): _atckdf,
}

parse_line = t.line_parser(SOURCE.name, SOURCE.dataset, parse)
parse_stream = t.stream_parser(parse_line)
