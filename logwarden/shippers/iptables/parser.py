"""Netfilter LOG-target kernel lines (kern.log, journal, syslog, dmesg).

    [ 1234.5678] DROP-IN: IN=eth0 OUT= MAC=... SRC=203.0.113.45 DST=192.168.10.21 LEN=52 ... PROTO=TCP
    SPT=51234 DPT=3389 WINDOW=8192 RES=0x00 SYN URGP=0

The --log-prefix is the rule name; its words give the verdict (DROP/REJECT/DENY/BLOCK -> denied,
ACCEPT/ALLOW/PASS -> allowed, else only logged). IN only -> inbound to this host, OUT only ->
outbound, both -> forwarded (direction from the addresses). The line has no year: the syslog
header's date is used (year inferred) and the kernel uptime stamp is kept in iptables.uptime.
"""

from __future__ import annotations

import re
from typing import Any

from logwarden.shippers import textlog as t
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

_START = re.compile(r"(?:^|\s)IN=")
_UPTIME = re.compile(r"^\s*\[\s*(\d+\.\d+)\]\s?")
_KV = re.compile(r"(?<![A-Za-z])([A-Z]+)=(\S*)")
_FLAGS = ("CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN")
_DENY = re.compile(r"DROP|REJECT|DENY|BLOCK", re.I)
_ALLOW = re.compile(r"ACCEPT|ALLOW|PASS|PERMIT", re.I)


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    m = _START.search(msg)
    if not m or "SRC=" not in msg or "PROTO=" not in msg:
        raise ParseError("not a netfilter LOG line (no IN= / SRC= / PROTO=)")
    head, body = msg[: m.start()], msg[m.start():].strip()
    doc: dict[str, Any] = {}
    up = _UPTIME.match(head)
    if up:
        put(doc, "iptables.uptime", up.group(1))
        head = head[up.end():]
    prefix = head.strip().rstrip(":").strip()
    kv = {k: v for k, v in _KV.findall(body)}
    words = set(body.split())
    put(doc, "observer.vendor", "Netfilter")
    put(doc, "observer.product", "iptables")
    put(doc, "observer.type", "firewall")
    put(doc, "observer.name", hdr.hostname if hdr else None)
    put(doc, "observer.ingress.interface.name", kv.get("IN"))
    put(doc, "observer.egress.interface.name", kv.get("OUT"))
    mac = kv.get("MAC", "")
    if len(mac) >= 35:  # dst(17):src(17):ethertype
        put(doc, "destination.mac", mac[0:17].upper().replace(":", "-"))
        put(doc, "source.mac", mac[18:35].upper().replace(":", "-"))
    t.endpoint(doc, "source", kv.get("SRC"), kv.get("SPT"))
    t.endpoint(doc, "destination", kv.get("DST"), kv.get("DPT"))
    t.transport(doc, kv.get("PROTO"))
    put(doc, "network.type", "ipv6" if ":" in kv.get("SRC", "") else "ipv4")
    put(doc, "network.bytes", t.to_int(kv.get("LEN")))
    put(doc, "iptables.ttl", t.to_int(kv.get("TTL") or kv.get("HOPLIMIT")))
    put(doc, "iptables.id", kv.get("ID"))
    put(doc, "iptables.tcp.flags", [f for f in _FLAGS if f in words])
    put(doc, "iptables.tcp.window", t.to_int(kv.get("WINDOW")))
    put(doc, "icmp.type", kv.get("TYPE"))
    put(doc, "icmp.code", kv.get("CODE"))
    put(doc, "rule.name", prefix or None)
    if _DENY.search(prefix):
        verb = "drop" if "DROP" in prefix.upper() else "reject" if "REJECT" in prefix.upper() else "block"
        t.verdict(doc, verb, allowed=False)
    elif _ALLOW.search(prefix):
        t.verdict(doc, "accept", allowed=True)
    else:
        t.verdict(doc, "log", allowed=None)
    inn, out = kv.get("IN"), kv.get("OUT")
    put(doc, "network.direction", "inbound" if inn and not out else "outbound" if out and not inn else None)
    t.direction_from_ips(doc)
    return doc


parse_line = t.line_parser("iptables", "firewall", parse, ecs_dataset="iptables.log")
parse_stream = t.stream_parser(parse_line)
