"""A mixed firewall/antivirus syslog corpus for the real-server tests and bench_syslog.

Lines are every text source's golden lines (what a device really sends, odd ones included),
varied per message (ports) and given an RFC 3164 or RFC 5424 header when they have none; plus
GBK-encoded lines (a Chinese appliance) and garbage that must dead-letter (unknown text, bytes
that are neither UTF-8 nor GB18030). Deterministic for a given count.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from logwarden.shippers import registry

SHIPPERS = Path(importlib.import_module("logwarden.shippers").__file__).resolve().parent
SOURCES = sorted(s.name for s in registry.signatures())  # the formats autodetect can recognise
TAGS = {"pfsense": "filterlog", "clamav": "clamd", "symantec": "SymantecServer", "iptables": "kernel",
        "eset": "ERAServer", "cisco_asa": "%ASA-6", "fortigate": "FG100E", "panos": "PA-3220",
        "cef": "CEF", "winfirewall": "pfirewall"}
_PORT = re.compile(rb"\b(?:51234|49822|40000|49700|53000)\b")

GBK = [
    'date=2020-04-14 time=00:30:{s:02d} devname="FG100E-总部" devid="FG100ETK18000001" logid="0000000013" '
    'type="traffic" subtype="forward" level="notice" vd="root" srcip=192.168.10.{h} srcport={p} '
    'srcintf="port2" srcintfrole="lan" dstip=203.0.113.80 dstport=443 dstintf="wan1" dstintfrole="wan" '
    'policyid=7 policyname="办公网出口" action="accept" proto=6 user="张三" sentbyte=1200 rcvdbyte=5400',
    'Virus found,IP Address: 192.168.10.{h},Computer name: 财务-PC{s:02d},Source: Auto-Protect scan,'
    'Risk name: Trojan.Gen.2,Occurrences: 1,File path: C:\\Users\\李四\\桌面\\发票{p}.exe,'
    'Actual action: Quarantined,Requested action: Quarantined,Event time: 2020-04-14 01:02:03,User Name: 李四',
]
GARBAGE = [
    b"<13>Apr 14 00:00:00 host app: nothing we know about, message %d",
    b"hello from a printer, job %d finished",
    b"<14>1 2020-04-14T00:00:00Z host app - - - {\"not\": \"a known json\", \"n\": %d}",
    b"\xff\xfe\x80 binary junk %d \x80\xff",
]


def golden(name: str) -> list[bytes]:
    out: list[bytes] = []
    for log in sorted((SHIPPERS / name / "testdata").glob("test-*.log")):
        out += [ln for ln in log.read_bytes().splitlines() if ln.strip() and not ln.startswith(b"#")]
    return out


def with_header(raw: bytes, name: str, i: int) -> bytes:
    """Keep a line's own syslog header; else add RFC 5424 (odd i) or RFC 3164 (even i)."""
    if raw.startswith(b"<"):
        return raw
    if raw[:3].isalpha() and raw[3:4] == b" ":  # "Apr 14 ..." already a 3164 header without PRI
        return b"<4>" + raw
    tag = TAGS.get(name, "app").encode()
    if i % 2:
        return b"<134>1 2020-04-14T00:20:%02d.123Z fw-%d %s - - - " % (i % 60, i % 5, tag) + raw
    return b"<134>Apr 14 00:20:%02d fw-%d %s: " % (i % 60, i % 5, tag) + raw


def mixed(n: int, garbage_every: int = 50, gbk_every: int = 40) -> list[bytes]:
    """n messages, no newlines inside (safe for newline framing), none starting with a digit."""
    pools = {name: golden(name) for name in SOURCES}
    names = [name for name in SOURCES if pools[name]]
    out: list[bytes] = []
    for i in range(n):
        if i % garbage_every == garbage_every - 1:
            out.append(GARBAGE[(i // garbage_every) % len(GARBAGE)].replace(b"%d", str(i).encode()))
            continue
        if i % gbk_every == gbk_every - 1:
            text = GBK[(i // gbk_every) % len(GBK)].format(s=i % 60, h=i % 250 + 1, p=1024 + i % 60000)
            out.append(with_header(text.encode("gbk"), "fortigate" if "devname" in text else "symantec", i))
            continue
        name = names[i % len(names)]
        pool = pools[name]
        raw = _PORT.sub(str(1024 + i % 60000).encode(), pool[(i // len(names)) % len(pool)])
        out.append(with_header(raw, name, i))
    assert not any(b"\n" in m or m[:1].isdigit() for m in out)
    return out


def octet_frame(msg: bytes) -> bytes:
    return str(len(msg)).encode() + b" " + msg
