"""PAN-OS syslog CSV (PAN-OS 8.1-10.x field order, "Syslog Field Descriptions").

TRAFFIC and THREAT share fields 0-30 (receive time, serial, type, subtype, generated time,
src, dst, natsrc, natdst, rule, srcuser, dstuser, app, vsys, from/to zone, in/out interface,
log profile, session id, repeat count, sport, dport, natsport, natdport, flags, proto, action).
TRAFFIC adds bytes/packets/start/elapsed/category/session end reason; THREAT adds misc (URL or
file name), threat name(id), category, severity, direction. Device name is read when the line is
long enough (field 52 traffic, 59 threat), else the syslog host. Times are device-local: read in
the configured zone. CSV quoting ("a,b") is honoured. event.action is Elastic's name for the log subtype
(`flow_terminated`, `virus_detected`, ...), the firewall's own verb is in panw.panos.action.
"""

from __future__ import annotations

import csv
from typing import Any

from logwarden.shippers import textlog as t
from logwarden.shippers.textlog import ParseError, SyslogHeader

ALLOW = {"allow"}
DENY = {"deny", "drop", "drop-icmp", "reset-both", "reset-client", "reset-server", "block-url", "block",
        "sinkhole", "drop-all-packets", "block-continue", "block-override"}
# event.severity from the threat severity as Elastic's panw default.yml numbers it: 1 is the most severe
SEV = {"critical": 1, "high": 2, "medium": 3, "low": 4, "informational": 5}
MALWARE_SUBTYPES = {"virus", "wildfire-virus", "wildfire", "spyware"}
THREAT_ALLOWED = {"alert", "allow", "continue"}
# event.action per log subtype, as Elastic's panw pipeline names it (the firewall's verb: panw.panos.action)
EVENT_ACTION = {"start": "flow_started", "end": "flow_terminated", "drop": "flow_dropped", "deny": "flow_denied",
                "data": "data_match", "file": "file_match", "flood": "flood_detected", "packet": "packet_attack",
                "scan": "scan_detected", "spyware": "spyware_detected", "url": "url_filtering",
                "virus": "virus_detected", "vulnerability": "exploit_detected", "wildfire": "wildfire_verdict",
                "wildfire-virus": "wildfire_virus_detected"}


_TIME = ("%Y/%m/%d %H:%M:%S",)


def _fields(msg: str) -> list[str]:
    text = msg.strip()
    if '"' in text:
        return next(csv.reader([text]))
    return text.split(",")


