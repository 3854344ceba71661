"""The one definition of internal and non-public address ranges, as data.

Everything that classifies an address reads it from here: the Sigma rules' CIDR lists (checked
against it by `rule_network_problems`, so a rule that drifts fails the tests), the dashboards'
queries (expanded from `{{internal:FIELD}}` / `{{not_public:FIELD}}` placeholders at build time)
and the enrichment that derives network.direction.

Two sets, each a tuple of `Range`s:
- INTERNAL: the site's own networks (RFC 1918, IPv6 unique local). A logon or SMB connection
  between two of these is lateral movement, not an attack from outside.
- NOT_PUBLIC: INTERNAL plus addresses that never come from the internet (loopback, link-local,
  "this network", CGNAT shared space). "Public" means: not in NOT_PUBLIC.

Documentation ranges (TEST-NET-1/2/3, 2001:db8::/32) are kept as data in DOCUMENTATION but count
as public: every sample and test of this project uses them for the attacker on the internet, and
they never appear in real traffic, so treating them as internal would hide nothing real and would
blind every example.

A SOC with its own internal ranges lists them in logwarden.yml (`internal_networks: "10.20.0.0/16,
198.18.0.0/15"`); `internal(extra)` / `not_public(extra)` add them. The bundled rules carry the
defaults only: rules with site-specific lists are the SOC's own copies, checked the same way.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Range:
    cidr: str
    why: str


INTERNAL: tuple[Range, ...] = (
    Range("10.0.0.0/8", "RFC 1918 private"),
    Range("172.16.0.0/12", "RFC 1918 private"),
    Range("192.168.0.0/16", "RFC 1918 private"),
    Range("fc00::/7", "RFC 4193 IPv6 unique local"),
)
LOCAL: tuple[Range, ...] = (
    Range("0.0.0.0/8", "RFC 1122 'this network' (also 0.0.0.0 in logon events)"),
    Range("127.0.0.0/8", "RFC 1122 loopback"),
    Range("169.254.0.0/16", "RFC 3927 IPv4 link-local"),
    Range("100.64.0.0/10", "RFC 6598 CGNAT shared address space"),
    Range("::/128", "IPv6 unspecified"),
    Range("::1/128", "IPv6 loopback"),
    Range("fe80::/10", "IPv6 link-local"),
)
NOT_PUBLIC: tuple[Range, ...] = INTERNAL + LOCAL
DOCUMENTATION: tuple[Range, ...] = (
    Range("192.0.2.0/24", "RFC 5737 TEST-NET-1"),
    Range("198.51.100.0/24", "RFC 5737 TEST-NET-2"),
    Range("203.0.113.0/24", "RFC 5737 TEST-NET-3"),
    Range("2001:db8::/32", "RFC 3849 IPv6 documentation"),
)

# The lists a rule may hold, by name (see `rule_network_problems`).
LISTS: dict[str, tuple[Range, ...]] = {"internal": INTERNAL, "not_public": NOT_PUBLIC}


def parse_extra(text: str) -> tuple[Range, ...]:
    """Ranges from a comma-separated CIDR list (the `internal_networks` setting).

    Raises:
        ValueError: an entry is not a network address (host bits set are refused too).
    """
    out = []
    for entry in (e.strip() for e in text.split(",")):
        if entry:
            out.append(Range(str(ipaddress.ip_network(entry, strict=True)), "configured internal_networks"))
    return tuple(out)


def internal(extra: Iterable[Range] = ()) -> tuple[Range, ...]:
    """INTERNAL plus the site's configured ranges."""
    return INTERNAL + tuple(extra)


def not_public(extra: Iterable[Range] = ()) -> tuple[Range, ...]:
    """NOT_PUBLIC plus the site's configured ranges."""
    return NOT_PUBLIC + tuple(extra)


def cidrs(ranges: Iterable[Range]) -> list[str]:
    """The CIDR strings, in definition order (the order rules and queries list them in)."""
    return [r.cidr for r in ranges]


