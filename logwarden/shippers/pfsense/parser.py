"""pfSense/OPNsense `filterlog` CSV lines (format documented in pfSense's "Filter Log Format").

    rule,subrule,anchor,tracker,interface,reason,action,dir,ipver, <ip fields>, <proto fields>
    IPv4: tos,ecn,ttl,id,offset,flags,proto_id,proto,length,src,dst
    IPv6: class,flowlabel,hoplimit,proto,proto_id,length,src,dst
    tcp: sport,dport,datalen,flags,seq,ack,window,urg,options   udp: sport,dport,datalen
    icmp: type, then type-specific fields

dir in/out -> network.direction ingress/egress (interface perspective, as Elastic's pfsense
integration does) and the interface -> observer.ingress/egress.interface.name. The tracker is
the rule id (rule.id); the rule number goes to pfsense.rule_number.
"""

from __future__ import annotations

from typing import Any

from logwarden.shippers import textlog as t
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

ACTIONS = {"pass": True, "block": False, "reject": False, "match": None, "scrub": None}


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    text = msg.strip()
    if text.startswith("filterlog"):  # header not split off (e.g. "filterlog[123]: " after odd host)
        text = text.split(":", 1)[-1].strip()
    f = text.split(",")
    if len(f) < 9 or f[8] not in ("4", "6") or f[6] not in ACTIONS:
        raise ParseError("not a filterlog CSV line (need rule,...,action,dir,ipver)")
    doc: dict[str, Any] = {}
    put(doc, "observer.vendor", "netgate")  # as Elastic's pfsense pipeline writes it
    put(doc, "observer.product", "pfSense")
    put(doc, "observer.type", "firewall")
    put(doc, "observer.name", hdr.hostname if hdr else None)
    put(doc, "pfsense.rule_number", f[0])
    put(doc, "pfsense.sub_rule_number", f[1])
    put(doc, "pfsense.anchor", f[2])
    put(doc, "rule.id", f[3])
    put(doc, "pfsense.reason", f[5])
    iface, direction = f[4], f[7]
    put(doc, "network.direction", {"in": "ingress", "out": "egress"}.get(direction))
    put(doc, "observer.ingress.interface.name" if direction == "in" else "observer.egress.interface.name", iface)
    action = f[6]
    t.verdict(doc, action, allowed=ACTIONS[action])
    if f[8] == "4":
        if len(f) < 20:
            raise ParseError("truncated IPv4 filterlog line")
        put(doc, "network.type", "ipv4")
        put(doc, "pfsense.ip.tos", f[9])
        put(doc, "pfsense.ip.ttl", t.to_int(f[11]))
        put(doc, "pfsense.ip.id", f[12])
        put(doc, "pfsense.ip.flags", f[14])
        proto_id, proto, length, src, dst, rest = f[15], f[16], f[17], f[18], f[19], f[20:]
    else:
        if len(f) < 17:
            raise ParseError("truncated IPv6 filterlog line")
        put(doc, "network.type", "ipv6")
        put(doc, "pfsense.ip.flow_label", f[10])
        put(doc, "pfsense.ip.ttl", t.to_int(f[11]))
        proto, proto_id, length, src, dst, rest = f[12], f[13], f[14], f[15], f[16], f[17:]
    t.transport(doc, proto_id if proto_id.isdigit() else proto)
    put(doc, "network.bytes", t.to_int(length))
    sport = dport = None
    p = proto.lower()
    if p in ("tcp", "udp") and len(rest) >= 2:
        sport, dport = rest[0], rest[1]
        if p == "tcp" and len(rest) >= 4:
            put(doc, "pfsense.tcp.flags", rest[3])
            put(doc, "pfsense.tcp.window", t.to_int(rest[6]) if len(rest) > 6 else None)
    elif p.startswith("icmp") and rest:
        put(doc, "icmp.type", rest[0])
    t.endpoint(doc, "source", src, sport)
    t.endpoint(doc, "destination", dst, dport)
    if not t.get(doc, "source.ip") or not t.get(doc, "destination.ip"):
        raise ParseError("filterlog line without valid source/destination address")
    return doc


parse_line = t.line_parser("pfsense", "firewall", parse, ecs_dataset="pfsense.log")
parse_stream = t.stream_parser(parse_line)