def _g(f: list[str], i: int) -> str | None:
    return f[i] if i < len(f) and f[i] != "" else None


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    f = _fields(msg)
    if len(f) < 31 or f[3] not in ("TRAFFIC", "THREAT"):
        raise ParseError("not a PAN-OS TRAFFIC/THREAT CSV line (need >= 31 fields, type at field 3)")
    kind, sub = f[3], f[4]
    # the fields every line has, as literals with conditional writes ("" is absent, as `put` has it)
    doc: dict[str, Any] = {}
    created = t.parse_time(f[1], _TIME)  # receive time; generated time (usually the same text) is @timestamp
    stamp = created if f[6] == f[1] or not f[6] else t.parse_time(f[6], _TIME)
    if stamp:
        doc["@timestamp"] = stamp
    if created:
        doc["event"] = {"created": created}
    observer: dict[str, Any] = {"vendor": "Palo Alto Networks", "product": "PAN-OS", "type": "firewall"}
    if f[2]:
        observer["serial_number"] = f[2]
    zone, intf = f[16], f[18]
    if zone or intf:
        where = observer["ingress"] = {"zone": zone} if zone else {}
        if intf:
            where["interface"] = {"name": intf}
    zone, intf = f[17], f[19]
    if zone or intf:
        where = observer["egress"] = {"zone": zone} if zone else {}
        if intf:
            where["interface"] = {"name": intf}
    doc["observer"] = observer
    t.endpoint(doc, "source", f[7], f[24])
    t.endpoint(doc, "destination", f[8], f[25])
    if f[9] not in ("", "0.0.0.0"):
        t.endpoint(doc, "source.nat", f[9], f[26] if f[26] != "0" else None)
    if f[10] not in ("", "0.0.0.0"):
        t.endpoint(doc, "destination.nat", f[10], f[27] if f[27] != "0" else None)
    if f[11]:
        doc["rule"] = {"name": f[11]}
    for side, value in (("source", f[12]), ("destination", f[13])) if f[12] or f[13] else ():
        # TRAFFIC: the user as written (Elastic's traffic.yml); THREAT: `domain\user` / `user@domain`
        # split into name and domain (its threat.yml grok); user.* is the source's
        name, domain = _user(value) if kind == "THREAT" else (value or None, None)
        if name or domain:
            user = {"name": name} if name else {}
            if domain:
                user["domain"] = domain
            _obj(doc, side)["user"] = user
            if side == "source":
                doc["user"] = dict(user)
    if f[14]:
        doc["network"] = {"application": f[14]}
    action = f[30].lower()
    panos: dict[str, Any] = {"type": kind}
    if f[15]:
        panos["vsys"] = f[15]
    if f[22]:
        panos["session_id"] = f[22]
    if sub:
        panos["sub_type"] = sub
    if action:
        panos["action"] = action
    doc["panw"] = {"panos": panos}
    t.transport(doc, f[29])
    allowed = True if action in ALLOW else False if action in DENY else None
    # the fields of each log type written where they go ("" is absent, as `put` has it)
    n = len(f)
    if kind == "TRAFFIC":
        t.verdict(doc, action, allowed=allowed, phase=_PHASE.get(sub))
        ev = doc["event"]
        named = EVENT_ACTION.get(sub, action or None)
        if named:
            ev["action"] = named
        ev["category"] = ["network_traffic", "network"]  # as Elastic's traffic.yml
        # counters and geo names into source/destination/network, made where the first value needs them
        number = _number(f, n, 31)
        if number is not None:
            _obj(doc, "network")["bytes"] = number
        number = _number(f, n, 32)
        if number is not None:
            _obj(doc, "source")["bytes"] = number
        number = _number(f, n, 33)
        if number is not None:
            _obj(doc, "destination")["bytes"] = number
        number = _number(f, n, 34)
        if number is not None:
            _obj(doc, "network")["packets"] = number
        number = _number(f, n, 36)
        if number is not None:
            ev["duration"] = number * 1_000_000_000
        if n > 37 and f[37]:
            panos["url_category"] = f[37]
        if n > 41 and f[41]:
            _obj(doc, "source")["geo"] = {"name": f[41]}
        if n > 42 and f[42]:
            _obj(doc, "destination")["geo"] = {"name": f[42]}
        number = _number(f, n, 44)
        if number is not None:
            _obj(doc, "source")["packets"] = number
        number = _number(f, n, 45)
        if number is not None:
            _obj(doc, "destination")["packets"] = number
        if n > 46 and f[46]:
            panos["end_reason"] = f[46]
        if n > 52 and f[52]:
            observer["name"] = f[52]
    else:
        ev = _obj(doc, "event")
        threat = _g(f, 32) or ""
        name, _, tid = threat.rpartition("(")
        found = {"name": (name or threat).strip(), "id": tid.rstrip(")"), "category": _g(f, 33), "direction": _g(f, 35)}
        details = {leaf: value for leaf, value in found.items() if value}
        if details:
            panos["threat"] = details
        level = _g(f, 34)
        if level:
            severity = SEV.get(level.lower())
            if severity:
                ev["severity"] = severity
            _obj(doc, "log")["level"] = level
        misc = _g(f, 31)
        if misc:
            if sub == "url":
                doc["url"] = {"original": misc}
            else:
                doc["file"] = {"name": misc}
        if n > 38 and f[38]:
            _obj(doc, "source")["geo"] = {"name": f[38]}
        if n > 39 and f[39]:
            _obj(doc, "destination")["geo"] = {"name": f[39]}
        if n > 43 and len(f[43]) == 64:
            _obj(doc, "file")["hash"] = {"sha256": f[43]}
        if n > 59 and f[59]:
            observer["name"] = f[59]
        # threat.yml: alert, [intrusion_detection, threat, network] (+ malware for virus/spyware: the AV
        # views find detections by it), allowed (alert/allow/continue) or denied, outcome failure otherwise
        allowed = True if action in THREAT_ALLOWED else allowed
        ev["kind"] = "alert"
        named = EVENT_ACTION.get(sub, action or None)
        if named:
            ev["action"] = named
        ev["type"] = ["allowed"] if allowed else ["denied"] if allowed is False else ["info"]
        ev["outcome"] = "success" if action in THREAT_ALLOWED else "failure"
        ev["category"] = ["intrusion_detection", "threat", "network"] + (["malware"] if sub in MALWARE_SUBTYPES else [])
    if hdr and hdr.hostname and not observer.get("name"):
        observer["name"] = hdr.hostname
    t.direction_from_ips(doc)
    return doc


_PHASE = {"start": "start", "end": "end"}


def _obj(doc: dict[str, Any], key: str) -> dict[str, Any]:
    """doc[key], made empty when missing (source, destination, network: only objects are written there)."""
    found = doc.get(key)
    if found is None:
        found = doc[key] = {}
    return found  # type: ignore[no-any-return]


def _number(f: list[str], n: int, i: int) -> int | None:
    """Field i as a number (t.to_int), None when the line is shorter or the field empty."""
    if i >= n:
        return None
    value = f[i]
    return int(value) if value.isdecimal() else t.to_int(value) if value else None


def _user(value: str) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    if "\\" in value:
        domain, _, name = value.rpartition("\\")
        return name or None, domain.rstrip("\\") or None
    if "@" in value:
        name, _, domain = value.partition("@")
        return name or None, domain or None
    return value, None


parse_line = t.line_parser("panos", "firewall", parse, ecs_dataset="panw.panos")
parse_stream = t.stream_parser(parse_line)
