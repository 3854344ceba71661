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

import re
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

from logwarden.shippers import keyvalue, nat
from logwarden.shippers import textlog as t
from logwarden.shippers.huawei_usg import SOURCE
from logwarden.shippers.mac import ecs_mac
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

# group 1: `<version><MODULE>/<severity>/<BRIEF>`, the part that names the log (not the `[count]`)
_MARK = re.compile(r"%%(\d{2}[A-Z][A-Z0-9_-]{1,31}/[0-7]/[A-Z][A-Z0-9_]{1,63})(?:\([a-z]\))?(?:\[\d+\])?:\s*")
_PRE = re.compile(r"^\s*(?P<ts>(?:[A-Z][a-z]{2} +\d{1,2} \d{4}|\d{4}[-/]\d{1,2}[-/]\d{1,2}) \d{2}:\d{2}:\d{2})"
                  r"(?P<zone>[+-]\d{2}:\d{2})?(?: DST)?\s+(?P<host>\S+)?\s*(?:%%:)?\s*$")
_KV = re.compile(r'([A-Za-z][\w-]*)=("[^"]*"|[^,;()]*)')
_SPACES = re.compile(r" +")
_CID = re.compile(r"^CID=0x[0-9a-fA-F]+;")
_BUILT = re.compile(r"Built an? (\w+) session, (\S+?):(\d+) \((\S*)\) to (\S+?):(\d+) \((\S*)\)")
_SEVERITY = {"0": "emergency", "1": "alert", "2": "critical", "3": "error", "4": "warning", "5": "notice",
             "6": "informational", "7": "debug"}
_PRE_FORMATS = ("%b %d %Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")


def kv_pairs(text: str) -> dict[str, str | None]:
    """`Key=value` pairs separated by commas (values may be double-quoted); the last value's
    closing period and parenthesis are not part of it. The first of a repeated key wins. Values
    are stripped; an empty value or `-` is None (the key is still there: handlers test presence).

    The reading is _KV's (`kv_pairs_by_regex`); a body in the usual shapes, `k=v, k=v` or a
    sentence then `(k=v, k=v)`, is read by splitting at commas instead (a third of the time), and
    any text where the two readings could differ goes to the regex (tests/textlogs/
    test_huawei_kv.py compares them on generated text)."""
    inner = text
    if "(" in text or ")" in text:
        open_at, close_at = text.find("("), text.rfind(")")
        if (open_at < 0 or close_at < open_at or text.count("(") != 1 or text.count(")") != 1
                or "=" in text[:open_at] or "=" in text[close_at:]):
            return kv_pairs_by_regex(text)
        inner = text[open_at + 1:close_at]
    if ";" in inner:
        return kv_pairs_by_regex(text)
    out: dict[str, str | None] = {}
    segments = _SEGMENTS
    for segment in inner.split(","):
        read = segments.get(segment)
        if read is None:
            read = _read_segment(segment)
            if read is _BY_REGEX:
                return kv_pairs_by_regex(text)
        key, value = read
        if key and key not in out:  # the first of a repeated key wins
            out[key] = value
    return out


def _read_segment(segment: str) -> tuple[str, str | None]:
    """(key, cleaned value) of one comma-separated segment as kv_pairs reads it, ("", None) for a
    segment without `=` (skipped), _BY_REGEX when the text must go to the regex. Cached in
    _SEGMENTS (bounded): a log repeats most of its segments (zones, protocols, actions, names);
    a _BY_REGEX reading is not kept, so kv_pairs tests for it only after a miss."""
    left, eq, value = segment.partition("=")
    read: tuple[str, str | None]
    if not eq:
        read = ("", None)
    else:
        key = _KEY_NAMES.get(left)
        if key is None:
            key = _key_name(left)
        if not key:
            read = _BY_REGEX
        elif value[:1] == '"':  # a quoted value: the regex reads it to its closing quote
            close = value.find('"', 1)
            if close < 0 or "=" in value[close:]:
                read = _BY_REGEX
            else:
                value = value[1:close].strip()
                read = (key, value if value and value != "-" else None)
        else:
            value = value.strip()
            if value[:1] == '"' and value[-1:] == '"' and len(value) > 1:
                value = value[1:-1].strip()
            elif value[-1:] == ".":
                value = value[:-1].strip()
            read = (key, value if value and value != "-" else None)
    if read is _BY_REGEX:  # not kept: kv_pairs tests for the marker only on a miss
        return read
    if len(_SEGMENTS) >= 8192:
        _SEGMENTS.clear()
    _SEGMENTS[segment] = read
    return read