@lru_cache(maxsize=16)
def _networks(ranges: tuple[Range, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(r.cidr) for r in ranges)


@lru_cache(maxsize=16)
def _ipv4_masks(ranges: tuple[Range, ...]) -> tuple[tuple[int, int], ...]:
    """(network, netmask) as integers for the IPv4 ranges: what `ip in net` compares."""
    return tuple((int(net.network_address), int(net.netmask)) for net in _networks(ranges)
                 if net.version == 4)


# The constant lists by identity: an lru_cache key of 11 Ranges costs ~2 us to hash on every call.
_CONSTANT_NETWORKS = {id(r): _networks(r) for r in (INTERNAL, NOT_PUBLIC)}


# What ipaddress.IPv4Address accepts: four ASCII decimal octets, each at most 255, no leading zero
# (for `fullmatch`): the grammar `read_ipv4` reads, written out (the tests hold the two side by side).
DOTTED_QUAD = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                          r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")


def _pton_reads_dotted_quads_only() -> bool:
    """Whether this platform's inet_pton(AF_INET) refuses what DOTTED_QUAD refuses (glibc, musl and
    the BSDs do: no leading zero, no short or hexadecimal forms, ASCII digits only), probed once on
    the texts where a lax reader would differ; `read_ipv4` uses the pattern first where it does not."""
    for text in ("01.2.3.4", "1.2.3.04", "00.0.0.0", "256.0.0.0", "1.2.3", "1.2.3.4.", "1..3.4", " 1.2.3.4",
                 "1.2.3.4 ", "1.2.3.4\n", "0x1.2.3.4", "+1.2.3.4", "1.2.3.-4", "\u0661.2.3.4", "1.2.3.4%0"):
        try:
            socket.inet_pton(socket.AF_INET, text)
        except (OSError, ValueError):
            continue
        return False
    return socket.inet_pton(socket.AF_INET, "255.0.10.1") == b"\xff\x00\x0a\x01"


def _pton6_refuses_what_ipaddress_refuses() -> bool:
    """Whether this platform's inet_pton(AF_INET6) refuses the texts ipaddress.IPv6Address refuses
    where a lax reader could differ (glibc does; checked on 1.2 million random texts when written)."""
    for text in ("1::2::3", "12345::", "::ffff:01.2.3.4", "::ffff:256.1.1.1", "::1.2.3", "1:2:3:4:5:6:7:8:9",
                 ":1::", "1:::2", "::g", "1.2.3.4", " ::1", "::1 ", "::1%0", "::\uff11", "::1.2.3.4.5",
                 "1:2:3:4:5:6:7:8::", "::1.2.3.4:1"):
        try:
            socket.inet_pton(socket.AF_INET6, text)
        except (OSError, ValueError):
            continue
        return False
    return socket.inet_pton(socket.AF_INET6, "fe80::1:2") == ipaddress.IPv6Address("fe80::1:2").packed


PTON_STRICT = _pton_reads_dotted_quads_only()  # public: addresses.learn writes read_ipv4 out
_PTON6_STRICT = _pton6_refuses_what_ipaddress_refuses()
_pton, _AF_INET, _AF_INET6 = socket.inet_pton, socket.AF_INET, socket.AF_INET6


def read_ipv4(text: str) -> bytes | None:
    """The four bytes of `text` when it is a dotted quad as ipaddress.IPv4Address reads one
    (DOTTED_QUAD, whole text, no whitespace), else None. One C call (inet_pton) where the platform's
    reader is as strict as the pattern: a fifth of the pattern's cost, and the bytes come with it."""
    if PTON_STRICT or DOTTED_QUAD.fullmatch(text):
        try:
            return _pton(_AF_INET, text)
        except (OSError, ValueError):  # not an IPv4 address; ValueError: a NUL character inside
            return None
    return None


def read_ipv6(text: str) -> bytes | None:
    """The 16 bytes of `text` when inet_pton reads it as IPv6 on a platform where that reader is as
    strict as ipaddress.IPv6Address (the same bytes then); None when it does not, or the platform's
    reader is not known to be strict: the caller asks ipaddress then (no zone id: split it off first)."""
    if not _PTON6_STRICT:
        return None
    try:
        return _pton(_AF_INET6, text)
    except (OSError, ValueError):
        return None


def slash16_table(ranges: tuple[Range, ...]) -> bytes | None:
    """One byte per /16 of IPv4 (index: first octet * 256 + second), 1 where that /16 lies in one of
    the IPv4 `ranges`, else 0; None when a range is longer than /16 (a /16 would then be partly
    inside). INTERNAL's and NOT_PUBLIC's IPv4 ranges are all /16 or shorter."""
    table = bytearray(65536)
    for net in _networks(ranges):
        if net.version != 4:
            continue
        if net.prefixlen > 16:
            return None
        first = int(net.network_address) >> 16
        table[first:first + (1 << (16 - net.prefixlen))] = b"\x01" * (1 << (16 - net.prefixlen))
    return bytes(table)


@lru_cache(maxsize=16)
def _ipv4_judge(ranges: tuple[Range, ...]) -> tuple[bytes | None, tuple[tuple[int, int], ...]]:
    """What `contains_ipv4` reads for `ranges`: the /16 table (None when a range is longer) and the
    (network, netmask) pairs."""
    return slash16_table(ranges), _ipv4_masks(ranges)


# The constant lists by identity (every range of both is /16 or shorter: judged by the table).
_CONSTANT_IPV4 = {id(r): _ipv4_judge(r) for r in (INTERNAL, NOT_PUBLIC)}


def contains_ipv4(ranges: tuple[Range, ...], packed: bytes) -> bool:
    """Whether the IPv4 address of these four bytes lies in one of `ranges`: a lookup in the /16
    table when the ranges allow one, else the integer against each range's network and mask."""
    table, masks = _CONSTANT_IPV4.get(id(ranges)) or _ipv4_judge(ranges)
    if table is not None:
        return table[(packed[0] << 8) | packed[1]] == 1
    value = int.from_bytes(packed, "big")
    return any(value & mask == network for network, mask in masks)


def contains(ranges: tuple[Range, ...], address: str | None) -> bool | None:
    """Whether `address` lies in one of `ranges`; None when it is missing or not an address.
    IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged as their IPv4 address.

    A plain dotted quad (what firewalls write, nearly every call) is read by `read_ipv4` and judged
    by `contains_ipv4`: the answer `ip in net` gives, at a tenth of its cost for an address seen
    the first time (tests/schema/test_networks_fast.py holds the two side by side); anything else
    goes through ipaddress."""
    if not address:
        return None
    text = address.strip().split("%", 1)[0]
    packed = read_ipv4(text)
    if packed is not None:
        return contains_ipv4(ranges, packed)
    if ":" not in text:  # not a dotted quad and no IPv6 form: ipaddress would refuse it too
        return None
    packed = read_ipv6(text)
    if packed is None:
        try:
            packed = ipaddress.IPv6Address(text).packed  # ip_address's answer for a text with a colon
        except ValueError:
            return None
    return contains_ipv6(ranges, packed)


_MAPPED = bytes(10) + b"\xff\xff"  # ::ffff:0:0/96, IPv4-mapped addresses


@lru_cache(maxsize=16)
def _ipv6_masks(ranges: tuple[Range, ...]) -> tuple[tuple[int, int], ...]:
    """(network, netmask) as integers for the IPv6 ranges: what `ip in net` compares."""
    return tuple((int(net.network_address), int(net.netmask)) for net in _networks(ranges) if net.version == 6)


_CONSTANT_IPV6 = {id(r): _ipv6_masks(r) for r in (INTERNAL, NOT_PUBLIC)}


def contains_ipv6(ranges: tuple[Range, ...], packed: bytes) -> bool:
    """Whether the IPv6 address of these 16 bytes lies in one of `ranges`; an IPv4-mapped address
    (::ffff:a.b.c.d) is judged as its IPv4 address."""
    if packed[:12] == _MAPPED:
        return contains_ipv4(ranges, packed[12:])
    value = int.from_bytes(packed, "big")
    masks = _CONSTANT_IPV6.get(id(ranges)) or _ipv6_masks(ranges)
    return any(value & mask == network for network, mask in masks)


def is_internal(address: str | None, extra: tuple[Range, ...] = ()) -> bool | None:
    """True for the site's own networks, False for any other address, None for no address."""
    return contains(internal(extra) if extra else INTERNAL, address)


def is_public(address: str | None, extra: tuple[Range, ...] = ()) -> bool | None:
    """True for an address that may come from the internet, None for no address."""
    found = contains(not_public(extra) if extra else NOT_PUBLIC, address)
    return None if found is None else not found


def lucene_list(ranges: Iterable[Range]) -> str:
    """The ranges as a Lucene term list on an `ip` field: ("10.0.0.0/8" OR ...)."""
    return "(" + " OR ".join(f'"{c}"' for c in cidrs(ranges)) + ")"


def _cidr_lists(node: object, where: str = "") -> Iterable[tuple[str, list[str]]]:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and "|cidr" in key:
                yield here, [str(v) for v in (value if isinstance(value, list) else [value])]
            else:
                yield from _cidr_lists(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _cidr_lists(value, f"{where}[{i}]")


def rule_problems(rule: dict[str, object]) -> list[str]:
    """Where a Sigma rule's `|cidr` list names one of our ranges but is not exactly one of LISTS
    (same entries, same order). Lists naming none of our ranges (a site's own subnets) pass.

    Returns:
        One message per offending list, naming its place in the detection and the list it
        should be; empty when the rule is consistent with this module.
    """
    known = {r.cidr for r in NOT_PUBLIC + DOCUMENTATION}
    found = []
    for where, values in _cidr_lists(rule.get("detection") or {}):
        if not known.intersection(values):
            continue
        if any(values == cidrs(ranges) for ranges in LISTS.values()):
            continue
        close = min(LISTS, key=lambda name: len(set(cidrs(LISTS[name])) ^ set(values)))
        found.append(f"{where}: {values} is not the {close!r} list of logwarden.networks: {cidrs(LISTS[close])}")
    return found
