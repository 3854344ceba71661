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
from logwarden.shippers.textlog import ParseError, SyslogHeader

ACTIONS = {"pass": True, "block": False, "reject": False, "match": None, "scrub": None}


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    text = msg.strip()
    if text.startswith("filterlog"):  # header not split off (e.g. "filterlog[123]: " after odd host)
        text = text.split(":", 1)[-1].strip()
    f = text.split(",")
    if len(f) < 9 or f[8] not in ("4", "6") or f[6] not in ACTIONS:
        raise ParseError("not a filterlog CSV line (need rule,...,action,dir,ipver)")
    # written where they go, "" absent as `put` has it (a put per field was most of the cost)
    observer: dict[str, Any] = {"vendor": "netgate", "product": "pfSense", "type": "firewall"}  # as Elastic
    if hdr and hdr.hostname:
        observer["name"] = hdr.hostname
    network: dict[str, Any] = {}
    doc: dict[str, Any] = {"observer": observer, "network": network}  # network.type is always written
    pfsense: dict[str, Any] = {}
    if f[0]:
        pfsense["rule_number"] = f[0]
    if f[1]:
        pfsense["sub_rule_number"] = f[1]
    if f[2]:
        pfsense["anchor"] = f[2]
    if f[3]:
        doc["rule"] = {"id": f[3]}
    if f[5]:
        pfsense["reason"] = f[5]
    iface, direction = f[4], f[7]
    if direction in _DIRECTION:
        network["direction"] = _DIRECTION[direction]
    if iface:
        observer["ingress" if direction == "in" else "egress"] = {"interface": {"name": iface}}
    action = f[6]
    t.verdict(doc, action, allowed=ACTIONS[action])
    ip: dict[str, Any] = {}
    if f[8] == "4":
        if len(f) < 20:
            raise ParseError("truncated IPv4 filterlog line")
        network["type"] = "ipv4"
        if f[9]:
            ip["tos"] = f[9]
        ttl = t.to_int(f[11])
        if ttl is not None:
            ip["ttl"] = ttl
        if f[12]:
            ip["id"] = f[12]
        if f[14]:
            ip["flags"] = f[14]
        proto_id, proto, length, src, dst, rest = f[15], f[16], f[17], f[18], f[19], f[20:]
    else:
        if len(f) < 17:
            raise ParseError("truncated IPv6 filterlog line")
        network["type"] = "ipv6"
        if f[10]:
            ip["flow_label"] = f[10]
        ttl = t.to_int(f[11])
        if ttl is not None:
            ip["ttl"] = ttl
        proto, proto_id, length, src, dst, rest = f[12], f[13], f[14], f[15], f[16], f[17:]
    if ip:
        pfsense["ip"] = ip
    t.transport(doc, proto_id if proto_id.isdigit() else proto)
    size = t.to_int(length)
    if size is not None:
        network["bytes"] = size
    sport = dport = None
    p = proto.lower()
    if p in ("tcp", "udp") and len(rest) >= 2:
        sport, dport = rest[0], rest[1]
        if p == "tcp" and len(rest) >= 4:
            tcp: dict[str, Any] = {}
            if rest[3]:
                tcp["flags"] = rest[3]
            window = t.to_int(rest[6]) if len(rest) > 6 else None
            if window is not None:
                tcp["window"] = window
            if tcp:
                pfsense["tcp"] = tcp
    elif p.startswith("icmp") and rest and rest[0]:
        doc["icmp"] = {"type": rest[0]}
    if pfsense:
        doc["pfsense"] = pfsense
    t.endpoint(doc, "source", src, sport)
    t.endpoint(doc, "destination", dst, dport)
    if not t.get(doc, "source.ip") or not t.get(doc, "destination.ip"):
        raise ParseError("filterlog line without valid source/destination address")
    return doc


_DIRECTION = {"in": "ingress", "out": "egress"}


parse_line = t.line_parser("pfsense", "firewall", parse, ecs_dataset="pfsense.log")
parse_stream = t.stream_parser(parse_line)
