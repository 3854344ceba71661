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
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

ALLOW = {"allow"}
DENY = {"deny", "drop", "drop-icmp", "reset-both", "reset-client", "reset-server", "block-url", "block",
        "sinkhole", "drop-all-packets", "block-continue", "block-override"}
SEV = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
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
    stamp = t.parse_time(f[6] or f[1], _TIME)
    if stamp:
        doc["@timestamp"] = stamp
    created = t.parse_time(f[1], _TIME)
    if created:
        doc["event"] = {"created": created}
    observer: dict[str, Any] = {"vendor": "Palo Alto Networks", "product": "PAN-OS", "type": "firewall"}
    if f[2]:
        observer["serial_number"] = f[2]
    for side, zone, intf in (("ingress", f[16], f[18]), ("egress", f[17], f[19])):
        if zone or intf:
            where = observer[side] = {}
            if zone:
                where["zone"] = zone
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
    for side, value in (("source", f[12]), ("destination", f[13])):
        # TRAFFIC: the user as written (Elastic's traffic.yml); THREAT: `domain\user` / `user@domain`
        # split into name and domain (its threat.yml grok); user.* is the source's
        name, domain = _user(value) if kind == "THREAT" else (value or None, None)
        if name or domain:
            user = {"name": name} if name else {}
            if domain:
                user["domain"] = domain
            t.node(doc, side)["user"] = user
            if side == "source":
                doc["user"] = dict(user)
    if f[14]:
        doc["network"] = {"application": f[14]}
    action = f[30].lower()
    panos = {"type": kind}
    for leaf, value in (("vsys", f[15]), ("session_id", f[22]), ("sub_type", sub), ("action", action)):
        if value:
            panos[leaf] = value
    doc["panw"] = {"panos": panos}
    t.transport(doc, f[29])
    allowed = True if action in ALLOW else False if action in DENY else None
    if kind == "TRAFFIC":
        phase = {"start": "start", "end": "end"}.get(sub)
        t.verdict(doc, action, allowed=allowed, phase=phase)
        put(doc, "event.action", EVENT_ACTION.get(sub, action or None))
        put(doc, "event.category", ["network_traffic", "network"])  # as Elastic's traffic.yml
        put(doc, "network.bytes", t.to_int(_g(f, 31)))
        put(doc, "source.bytes", t.to_int(_g(f, 32)))
        put(doc, "destination.bytes", t.to_int(_g(f, 33)))
        put(doc, "network.packets", t.to_int(_g(f, 34)))
        elapsed = t.to_int(_g(f, 36))
        put(doc, "event.duration", elapsed * 1_000_000_000 if elapsed is not None else None)
        put(doc, "panw.panos.url_category", _g(f, 37))
        put(doc, "source.geo.name", _g(f, 41))
        put(doc, "destination.geo.name", _g(f, 42))
        put(doc, "source.packets", t.to_int(_g(f, 44)))
        put(doc, "destination.packets", t.to_int(_g(f, 45)))
        put(doc, "panw.panos.end_reason", _g(f, 46))
        put(doc, "observer.name", _g(f, 52))
    else:
        threat = _g(f, 32) or ""
        name, _, tid = threat.rpartition("(")
        put(doc, "panw.panos.threat.name", (name or threat).strip() or None)
        put(doc, "panw.panos.threat.id", tid.rstrip(")") or None)
        put(doc, "panw.panos.threat.category", _g(f, 33))
        put(doc, "event.severity", SEV.get((_g(f, 34) or "").lower()))
        put(doc, "log.level", _g(f, 34))
        misc = _g(f, 31)
        if sub == "url":
            put(doc, "url.original", misc)
        else:
            put(doc, "file.name", misc)
        put(doc, "panw.panos.threat.direction", _g(f, 35))
        put(doc, "source.geo.name", _g(f, 38))
        put(doc, "destination.geo.name", _g(f, 39))
        put(doc, "file.hash.sha256", _g(f, 43) if len(_g(f, 43) or "") == 64 else None)
        put(doc, "observer.name", _g(f, 59))
        # threat.yml: alert, [intrusion_detection, threat, network] (+ malware for virus/spyware: the AV
        # views find detections by it), allowed (alert/allow/continue) or denied, outcome failure otherwise
        allowed = True if action in THREAT_ALLOWED else allowed
        put(doc, "event.kind", "alert")
        put(doc, "event.action", EVENT_ACTION.get(sub, action or None))
        put(doc, "event.type", ["allowed"] if allowed else ["denied"] if allowed is False else ["info"])
        put(doc, "event.outcome", "success" if action in THREAT_ALLOWED else "failure")
        cats = ["intrusion_detection", "threat", "network"] + (["malware"] if sub in MALWARE_SUBTYPES else [])
        put(doc, "event.category", cats)
    if not t.get(doc, "observer.name") and hdr:
        put(doc, "observer.name", hdr.hostname)
    t.direction_from_ips(doc)
    return doc


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
