"""The facts of an address text, read once: what a text parser writes in an ECS `ip` field, the
bytes the Community ID hashes, and whether the address is private (not public).

A firewall log repeats its hosts, but a scan or a brute force from many sources brings thousands of
addresses seen once. Each of those used to be read three times (textlog.ip_or_none, the Community
ID's packing, textlog.is_private), each reading with its own pattern match and its own cache:
~2.4 us per new address. Here one reading gives all three facts and one cache keeps them:
inet_pton (networks.read_ipv4) checks a dotted quad and packs it in one C call, and the verdict is
one lookup in networks' /16 table. Any other text (IPv6, whitespace, a zone, rubbish) is read by
the three readings as they were (`ecs_text`, `packed_address`, `private_address`), so every
answer is the one each function gave before (tests/schema/test_address_facts.py keeps the old
code as the reference).

Bounded: the texts come off the network (an attacker picks them) and a shipper runs for months, so
the cache holds at most CACHE_MAX texts and is emptied when full. Emptying at once is the cheapest
eviction per new text measured here (a 400,000-address flood: ~85 ns per insertion with a clear at
8,192, ~110 ns evicting the older half, ~165 ns unbounded, slower from its size alone); a log's
hot addresses are read again at their next sight, once per 8,192 new ones.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Final

from logwarden import networks

# A fact tuple: (ECS text or None, packed bytes or None, private: bool or None); index it by these.
ECS: Final = 0
PACKED: Final = 1
PRIVATE: Final = 2
Facts = tuple[str | None, bytes | None, bool | None]

CACHE_MAX = 8192
FACTS: dict[str, Facts] = {}  # address text -> its facts; emptied (never rebound) when full

_read_ipv4 = networks.read_ipv4

def _not_public_slash16() -> bytes:
    """NOT_PUBLIC's IPv4 verdict per /16: one index per address (all its IPv4 ranges are /16 or
    shorter; one that is not would need networks.contains_ipv4 here, and fails at import)."""
    table = networks.slash16_table(networks.NOT_PUBLIC)
    if table is None:
        raise RuntimeError("a NOT_PUBLIC range is longer than /16: addresses.learn must use contains_ipv4")
    return table


_NOT_PUBLIC_SLASH16 = _not_public_slash16()
_PRIVATE_BY_SLASH16 = tuple(verdict == 1 for verdict in _NOT_PUBLIC_SLASH16)  # the same, as bools
_PTON_STRICT = networks.PTON_STRICT  # inet_pton reads exactly ipaddress's dotted quads here (probed at import)
_pton, _AF_INET = socket.inet_pton, socket.AF_INET


def facts(text: str) -> Facts:
    """The facts of `text`: (ecs_text, packed_address, private_address) of it, cached."""
    known = FACTS.get(text)
    return known if known is not None else learn(text)


def learn(text: str) -> Facts:
    """The facts of a text not in FACTS: read (a canonical dotted quad, nearly every call, once for
    the three) and kept. The hot paths call it after their own FACTS.get missed.

    When every address is new (a scan, a perimeter facing the internet) this runs for each of them:
    networks.read_ipv4 is written out (inet_pton where the platform's reader is strict) and the
    verdict is a bool read from a table, ~0.1 us less per address than the calls."""
    packed: bytes | None
    if _PTON_STRICT:
        try:
            packed = _pton(_AF_INET, text)
        except (OSError, ValueError):  # not an IPv4 address; ValueError: a NUL character inside
            packed = None
    else:
        packed = _read_ipv4(text)
    known: Facts
    if packed is not None:  # a dotted quad as ipaddress reads one: it is its own ECS text
        known = (text, packed, _PRIVATE_BY_SLASH16[(packed[0] << 8) | packed[1]])
    elif ":" in text.partition("%")[0] and len(text) <= 60 and not text[0].isspace() and not text[-1].isspace():
        known = _ipv6_facts(text)
    else:
        known = (ecs_text(text), packed_address(text), private_address(text))
    if len(FACTS) >= CACHE_MAX:
        FACTS.clear()
    FACTS[text] = known
    return known


def _ipv6_facts(text: str) -> Facts:
    """The three facts of a text with a colon before any '%', no surrounding whitespace and at most 60
    characters, from one parse: for such a text the three readings below all parse that part before
    the '%' as IPv6 (ip_address of a text with a colon is IPv6Address of it)."""
    head = text.split("%")[0]
    packed = networks.read_ipv6(head)  # inet_pton: the bytes ipaddress gives, a tenth of its cost
    if packed is None:
        try:
            packed = ipaddress.IPv6Address(head).packed
        except ValueError:
            return (None, None, None)
    compressed = _ntop(_AF_INET6, packed)  # RFC 5952 as ipaddress writes it, but for the dotted
    if "." in compressed:  # tail inet_ntop gives ::ffff:0:0/96 and ::/96 addresses
        compressed = ipaddress.IPv6Address(packed).compressed
    return (compressed, packed, networks.contains_ipv6(_NOT_PUBLIC, packed))


_ntop, _AF_INET6 = socket.inet_ntop, socket.AF_INET6


_NOT_PUBLIC = networks.NOT_PUBLIC


def ecs_text(value: object) -> str | None:
    """What an ECS `ip` field gets for `value` (uncached): the text without surrounding whitespace
    when it is a dotted quad (no leading zero: 010.0.0.2 would be octal 8 to inet_aton), an IPv6
    address (zone dropped, at most 60 characters) in its compressed form, else None."""
    text = str(value).strip()
    if _read_ipv4(text) is not None:
        return text
    if ":" in text and len(text) <= 60:
        try:
            return ipaddress.IPv6Address(text.split("%")[0]).compressed
        except ValueError:
            return None
    return None


def packed_address(text: str) -> bytes | None:
    """The address in network byte order (4 or 16 bytes; a zone id is dropped), None when `text`
    is not an IP address as ipaddress reads one (uncached)."""
    head = text.split("%")[0]
    packed = _read_ipv4(head)  # what ip_address reads as IPv4 (the same grammar)
    if packed is not None or ":" not in head:  # no IPv6 form without a colon
        return packed
    try:
        return ipaddress.ip_address(head).packed
    except ValueError:
        return None


def private_address(text: str | None) -> bool | None:
    """True when `text` is in networks.NOT_PUBLIC, False for a public address, None for no address
    (uncached)."""
    public = networks.is_public(text)
    return None if public is None else not public
