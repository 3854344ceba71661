"""Cisco ASA (and FTD) syslog messages, per Cisco's "ASA Series Syslog Messages".

Parsed in detail: 106001, 106006, 106015, 106023, 106100, 302013-302016, 305011, 305012,
710003, 733100. Any other %ASA-/%FTD- message is still an event (event.code, log.level, message)
without network fields. Address pairs `iface:real/port (mapped/port)`: real -> source/destination,
mapped (when different) -> *.nat.*. Interface names may hold colons (`v1:outside`, a VRF or
context prefix): the address is what follows the last colon that leaves a valid one.

Source is the initiator, destination the responder, on Built and Teardown alike. The ASA writes
a connection's two ends in the same order on both lines; for an outbound Built (302013/302015)
the responder comes first, so the ends are swapped (as Elastic's cisco_asa integration does).
A Teardown says no direction: it takes the one its Built line gave (remembered per device and
connection id, the last 65,536), else the end with the lower port is taken as the responder.

event.action / category / type follow Elastic's table per message id (flow-creation,
flow-expiration, firewall-rule, nat-slot); Built and Teardown also carry `allowed` in event.type
(the connection passed the policy: the Sigma firewall pipeline maps `action: allowed` there).
The optional device timestamp before %ASA ("Apr 14 2020 00:22:01" or "Apr 14 00:22:01") wins
over the syslog header's; naive times are read in the configured zone.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from logwarden.shippers import textlog as t
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

_TAG = re.compile(r"%(ASA|FTD|FWSM|PIX)-(?:[\w-]+-)?(\d)-(\d{6}):\s?")
_PRE_TS = re.compile(r"([A-Z][a-z]{2}) +(\d{1,2}) (?:(\d{4}) )?(\d{2}:\d{2}:\d{2})")
_IFACE = r"\S+?"  # the shortest name that leaves an address: `v1:outside:10.0.0.1/80` -> v1:outside
_EP = (r"(?P<{0}if>" + _IFACE + r"):(?P<{0}ip>[0-9a-fA-F.:]+?)/(?P<{0}port>\d+)"
       r"(?: \((?P<{0}mip>[0-9a-fA-F.:]+?)/(?P<{0}mport>\d+)\))?")
LEVELS = ["emergency", "alert", "critical", "error", "warning", "notification", "informational", "debugging"]

R_302_BUILT = re.compile(
    r"Built (?P<dir>inbound|outbound) (?P<proto>\w+) connection (?P<cid>\d+) for " + _EP.format("a")
    + r"(?: \([^)]*\))? to " + _EP.format("b"))
R_302_TEAR = re.compile(
    r"Teardown (?P<proto>\w+) connection (?P<cid>\d+) for " + _EP.format("a") + r"(?: \([^)]*\))? to "
    + _EP.format("b") + r"(?: \([^)]*\))?(?: duration (?P<dur>[\d:]+))?(?: bytes (?P<bytes>\d+))?(?: (?P<reason>.*))?")
R_106001 = re.compile(
    r"(?P<dir>Inbound|Outbound) (?P<proto>\w+) connection denied from (?P<sip>[0-9a-fA-F.:]+)/(?P<sport>\d+) "
    r"to (?P<dip>[0-9a-fA-F.:]+)/(?P<dport>\d+) flags (?P<flags>.*?) on interface (?P<iface>\S+)")
R_106006 = re.compile(
    r"Deny (?P<dir>inbound|outbound) (?P<proto>\w+) from (?P<sip>[0-9a-fA-F.:]+)/(?P<sport>\d+) to "
    r"(?P<dip>[0-9a-fA-F.:]+)/(?P<dport>\d+)(?: due to [^\n]*?)? on interface (?P<iface>\S+)")
R_106015 = re.compile(
    r"Deny (?P<proto>\w+) \(no connection\) from (?P<sip>[0-9a-fA-F.:]+)/(?P<sport>\d+) to "
    r"(?P<dip>[0-9a-fA-F.:]+)/(?P<dport>\d+) flags (?P<flags>.*?) +on interface (?P<iface>\S+)")
R_106023 = re.compile(
    r"Deny (?:protocol (?P<pnum>\d+)|(?P<proto>\S+)) src (?P<sif>" + _IFACE + r"):(?P<sip>[0-9a-fA-F.:]+?)"
    r"(?:/(?P<sport>\d+))?\s*(?:\((?P<suser>(?!type )[^)]*)\)\s*)?dst (?P<dif>" + _IFACE + r"):"
    r"(?P<dip>[0-9a-fA-F.:]+?)(?:/(?P<dport>\d+))?\s*(?:\((?P<duser>(?!type )[^)]*)\)\s*)?"
    r"(?:\(type (?P<itype>\d+), code (?P<icode>\d+)\)\s*)?(?:\([^)]*\)\s*)?by access-group \"(?P<acl>[^\"]*)\"")
R_106100 = re.compile(
    r"access-list (?P<acl>\S+) (?P<act>permitted|denied|est-allowed) (?P<proto>\w+) (?P<sif>[^/\s]+)/"
    r"(?P<sip>[0-9a-fA-F.:]+)\((?P<sport>\d+)\)(?:\([^)]*\))? -> (?P<dif>[^/\s]+)/(?P<dip>[0-9a-fA-F.:]+)"
    r"\((?P<dport>\d+)\)(?:\([^)]*\))? hit-cnt (?P<hits>\d+)")
R_305 = re.compile(
    r"(?P<verb>Built|Teardown) (?P<kind>dynamic|static) (?P<proto>\w+) translation from " + _EP.format("a")
    + r"(?:\([^)]*\))? to " + _EP.format("b") + r"(?: duration (?P<dur>[\d:]+))?")
R_710003 = re.compile(
    r"(?P<proto>\w+) (?:request|access) (?:discarded|denied by ACL) from (?P<sip>[0-9a-fA-F.:]+)/(?P<sport>\d+) "
    r"to (?P<dif>" + _IFACE + r"):(?P<dip>[0-9a-fA-F.:]+?)/(?P<dport>\d+)")
R_733100 = re.compile(r"\[\s*(?P<obj>[^\]]+?)\s*\] drop (?P<rate>rate-\d+) exceeded\. Current burst rate is "
                      r"(?P<burst>\d+) per second")


def _secs(dur: str | None) -> int | None:
    if not dur:
        return None
    try:
        parts = [int(p) for p in dur.split(":")]
    except ValueError:
        return None
    total = 0
    for p in parts:
        total = total * 60 + p
    return total


def _ep(doc: dict[str, Any], side: str, m: re.Match[str], g: str) -> None:
    """An `_EP` address pair (every regex that uses it has the mapped groups)."""
    ip, port, mip, mport = m.group(*_EP_GROUPS[g])
    t.endpoint(doc, side, ip, port)
    if mip and (mip != ip or mport != port):
        t.endpoint(doc, f"{side}.nat", mip, mport)


_EP_GROUPS = {g: (f"{g}ip", f"{g}port", f"{g}mip", f"{g}mport") for g in "ab"}


def _ifaces(doc: dict[str, Any], ingress: str | None, egress: str | None) -> None:
    put(doc, "observer.ingress.interface.name", ingress)
    put(doc, "observer.egress.interface.name", egress)


# connection id -> direction of its Built line, per device: a Teardown takes its ends' roles from it
_DIRECTIONS: OrderedDict[tuple[str, str], str] = OrderedDict()
_DIRECTIONS_MAX = 65_536


def _remember(device: str, cid: str, direction: str) -> None:
    _DIRECTIONS[(device, cid)] = direction
    _DIRECTIONS.move_to_end((device, cid))
    if len(_DIRECTIONS) > _DIRECTIONS_MAX:
        _DIRECTIONS.popitem(last=False)


def _built(doc: dict[str, Any], body: str, device: str) -> None:
    m = R_302_BUILT.search(body)
    if not m:
        raise ParseError("302013/302015 text not recognised")
    direction = m.group("dir")
    src, dst = ("a", "b") if direction == "inbound" else ("b", "a")
    _ep(doc, "source", m, src)
    _ep(doc, "destination", m, dst)
    _ifaces(doc, m.group(f"{src}if"), m.group(f"{dst}if"))
    t.transport(doc, m.group("proto"))
    put(doc, "network.direction", direction)
    put(doc, "cisco.asa.connection_id", m.group("cid"))
    _remember(device, m.group("cid"), direction)
    t.verdict(doc, "flow-creation", allowed=True, phase="start")


def _teardown(doc: dict[str, Any], body: str, device: str) -> None:
    m = R_302_TEAR.search(body)
    if not m:
        raise ParseError("302014/302016 text not recognised")
    direction = _DIRECTIONS.get((device, m.group("cid")))
    if direction is None:  # no Built line seen: the end with the lower port is the responder
        first, second = t.to_int(m.group("aport")) or 0, t.to_int(m.group("bport")) or 0
        outbound = first < second
    else:
        outbound = direction == "outbound"
        put(doc, "network.direction", direction)
    src, dst = ("b", "a") if outbound else ("a", "b")
    _ep(doc, "source", m, src)
    _ep(doc, "destination", m, dst)
    _ifaces(doc, m.group(f"{src}if"), m.group(f"{dst}if"))
    t.transport(doc, m.group("proto"))
    put(doc, "cisco.asa.connection_id", m.group("cid"))
    secs = _secs(m.group("dur"))
    put(doc, "event.duration", secs * 1_000_000_000 if secs is not None else None)
    put(doc, "network.bytes", t.to_int(m.group("bytes")))
    put(doc, "cisco.asa.termination_reason", (m.group("reason") or "").strip() or None)
    t.verdict(doc, "flow-expiration", allowed=True, phase="end")


def _user(doc: dict[str, Any], side: str, text: str | None) -> None:
    """`[LOCAL\\|DOMAIN\\]name[@domain][, sgt]` of an identity-firewall user -> <side>.user.*."""
    if not text:
        return
    name = text.split(",")[0].strip()
    if name.upper().startswith("LOCAL\\"):
        name = name[6:]
    domain, _, user = name.rpartition("\\")
    put(doc, f"{side}.user.name", user or None)
    put(doc, f"{side}.user.domain", domain or None)


def _simple_deny(regex: re.Pattern[str], verb: str) -> Callable[[dict[str, Any], str, str], None]:
    def handler(doc: dict[str, Any], body: str, device: str) -> None:
        m = regex.search(body)
        if not m:
            raise ParseError(f"{verb} text not recognised")
        gd = m.groupdict()
        t.endpoint(doc, "source", gd["sip"], gd["sport"])
        t.endpoint(doc, "destination", gd["dip"], gd["dport"])
        t.transport(doc, gd.get("pnum") or gd.get("proto"))
        put(doc, "observer.ingress.interface.name", gd.get("iface") or gd.get("sif"))
        put(doc, "observer.egress.interface.name", gd.get("dif"))
        put(doc, "network.direction", (gd.get("dir") or "").lower() or None)
        put(doc, "cisco.asa.tcp_flags", (gd.get("flags") or "").strip() or None)
        put(doc, "icmp.type", gd.get("itype"))
        put(doc, "icmp.code", gd.get("icode"))
        put(doc, "rule.name", gd.get("acl"))
        put(doc, "cisco.asa.rule_name", gd.get("acl"))
        _user(doc, "source", gd.get("suser"))
        _user(doc, "destination", gd.get("duser"))
        t.verdict(doc, "firewall-rule", allowed=False)

    return handler


def _106100(doc: dict[str, Any], body: str, device: str) -> None:
    m = R_106100.search(body)
    if not m:
        raise ParseError("106100 text not recognised")
    t.endpoint(doc, "source", m.group("sip"), m.group("sport"))
    t.endpoint(doc, "destination", m.group("dip"), m.group("dport"))
    _ifaces(doc, m.group("sif"), m.group("dif"))
    t.transport(doc, m.group("proto"))
    put(doc, "rule.name", m.group("acl"))
    put(doc, "cisco.asa.rule_name", m.group("acl"))
    put(doc, "cisco.asa.hit_count", t.to_int(m.group("hits")))
    t.verdict(doc, "firewall-rule", allowed=m.group("act") != "denied")


def _305(doc: dict[str, Any], body: str, device: str) -> None:
    m = R_305.search(body)
    if not m:
        raise ParseError("305011/305012 text not recognised")
    _ep(doc, "source", m, "a")
    t.endpoint(doc, "source.nat", m.group("bip"), m.group("bport"))
    _ifaces(doc, m.group("aif"), m.group("bif"))
    t.transport(doc, m.group("proto"))
    secs = _secs(m.group("dur"))
    put(doc, "event.duration", secs * 1_000_000_000 if secs is not None else None)
    built = m.group("verb") == "Built"
    put(doc, "event.action", "nat-slot")
    put(doc, "event.category", ["network", "configuration"])
    put(doc, "event.type", ["creation" if built else "deletion"])
    put(doc, "event.outcome", "success")
    put(doc, "cisco.asa.translation", f"{m.group('verb').lower()}-{m.group('kind')}")


def _733100(doc: dict[str, Any], body: str, device: str) -> None:
    m = R_733100.search(body)
    if not m:
        raise ParseError("733100 text not recognised")
    put(doc, "event.action", "threat-detected")
    put(doc, "event.type", ["info"])  # kind event, category network: as Elastic's table has it
    put(doc, "rule.name", m.group("obj"))
    put(doc, "cisco.asa.threat_level", m.group("rate"))
    put(doc, "cisco.asa.burst_rate", t.to_int(m.group("burst")))


HANDLERS: dict[str, Callable[[dict[str, Any], str, str], None]] = {
    "302013": _built, "302015": _built, "302014": _teardown, "302016": _teardown,
    "106001": _simple_deny(R_106001, "deny"), "106006": _simple_deny(R_106006, "deny"),
    "106015": _simple_deny(R_106015, "deny"), "106023": _simple_deny(R_106023, "deny"),
    "106100": _106100, "305011": _305, "305012": _305, "710003": _simple_deny(R_710003, "deny"),
    "733100": _733100,
}


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    m = _TAG.search(msg)
    if not m or m.start() > 200:
        raise ParseError("no %ASA-/%FTD- message tag")
    product, level, code = m.group(1), int(m.group(2)), m.group(3)
    prefix, body = msg[: m.start()].strip(), msg[m.end():].strip()
    # the common fields as literals (a `put` per field cost more than the rest of this function)
    observer: dict[str, Any] = {"vendor": "Cisco", "product": product.lower(), "type": "firewall"}  # asa, ftd
    doc: dict[str, Any] = {"observer": observer}
    pt = _PRE_TS.search(prefix) if prefix else None
    if pt:
        mon, day, year, hms = pt.groups()
        mnum = t.MONTHS.get(mon.lower())
        if mnum:
            y = int(year) if year else t.infer_year(mnum, int(day))
            stamp = t.parse_time(f"{y}-{mnum:02d}-{int(day):02d} {hms}", ("%Y-%m-%d %H:%M:%S",))
            if stamp:
                doc["@timestamp"] = stamp
        rest = prefix[pt.end():].strip(" :")
    else:
        rest = prefix.strip(" :")
    name = rest.split()[0] if rest else (hdr.hostname if hdr else None)
    if name:
        observer["name"] = name
    doc["event"] = {"code": code, "severity": level}
    doc["log"] = {"level": LEVELS[level] if level < len(LEVELS) else str(level)}
    if body:
        doc["message"] = body
    handler = HANDLERS.get(code)
    if handler:
        handler(doc, body, name or "")
    else:
        doc["event"]["type"] = ["info"]
    t.direction_from_ips(doc)
    return doc


parse_line = t.line_parser("cisco_asa", "firewall", parse, ecs_dataset="cisco_asa.log")
parse_stream = t.stream_parser(parse_line)
