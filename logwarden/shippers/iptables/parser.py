"""Netfilter LOG-target kernel lines (kern.log, journal, syslog, dmesg).

    [ 1234.5678] DROP-IN: IN=eth0 OUT= MAC=... SRC=203.0.113.45 DST=192.168.10.21 LEN=52 ... PROTO=TCP
    SPT=51234 DPT=3389 WINDOW=8192 RES=0x00 SYN URGP=0

The --log-prefix is the rule name; its words give the verdict (DROP/REJECT/DENY/BLOCK -> denied,
ACCEPT/ALLOW/PASS -> allowed, else only logged). IN only -> inbound to this host, OUT only ->
outbound, both -> forwarded (direction from the addresses). The line has no year: the syslog
header's date is used (year inferred) and the kernel uptime stamp is kept in iptables.uptime.

Ubiquiti EdgeOS / USG / UDM prefixes `[RULESET-RULE-A|D|R]` may be glued to `IN=`
(`[wan-lan-default-D]IN=eth0`): as Elastic's iptables integration reads them, rule.name is the
rule set, rule.id the rule, the letter the action (A accept, D drop, R reject), and a rule set
named `<in>-<out>` gives observer.ingress/egress.zone; iptables.ubiquiti.* keeps the parts.
An ICMP error quotes the packet it answers in brackets (`[SRC=... DST=... PROTO=UDP SPT=...]`):
the quoted fields never replace the error's own addresses and protocol (event.original keeps them).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from logwarden.shippers import textlog as t
from logwarden.shippers.textlog import ParseError, SyslogHeader

_START = re.compile(r"(?<![A-Za-z0-9_])IN=")
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")  # _START's lookbehind
_UBIQUITI = re.compile(r"\[(?P<set>[^\]]*)-(?P<rule>[^-\]]*)-(?P<act>[ADRadr])\]")
_UBIQUITI_ACTIONS = {"a": ("accept", True), "d": ("drop", False), "r": ("reject", False)}
_UPTIME = re.compile(r"^\s*\[\s*(\d+\.\d+)\]\s?")
_KV = re.compile(r"(?<![A-Za-z])([A-Z]+)=(\S*)")
_FLAGS = ("CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN")
_FLAG_SET = frozenset(_FLAGS)
_DENY = re.compile(r"DROP|REJECT|DENY|BLOCK", re.I)
_ALLOW = re.compile(r"ACCEPT|ALLOW|PASS|PERMIT", re.I)


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    start = msg.find("IN=")
    if start > 0 and msg[start - 1] in _WORD:  # "xIN=": _START finds the first IN= that starts a word
        m = _START.search(msg, start)
        start = m.start() if m else -1
    if start < 0 or "SRC=" not in msg or "PROTO=" not in msg:
        raise ParseError("not a netfilter LOG line (no IN= / SRC= / PROTO=)")
    head, body = msg[:start], msg[start:].strip()
    quoted = body.find(" [")  # an ICMP error's quoted packet, or INCOMPLETE [n bytes]
    if quoted > 0:
        body = body[:quoted]
    up = _UPTIME.match(head) if "[" in head else None
    if up:
        head = head[up.end():]
    prefix = head.strip().rstrip(":").strip()
    tokens = body.split()
    kv = _pairs(tokens, body)
    get = kv.get
    inn, out = get("IN"), get("OUT")
    # built as literals with conditional writes: `put` per field was most of this parser's cost
    observer: dict[str, Any] = {"vendor": "Netfilter", "product": "iptables", "type": "firewall"}
    doc: dict[str, Any] = {"iptables": {"uptime": up.group(1)}, "observer": observer} if up \
        else {"observer": observer}
    if hdr is not None and hdr.hostname:
        observer["name"] = hdr.hostname
    if inn:
        observer["ingress"] = {"interface": {"name": inn}}
    if out:
        observer["egress"] = {"interface": {"name": out}}
    mac = get("MAC", "")
    if len(mac) >= 35:  # dst(17):src(17):ethertype
        doc["destination"] = {"mac": mac[0:17].upper().replace(":", "-")}
        doc["source"] = {"mac": mac[18:35].upper().replace(":", "-")}
    src = get("SRC")
    t.endpoint(doc, "source", src, get("SPT"))
    t.endpoint(doc, "destination", get("DST"), get("DPT"))
    t.transport(doc, get("PROTO"))
    network = doc.setdefault("network", {})
    network["type"] = "ipv6" if src and ":" in src else "ipv4"
    length = t.to_int(get("LEN"))
    if length is not None:
        network["bytes"] = length
    ipt = doc.setdefault("iptables", {})
    ttl = t.to_int(get("TTL") or get("HOPLIMIT"))
    if ttl is not None:
        ipt["ttl"] = ttl
    if get("ID"):
        ipt["id"] = kv["ID"]
    tcp: dict[str, Any] = {}
    present = _FLAG_SET.intersection(tokens)  # no set of all the tokens: most lines have one flag or none
    if present:
        tcp["flags"] = [f for f in _FLAGS if f in present]
    window = t.to_int(get("WINDOW"))
    if window is not None:
        tcp["window"] = window
    if tcp:
        ipt["tcp"] = tcp
    if not ipt:
        del doc["iptables"]
    t.icmp(doc, get("TYPE"), get("CODE"))
    ubiquiti, verb, allowed = _prefix(prefix)
    if ubiquiti:
        _ubiquiti(doc, *ubiquiti)
    else:
        if prefix:
            doc["rule"] = {"name": prefix}
        t.verdict(doc, verb, allowed=allowed)
    if inn and not out:
        network["direction"] = "inbound"
    elif out and not inn:
        network["direction"] = "outbound"
    else:
        t.direction_from_ips(doc)
    return doc


@functools.lru_cache(maxsize=4096)
def _prefix(prefix: str) -> tuple[tuple[str, str, str] | None, str, bool | None]:
    """What a --log-prefix says: the Ubiquiti (set, rule, letter) when it is one, else the verb
    and verdict its words give; remembered per prefix (a host has a few)."""
    ubiquiti = _UBIQUITI.search(prefix) if "[" in prefix else None
    found: tuple[tuple[str, str, str] | None, str, bool | None]
    if ubiquiti:
        rule_set, rule, letter = ubiquiti.group("set", "rule", "act")
        found = (rule_set, rule, letter), "", None
    elif _DENY.search(prefix):
        upper = prefix.upper()
        found = None, "drop" if "DROP" in upper else "reject" if "REJECT" in upper else "block", False
    elif _ALLOW.search(prefix):
        found = None, "accept", True
    else:
        found = None, "log", None
    return found


# the keys the LOG target writes (IPv4, IPv6, TCP, UDP, ICMP, bridge, --log-uid): a set lookup
# instead of three str tests for each; every one of them passes those tests
_KEYS = frozenset(("IN", "OUT", "PHYSIN", "PHYSOUT", "MAC", "SRC", "DST", "LEN", "TOS", "PREC", "TTL", "ID", "PROTO",
                   "SPT", "DPT", "WINDOW", "RES", "URGP", "TC", "HOPLIMIT", "FLOWLBL", "SEQ", "ACK", "TYPE", "CODE",
                   "MTU", "MARK", "UID", "GID"))


def _pairs(tokens: list[str], body: str) -> dict[str, str]:
    """KEY=value pairs (_KV's matches), the first of a repeated key winning (ID= of IP before ID=
    of an ICMP echo). A token holds at most one match (the value runs to its end); a token that
    starts with its KEY= is split with str methods, and any other token with "=" in it sends the
    whole body through _KV, so the answer is _KV's either way."""
    kv: dict[str, str] = {}
    for token in tokens:
        key, eq, value = token.partition("=")
        if not eq:
            continue
        if key not in _KEYS and not (key.isascii() and key.isalpha() and key.isupper()):
            return dict(reversed(_KV.findall(body)))
        if key not in kv:
            kv[key] = value
    return kv


