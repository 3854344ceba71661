"""Community ID flow hashing, version 1 (https://github.com/corelight/community-id-spec).

`network.community_id` lets a SOC join one connection across tools (Zeek, Suricata, Elastic's
integrations, our firewall documents): both directions of a flow give the same string.

Version 1, as the spec defines it: SHA-1 over seed (2 bytes, network order), the two addresses,
the IANA protocol number, one zero byte of padding and, for TCP, UDP, SCTP, ICMP and ICMPv6,
the two ports, all in network byte order; the endpoints are ordered so that the smaller
(address, port) comes first; the result is "1:" + base64 of the digest. ICMP has no ports: the
type stands in for the source port and, for a type with a request/reply counterpart, that
counterpart for the destination port (both directions then hash alike); a type without one
uses its code and the flow is one-way (its endpoints are never reordered).

Written from the specification's text; tests/textlogs/test_community_id.py checks it against
the spec's published baseline vectors.
"""

from __future__ import annotations

import binascii
import hashlib
import struct
from typing import Any

from logwarden.shippers import addresses
from logwarden.shippers.addresses import PACKED
from logwarden.shippers.addresses import facts as _facts
from logwarden.shippers.addresses import learn as _learn

ICMP, TCP, UDP, ICMP6, SCTP = 1, 6, 17, 58, 132
_WITH_PORTS = frozenset((ICMP, TCP, UDP, ICMP6, SCTP))
_PAIR, _TAIL = struct.Struct("!H"), struct.Struct("!BBHH")

# request/reply pairs, both ways (echo, router, timestamp, information, address mask)
_ICMP4_PAIRS = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17}
# echo, multicast listener, router, neighbour, who-are-you, home-agent address discovery
_ICMP6_PAIRS = {128: 129, 129: 128, 130: 131, 131: 130, 133: 134, 134: 133, 135: 136, 136: 135,
                139: 140, 140: 139, 144: 145, 145: 144}


def community_id(source_ip: str, destination_ip: str, iana_number: int,
                 source_port: int | None = None, destination_port: int | None = None,
                 *, seed: int = 0) -> str | None:
    """The Community ID v1 string ("1:<base64>") of a flow, or None when it cannot be computed.

    For ICMP/ICMPv6 pass the type as `source_port` and the code as `destination_port`. Returns
    None when an address is not an IP, the two are of different families, the protocol is not
    0-255, or a protocol that has ports lacks one (or one is outside 0-65535).
    """
    known = _FACTS.get(source_ip)  # addresses.facts written out (no call on a hit)
    src_bytes: Any = (known if known is not None else _learn(source_ip))[PACKED]
    known = _FACTS.get(destination_ip)
    dst_bytes: Any = (known if known is not None else _learn(destination_ip))[PACKED]
    if src_bytes is None or dst_bytes is None or len(src_bytes) != len(dst_bytes):
        return None
    if seed == 0 and iana_number in _PORTS_NO_ICMP:
        # TCP, UDP, SCTP with the default seed (every line a parser writes): the same bytes as
        # below, packed with the seed's two zero bytes as a constant and one comparison of the ends
        if source_port is None or destination_port is None \
                or not (0 <= source_port <= 0xFFFF and 0 <= destination_port <= 0xFFFF):
            return None
        # the hash's state after the seed is copied, and the parts added one by one (no joined copy)
        h = _SHA1_SEED0.copy()
        if src_bytes < dst_bytes or (src_bytes == dst_bytes and source_port <= destination_port):
            h.update(src_bytes)
            h.update(dst_bytes)
            h.update(_TAIL.pack(iana_number, 0, source_port, destination_port))
        else:
            h.update(dst_bytes)
            h.update(src_bytes)
            h.update(_TAIL.pack(iana_number, 0, destination_port, source_port))
        return "1:" + _b64(h.digest(), newline=False).decode("ascii")
    if not 0 <= iana_number <= 255 or not 0 <= seed <= 0xFFFF:
        return None
    if iana_number not in _WITH_PORTS:
        if dst_bytes < src_bytes:
            src_bytes, dst_bytes = dst_bytes, src_bytes
        return _digest(struct.pack("!H", seed) + src_bytes + dst_bytes + struct.pack("!BB", iana_number, 0))
    if source_port is None or destination_port is None:
        return None
    sport, dport = source_port, destination_port
    one_way = False
    if iana_number == ICMP or iana_number == ICMP6:
        counterpart = (_ICMP4_PAIRS if iana_number == ICMP else _ICMP6_PAIRS).get(sport)
        if counterpart is None:
            one_way = True
        else:
            dport = counterpart
    if not (0 <= sport <= 0xFFFF and 0 <= dport <= 0xFFFF):
        return None
    if not one_way and (dst_bytes, dport) < (src_bytes, sport):
        src_bytes, dst_bytes, sport, dport = dst_bytes, src_bytes, dport, sport
    return _digest(b"".join((_PAIR.pack(seed), src_bytes, dst_bytes, _TAIL.pack(iana_number, 0, sport, dport))))


_PORTS_NO_ICMP = frozenset((TCP, UDP, SCTP))  # ports as given, both directions ordered: the fast path
_SEED0 = _PAIR.pack(0)


def _packed(address: str) -> bytes | None:
    """The address in network byte order (4 or 16 bytes), None when it is not an IP: read from its
    cached facts (addresses.packed_address of it)."""
    return _facts(address)[PACKED]


_FACTS = addresses.FACTS


def _digest(data: bytes) -> str:
    return "1:" + _b64(_sha1(data, usedforsecurity=False).digest(), newline=False).decode("ascii")


_sha1, _b64 = hashlib.sha1, binascii.b2a_base64
_SHA1_SEED0 = _sha1(_SEED0, usedforsecurity=False)  # copied per flow, never updated itself