_BY_REGEX = ("", "")  # the marker _read_segment returns for a segment the regex must read
_SEGMENTS: dict[str, tuple[str, str | None]] = {}


def _key_name(left: str) -> str:
    """The key `_KV` reads from the text before a segment's first `=`: the longest end of that text
    that is a key (`_KEY_AT_END`), so `OuterVlan/InnerVlan` gives `InnerVlan` as the regex does; ""
    when none ends it (the caller then uses the regex). Cached: a log repeats a few keys.

    Why the longest end: `_KV` tries each position from the segment's start, and its key, which holds
    no `=` and no comma, matches at a position only if it runs from there to the segment's first `=`."""
    found = _KEY_AT_END.search(left)
    key = found.group() if found is not None else ""
    if len(_KEY_NAMES) >= 4096:
        _KEY_NAMES.clear()
    _KEY_NAMES[left] = key
    return key


_KEY_AT_END = re.compile(r"[A-Za-z][\w-]*\Z")  # _KV's key, ending the text before `=`
_KEY_NAMES: dict[str, str] = {}


def kv_pairs_by_regex(text: str) -> dict[str, str | None]:
    """kv_pairs by _KV, whatever the text."""
    out: dict[str, str | None] = {}
    for key, value in _KV.findall(text):
        if key in out:
            continue
        value = value.strip()
        if value[:1] == '"' and value[-1:] == '"' and len(value) > 1:
            value = value[1:-1].strip()
        elif value[-1:] == ".":
            value = value[:-1].strip()
        out[key] = value if value and value != "-" else None
    return out


def _pre_time(text: str) -> tuple[str | None, str | None]:
    """(ISO time, host) from the text before `%%` when the syslog splitter left it there; cached
    per text in _PRE_TIMES, which holds the readings in one zone (CONFIG.tz; emptied when that
    changes, or when full): the same second and host repeat."""
    tz = t.CONFIG.tz
    if tz is not _PRE_TIMES_TZ[0] or len(_PRE_TIMES) >= 4096:
        _PRE_TIMES.clear()
        _PRE_TIMES_TZ[0] = tz
    read = _PRE_TIMES[text] = _read_pre_time(text)
    return read


_PRE_TIMES: dict[str, tuple[str | None, str | None]] = {}  # text before `%%` -> _read_pre_time of it
_PRE_TIMES_TZ: list[tzinfo | None] = [None]  # the zone _PRE_TIMES was read in


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