def _ubiquiti(doc: dict[str, Any], rule_set: str, rule: str, letter: str) -> None:
    """rule, zones and verdict of a Ubiquiti `[RULESET-RULE-LETTER]` prefix. Written as dict
    literals in the order `put` per field made them: iptables.ubiquiti (rule_set, rule_number,
    then the zones), rule (name, id), observer.ingress/egress.zone; empty parts left out."""
    zones = rule_set.split("-")
    two_zones = len(zones) == 2 and all(zones)
    ubiquiti: dict[str, Any] = {}
    if rule_set:
        ubiquiti["rule_set"] = rule_set
    if rule:
        ubiquiti["rule_number"] = rule
    if two_zones:  # rule_set is not empty: the object is already there
        ubiquiti["input_zone"], ubiquiti["output_zone"] = zones
    if ubiquiti:
        doc.setdefault("iptables", {})["ubiquiti"] = ubiquiti
    named = {"name": rule_set} if rule_set else {}
    if rule:
        named["id"] = rule
    if named:
        doc["rule"] = named
    if two_zones:
        observer = doc["observer"]
        for side, zone in (("ingress", zones[0]), ("egress", zones[1])):
            observer.setdefault(side, {})["zone"] = zone
    verb, allowed = _UBIQUITI_ACTIONS[letter.lower()]
    t.verdict(doc, verb, allowed=allowed)


parse_line = t.line_parser("iptables", "firewall", parse, ecs_dataset="iptables.log")
parse_stream = t.stream_parser(parse_line)
