"""The text parsers' shared fast paths give the answers of the plain definitions they replace:
the one-call line id, the cached address packing of Community ID, the cached is_private, and
related.* / network.community_id built by direct dict walks."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from logwarden import networks
from logwarden.shippers import community_id as cid
from logwarden.shippers import textlog as t
from logwarden.shippers.base import event_id


@pytest.mark.parametrize("source,position,raw", [
    ("udp:127.0.0.1:5514", 0, b"<134>Jan  1 00:00:00 fw kernel: IN=eth0"),
    ("/var/log/\u7f51\u795e.log", 123456789, "\u7f51\u795e \u9632\u706b\u5899".encode("gb18030")),
    ("b", 7, b"quote ' and \" and \\ and \x00\x1f\xff"),
    ("surrogate \udcff", 1, b""),
])
def test_line_id_is_event_id(source: str, position: int, raw: bytes) -> None:
    assert t.line_id(source, position, raw) == event_id(source, position, raw)


def test_line_id_is_event_id_around_every_byte() -> None:
    """line_id joins a long line of printable ASCII without a single quote as bytes (backslashes
    doubled), and reprs any other: every byte value, alone, among printable text and after a
    backslash, in lines shorter and longer than where the bytes way starts, gives event_id's answer."""
    long_text = b"IN=eth0 " * (t._BYTES_JOIN_FROM // 8)
    for value in range(256):
        for raw in (bytes([value]), b"IN=eth0 " + bytes([value]) + b' SRC="x"', b"C:\\x" + bytes([value]), b"",
                    long_text + bytes([value]) + b' SRC="x"', b"C:\\" + long_text + bytes([value]),
                    long_text[:t._BYTES_JOIN_FROM - 1] + bytes([value])):
            assert t.line_id("s", value, raw) == event_id("s", value, raw)


@pytest.mark.parametrize("address", ["192.0.2.1", "010.0.0.1", "256.1.1.1", "2001:db8::1", "fe80::1%eth0",
                                     "::ffff:10.0.0.1", "not an ip", ""])
def test_packed_matches_ipaddress(address: str) -> None:
    try:
        expected: bytes | None = ipaddress.ip_address(address.split("%")[0]).packed
    except ValueError:
        expected = None
    assert cid._packed(address) == expected
    assert cid._packed(address) == expected  # the cached answer too


def test_community_id_refuses_mixed_families() -> None:
    assert cid.community_id("192.0.2.1", "2001:db8::1", 6, 1, 2) is None
    assert cid.community_id("192.0.2.1", "198.51.100.2", 6, 1, 2) == cid.community_id("198.51.100.2", "192.0.2.1",
                                                                                         6, 2, 1)


@pytest.mark.parametrize("address", ["10.1.2.3", "203.0.113.9", "100.64.0.1", "fe80::1", "x", "", None])
def test_is_private_cached_matches_networks(address: str | None) -> None:
    public = networks.is_public(address)
    expected = None if public is None else not public
    assert t.is_private(address) is expected
    assert t.is_private(address) is expected


def test_related_keeps_order_dedups_and_existing_values() -> None:
    doc: dict[str, Any] = {"source": {"ip": "10.0.0.1", "nat": {"ip": "192.0.2.7"}, "user": {"name": "bob"}},
           "destination": {"ip": "10.0.0.1", "domain": "db.example"}, "host": {"ip": ["10.0.0.2", "10.0.0.1"]},
           "user": {"name": ""}, "related": {"ip": ["198.51.100.1"]}, "file": {"hash": "not an object"}}
    t.related(doc)
    assert doc["related"] == {"ip": ["198.51.100.1", "10.0.0.1", "192.0.2.7", "10.0.0.2"], "user": ["bob"],
                              "hosts": ["db.example"]}
    empty: dict = {"source": {"ip": 5}}
    t.related(empty)
    assert "related" not in empty


def test_flow_id_needs_both_ends_and_a_protocol() -> None:
    doc: dict[str, Any] = {"source": {"ip": "10.0.0.1", "port": 1234}, "destination": {"ip": "192.0.2.1", "port": 80},
           "network": {"iana_number": "6"}}
    t.flow_id(doc)
    assert doc["network"]["community_id"] == cid.community_id("10.0.0.1", "192.0.2.1", 6, 1234, 80)
    no_proto = {"source": {"ip": "10.0.0.1", "port": 1}, "destination": {"ip": "192.0.2.1", "port": 2}}
    t.flow_id(no_proto)
    assert "network" not in no_proto
    icmp: dict[str, Any] = {"source": {"ip": "10.0.0.1"}, "destination": {"ip": "192.0.2.1"},
                            "network": {"iana_number": "1"},
                            "icmp": {"type": "8", "code": "0"}}
    t.flow_id(icmp)
    assert icmp["network"]["community_id"] == cid.community_id("10.0.0.1", "192.0.2.1", 1, 8, 0)


def _related_by_table(doc: dict[str, Any]) -> None:
    """The plain definition: for each target of textlog._RELATED, its fields' string values."""
    for target, fields in t._RELATED:
        values: list[str] = list(t.get(doc, target) or ())
        for name in fields:
            value = t.get(doc, name)
            for item in value if isinstance(value, list) else (value,):
                if isinstance(item, str) and item and item not in values:
                    values.append(item)
        t.put(doc, target, values)


def test_related_is_the_table_on_every_golden_document() -> None:
    import copy
    import json

    from logwarden.shippers import golden

    checked = 0
    for name, log in golden.cases():
        for doc in json.loads(golden.render(name, log))["expected"]:
            if "deadletter" in doc:
                continue
            plain = copy.deepcopy(doc)
            plain.pop("related", None)
            fast = copy.deepcopy(plain)
            _related_by_table(plain)
            t.related(fast)
            assert fast == plain  # (a parser may set related.* itself: huorong)
            checked += 1
    assert checked > 100


def _community_id_by_spec(saddr: str, daddr: str, proto: int, sport: int, dport: int) -> str:
    """Community ID v1 for a protocol with ports, seed 0, written out from the specification."""
    import base64
    import hashlib
    import struct

    src, dst = ipaddress.ip_address(saddr).packed, ipaddress.ip_address(daddr).packed
    if (dst, dport) < (src, sport):
        src, dst, sport, dport = dst, src, dport, sport
    data = struct.pack("!H", 0) + src + dst + struct.pack("!BBHH", proto, 0, sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")


def test_community_id_tcp_udp_sctp_path_is_the_spec() -> None:
    """The TCP/UDP/SCTP way with the default seed orders the ends as the spec does, equal
    addresses and equal ports included, and refuses a port outside 0-65535 or a missing one."""
    import random

    rnd = random.Random(12)
    addresses = ["10.0.0.1", "10.0.0.2", "192.0.2.1", "2001:db8::1", "2001:db8::2"]
    ports = [0, 1, 80, 443, 1024, 65535]
    for _ in range(3000):
        family = rnd.choice((addresses[:3], addresses[3:]))
        saddr, daddr = rnd.choice(family), rnd.choice(family)
        proto = rnd.choice((6, 17, 132))
        sport, dport = rnd.choice(ports), rnd.choice(ports)
        assert cid.community_id(saddr, daddr, proto, sport, dport) == _community_id_by_spec(saddr, daddr, proto,
                                                                                             sport, dport)
    assert cid.community_id("10.0.0.1", "10.0.0.2", 6, 65536, 80) is None
    assert cid.community_id("10.0.0.1", "10.0.0.2", 17, -1, 80) is None
    assert cid.community_id("10.0.0.1", "10.0.0.2", 132, None, 80) is None


def test_related_is_the_table_on_random_documents() -> None:
    """The direct ways of `related` (a plain source/destination pair, one host name) and the
    general one give the table's answer on documents made of every shape those fields take."""
    import copy
    import random

    rnd = random.Random(19)
    values = [None, "", "10.0.0.1", "10.0.0.2", "gw01", ["10.0.0.1", "x"], [], 5]
    fields = [name for _, names in t._RELATED for name in names]
    for _ in range(4000):
        doc: dict[str, Any] = {}
        for name in rnd.sample(fields, rnd.randrange(0, 6)):
            t.put(doc, name, rnd.choice(values[2:]))
            if rnd.random() < 0.2:
                t.put(doc, name, rnd.choice(values[:2]) or "0")
        if rnd.random() < 0.15:
            doc["related"] = {"ip": ["192.0.2.9"], "hosts": ["gw01"]} if rnd.random() < 0.5 else {"user": ["bob"]}
        plain, fast = copy.deepcopy(doc), copy.deepcopy(doc)
        _related_by_table(plain)
        t.related(fast)
        if "related" in fast and not fast["related"]:
            del fast["related"]
        if "related" in plain and not plain["related"]:
            del plain["related"]
        assert fast == plain, doc