def _section(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """doc[name] as an object, made (or a value that is not one replaced) when missing: `put`'s walk
    for a one-level path, for fields written in a handler's own order."""
    node = doc.get(name)
    if node.__class__ is not dict:
        node = doc[name] = {}
    return node


def _fill(doc: dict[str, Any], kv: dict[str, str | None], fields: tuple[tuple[str, str, str], ...]) -> None:
    """`put` of each (vendor key, ECS section, leaf) whose value in `kv` (kv_pairs) is not None, in
    table order."""
    for key, section, leaf in fields:
        value = kv.get(key)
        if value is not None:
            node = doc.get(section)
            if node.__class__ is not dict:
                node = doc[section] = {}
            node[leaf] = value


def _zones(doc: dict[str, Any], ingress: str | None, egress: str | None) -> None:
    """observer.ingress.zone and observer.egress.zone. The objects are made here: parse makes
    observer, and the handlers that call this write nothing else under ingress or egress."""
    if ingress is not None:
        doc["observer"]["ingress"] = {"zone": ingress}
    if egress is not None:
        doc["observer"]["egress"] = {"zone": egress}


def _application(doc: dict[str, Any], name: str | None) -> None:
    """network.application, lowercased (Elastic's pipelines write it so)."""
    if name is not None:
        _section(doc, "network")["application"] = name.lower()


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    m = _MARK.search(msg, 0, 400)
    if m is None:
        raise ParseError("not a Huawei information-center log (no %%NNMODULE/severity/BRIEF:)")
    mark = _MARKS.get(m.group(1))
    if mark is None:
        mark = _read_mark(m.group(1))
    code, severity, level, brief, handler = mark
    body = msg[m.end():]
    if body.startswith("CID="):
        body = _CID.sub("", body, count=1)
    start = m.start()
    if start:
        pre = msg[:start]
        # _pre_time's cache read here when the zone is the one it was read in (CONFIG.tz is set)
        known = _PRE_TIMES.get(pre) if t.CONFIG._tz is _PRE_TIMES_TZ[0] else None
        ts, host = known if known is not None else _pre_time(pre)
    else:
        ts = host = None
    # the common fields as literals (a `put` per field cost more than building them)
    observer: dict[str, Any] = {"vendor": "Huawei", "product": "USG", "type": "firewall"}
    if host:
        observer["hostname"] = host
    doc: dict[str, Any] = {"observer": observer, "event": {"code": code, "severity": severity},
                           "log": {"level": level}}
    if ts:
        doc["@timestamp"] = ts
    if handler is None:
        raise ParseError(f"Huawei log not confirmed, not parsed: {code.partition('/')[0]}/{brief}")
    handler(doc, body, brief)
    nat.direction(doc)
    return doc


# Each handler writes its fields in one fixed order (a document's keys come out in that order);
# kv_pairs already stripped the values and made an empty value or `-` None, so a field is
# written when its value is not None, as `put` would.

def _policy(doc: dict[str, Any], body: str, brief: str) -> None:
    kv = kv_pairs(body)
    if "source-ip" not in kv:
        raise ParseError("Huawei policy log without source-ip")
    g = kv.get
    t.endpoint(doc, "source", g("source-ip"), g("source-port"))
    t.endpoint(doc, "destination", g("destination-ip"), g("destination-port"))
    t.transport(doc, g("protocol"))
    # _zones and _application written out (three of a policy log's fields, on every line)
    zone = g("source-zone")
    if zone is not None:
        doc["observer"]["ingress"] = {"zone": zone}
    zone = g("destination-zone")
    if zone is not None:
        doc["observer"]["egress"] = {"zone": zone}
    name = g("application-name")
    if name is not None:
        _section(doc, "network")["application"] = name.lower()
    _fill(doc, kv, _POLICY_FIELDS)
    permit = brief == "POLICYPERMIT"
    t.verdict(doc, "permit" if permit else "deny", allowed=permit)


_POLICY_FIELDS = (("rule-name", "rule", "name"), ("vsys", "huawei", "vsys"))


def _session(doc: dict[str, Any], body: str, brief: str) -> None:
    phase = "end" if brief == "SESSION_TEARDOWN" else "start"
    built = _BUILT.search(body) if "SourceIP" not in body else None
    if built is not None:
        proto, sip, sport, szone, dip, dport, dzone = built.groups()
        t.endpoint(doc, "source", sip, sport)
        t.endpoint(doc, "destination", dip, dport)
        t.transport(doc, proto)
        _zones(doc, szone or None, dzone or None)
        t.verdict(doc, "session-built", allowed=True, phase=phase)
        return
    kv = kv_pairs(body)
    if "SourceIP" not in kv:
        raise ParseError("Huawei session log without SourceIP")
    g = kv.get
    t.endpoint(doc, "source", g("SourceIP"), g("SourcePort"))
    t.endpoint(doc, "destination", g("DestinationIP"), g("DestinationPort"))
    t.nat_endpoint(doc, "source.nat", g("SourceNatIP"), g("SourceNatPort"))
    t.nat_endpoint(doc, "destination.nat", g("DestinationNatIP"), g("DestinationNatPort"))
    t.transport(doc, g("Protocol"))
    if not doc.get("@timestamp"):
        put(doc, "@timestamp", _epoch(g("EndTime" if phase == "end" else "BeginTime")))
    for key, section, leaf in _SESSION_COUNTS:
        number = t.to_int(g(key))
        if number is not None:
            _section(doc, section)[leaf] = number
    _zones(doc, g("SourceZone"), g("DestinationZone"))
    _fill(doc, kv, _SESSION_FIELDS)
    _application(doc, g("Application"))
    _fill(doc, kv, _SESSION_MORE_FIELDS)
    verb = "session-teardown" if phase == "end" else "session-built"
    t.verdict(doc, verb, allowed=True, phase=phase)


_SESSION_COUNTS = (("SendPkts", "source", "packets"), ("SendBytes", "source", "bytes"),
                   ("RcvPkts", "destination", "packets"), ("RcvBytes", "destination", "bytes"))
_SESSION_FIELDS = (("PolicyName", "rule", "name"), ("UserName", "user", "name"))
_SESSION_MORE_FIELDS = (("CloseReason", "huawei", "close_reason"),)  # after network.application


_SECE_NAMES = {"ARPMISS": "ARP miss attack", "USER_ATTACK": "user attack",
               "PORT_ATTACK_END": "port attack defence ended"}


def _sece(doc: dict[str, Any], body: str, brief: str) -> None:
    """VRP switch attack defence (Huawei's log reference, SECE/4/ARPMISS and SECE/4/USER_ATTACK;
    captured PORT_ATTACK_END lines): the attacker (source ip or mac), where it was seen
    (interface, VLANs), the attack rate."""
    kv = kv_pairs(body)
    g = kv.get
    interface = g("SourceInterface") or g("SourceAttackInterface")
    if interface is None and "SourceIP" not in kv:
        raise ParseError(f"Huawei SECE {brief} log without SourceInterface or SourceIP")
    # parse made observer and event; huawei, rule and observer.ingress are made here, once
    observer = doc["observer"]
    observer["product"] = "VRP"
    observer["type"] = "switch"
    t.endpoint(doc, "source", g("SourceIP"))
    mac = ecs_mac(g("UserMacAddress") or g("SourceMAC"))
    if mac:
        _section(doc, "source")["mac"] = mac
    if interface is not None:
        observer["ingress"] = {"interface": {"name": interface}}
    outer, _, inner = (g("InnerVlan") or "").partition("/")  # the key is OuterVlan/InnerVlan
    outer, inner = outer.strip(), inner.strip()
    if outer not in ("", "0"):
        put(doc, "network.vlan.id", outer)
    if inner not in ("", "0"):
        put(doc, "network.inner.vlan.id", inner)
    protocol = g("AttackProtocol")
    pps = t.to_int((g("AttackPackets") or "").split(" ")[0])
    slot = g("Slot")
    if protocol is not None or pps is not None or slot is not None:
        huawei = doc["huawei"] = {}
        if protocol is not None:
            huawei["attack_protocol"] = protocol
        if pps is not None:
            huawei["attack_pps"] = pps
        if slot is not None:
            huawei["slot"] = slot
    name = g("AttackType") or _SECE_NAMES[brief]
    doc["rule"] = {"name": f"Huawei SECE: {name}" + (f" ({protocol})" if protocol else "")}
    ended = brief.endswith("_END")
    event = doc["event"]
    event["kind"] = "event" if ended else "alert"
    event["category"] = ["network", "intrusion_detection"]
    event["type"] = ["info", "end"] if ended else ["info"]
    event["action"] = brief.lower()


def _atckdf(doc: dict[str, Any], body: str, brief: str) -> None:
    """Huawei AntiDDoS attack logs (public SIEM collectors' captured ip_attack / ip_attack_sum lines):
    the attacked zone address is destination.ip, the listed attackers source.ip (the first) and
    huawei.attackers (all); attack_type stays a number (rule.id): its names are not published."""
    kv = keyvalue.kv_pairs(body)
    log_type = kv.get("log_type", "")
    if log_type not in ("ip_attack", "ip_attack_sum"):
        raise ParseError(f"Huawei AntiDDoS ATCKDF log_type={log_type[:40]!r} not mapped (traffic statistics "
                         "or unconfirmed)")
    observer = doc["observer"]
    observer.pop("type", None)
    observer["product"] = "AntiDDoS"
    device_ip = t.ip_or_none(kv.get("device_ip"))
    if device_ip:
        observer["ip"] = device_ip
    huawei: dict[str, Any] = {}
    doc["huawei"] = huawei
    if kv.get("device_type"):
        huawei["device_type"] = kv["device_type"]
    huawei["log_type"] = log_type
    if kv.get("zone_name"):
        huawei["zone_name"] = kv["zone_name"]
    t.endpoint(doc, "destination", t.ip_or_none(kv.get("zone_ip")))
    attackers = [ip for ip in (t.ip_or_none(a.strip()) for a in (kv.get("attacker") or "").split(",")) if ip]
    if attackers:
        t.endpoint(doc, "source", attackers[0])
        huawei["attackers"] = attackers
        put(doc, "related.ip", list(dict.fromkeys(attackers)))
    start = kv.get("start_time_attack") or kv.get("start_time") or ""
    end = kv.get("end_time") or ""
    started = t.parse_time(start, _ATCKDF_TIME) if start else None
    ended = t.parse_time(end, _ATCKDF_TIME) if end else None
    if started or ended:
        event = _section(doc, "event")
        if started:
            event["start"] = started
        if ended:
            event["end"] = ended
    attack_type = kv.get("attack_type") or None
    doc["rule"] = ({"id": attack_type, "name": f"Huawei AntiDDoS attack type {attack_type}"} if attack_type
                   else {"name": "Huawei AntiDDoS attack"})
    if kv.get("severity"):
        huawei["severity"] = kv["severity"]
    drop_packets = t.to_int(kv.get("drop_packets"))
    if drop_packets is not None:
        huawei["drop_packets"] = drop_packets
    event = _section(doc, "event")
    event["kind"] = "alert"
    event["category"] = ["network", "intrusion_detection"]
    event["type"] = ["info"]
    event["action"] = (kv.get("attack_status") or log_type).lower()


_ATCKDF_TIME = ("%Y-%m-%d %H:%M:%S",)


def _ips(doc: dict[str, Any], body: str, brief: str) -> None:
    kv = kv_pairs(body)
    if "SrcIp" not in kv and "SignName" not in kv:
        raise ParseError("Huawei IPS log without SrcIp or SignName")
    g = kv.get
    t.endpoint(doc, "source", g("SrcIp"), g("SrcPort"))
    t.endpoint(doc, "destination", g("DstIp"), g("DstPort"))
    t.transport(doc, g("Protocol"))
    _zones(doc, g("SrcZone"), g("DstZone"))
    user = g("User")
    if user is not None and user != "unknown":
        _section(doc, "user")["name"] = user
    _application(doc, g("Application"))
    _fill(doc, kv, _IPS_FIELDS)
    if g("Vsys") is None and g("VSys") is not None:
        _section(doc, "huawei")["vsys"] = g("VSys")
    _fill(doc, kv, _IPS_MORE_FIELDS)
    action = (g("Action") or "").lower()
    event = _section(doc, "event")
    event["kind"] = "alert"
    event["category"] = ["network", "intrusion_detection"]
    event["type"] = ["info", "denied"] if action == "block" else ["info"]
    if action:
        event["action"] = action


_IPS_FIELDS = (("SignName", "rule", "name"), ("SignId", "rule", "id"),
               ("Category", "rule", "category"), ("Profile", "rule", "ruleset"), ("Policy", "huawei", "policy"),
               ("Vsys", "huawei", "vsys"))  # VSys when Vsys is absent, then _IPS_MORE_FIELDS
_IPS_MORE_FIELDS = (("SyslogId", "huawei", "syslog_id"), ("Severity", "huawei", "severity"),
                    ("Reference", "huawei", "reference"))

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

Mark = tuple[str, int, str, str, Callable[[dict[str, Any], str, str], None] | None]


def _read_mark(named: str) -> Mark:
    """What a marker's `<version><MODULE>/<severity>/<BRIEF>` (_MARK's group 1) gives every line
    that holds it: (event.code, event.severity, log.level, BRIEF, the handler or None). Cached in
    _MARKS (bounded): a device writes a few dozen kinds of log, so the same few texts repeat on
    every line and the split, the number and the lookups are done once per kind."""
    module, severity, brief = named[2:].split("/")
    mark = (f"{module}/{severity}/{brief}", int(severity), _SEVERITY[severity], brief,
            _HANDLERS.get((module, brief)))
    if len(_MARKS) >= 1024:
        _MARKS.clear()
    _MARKS[named] = mark
    return mark


_MARKS: dict[str, Mark] = {}

parse_line = t.line_parser(SOURCE.name, SOURCE.dataset, parse)
parse_stream = t.stream_parser(parse_line)
