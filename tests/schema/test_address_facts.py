"""An address text is read once (logwarden/shippers/addresses.py): inet_pton for a dotted quad, a /16
table for the verdict, one cache for the three facts. The three readings it replaced are kept here
as they were (a pattern match each, the integer masks, three caches) and both are asked the same
hostile texts: leading zeros, Unicode and fullwidth digits, octets out of range, short and long
forms, IPv6 with zone ids and embedded IPv4, whitespace and control characters around or inside.
Every answer must be the old one, first seen or cached, whichever function reads the text first."""

from __future__ import annotations

import functools
import ipaddress
import re
import socket

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logwarden import networks
from logwarden.networks import INTERNAL, NOT_PUBLIC, Range
from logwarden.shippers import addresses, community_id, textlog

# ------------------------------------------------------------------ the readings as they were
OLD_DOTTED_QUAD = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                             r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")


def old_ip_or_none(value: object) -> str | None:
    """textlog._ip_or_none before addresses.py."""
    text = str(value).strip()
    if OLD_DOTTED_QUAD.fullmatch(text):
        return text
    if ":" in text and len(text) <= 60:
        try:
            return ipaddress.IPv6Address(text.split("%")[0]).compressed
        except ValueError:
            return None
    return None


def old_packed(address: str) -> bytes | None:
    """community_id._packed before addresses.py (without its cache)."""
    if OLD_DOTTED_QUAD.fullmatch(address):
        return socket.inet_pton(socket.AF_INET, address)
    try:
        return ipaddress.ip_address(address.split("%")[0]).packed
    except ValueError:
        return None


@functools.lru_cache(maxsize=8)
def _old_networks(ranges: tuple[Range, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(r.cidr) for r in ranges]


def old_contains(ranges: tuple[Range, ...], address: str | None) -> bool | None:
    """networks.contains before read_ipv4 and the /16 table."""
    if not address:
        return None
    text = address.strip().split("%", 1)[0]
    nets = _old_networks(ranges)
    if OLD_DOTTED_QUAD.fullmatch(text):
        a, b, c, d = text.split(".")
        value = (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)
        return any(value & int(n.netmask) == int(n.network_address) for n in nets if n.version == 4)
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == n.version and ip in n for n in nets)


def old_is_private(ip: str | None) -> bool | None:
    """textlog.is_private before addresses.py (without its cache)."""
    return old_contains(NOT_PUBLIC, ip)  # not is_public(ip): in NOT_PUBLIC, None for no address


# ------------------------------------------------------------------ hostile texts
_OCTETS = st.one_of(
    st.integers(0, 255).map(str),
    st.sampled_from(["0", "10", "100", "127", "169", "172", "192", "15", "16", "31", "32", "63", "64", "128", "167",
                     "168", "169", "253", "254", "255"]),  # the ranges' first two octets and their neighbours
    st.sampled_from(["00", "01", "010", "001", "0255", "256", "299", "999", "1000", "-1", "+1", "", "0x0a", "1e1",
                     " 1", "1 ", "\u0661", "\u0661\u0660", "\uff11", "\uff10", "\u00b9", "\u09ea", "\u07c1",
                     "\U0001d7d9", "1\u200b", "\u0662\u0665\u0665"]),
)
_HOSTILE_AROUND = ["\t", "\n", "\r\n", "\x00", "\x0b", "\u00a0", "\u2003", "\u3000", " ", "%eth0", "%", "%1",
                   "/24", ":80", "]", "\u202e"]
_AROUND = st.sampled_from([""] * len(_HOSTILE_AROUND) * 2 + _HOSTILE_AROUND)  # mostly nothing: valid quads too
_SEPARATORS = st.sampled_from(["."] * 12 + ["..", "\u3002", "\uff0e", ",", " ."])


@st.composite
def dotted(draw: st.DrawFn) -> str:
    parts = [draw(_OCTETS) for _ in range(draw(st.sampled_from([3, 4, 4, 4, 4, 4, 5])))]
    text = parts[0]
    for part in parts[1:]:
        text += draw(_SEPARATORS) + part
    return draw(_AROUND) + text + draw(_AROUND) + draw(_AROUND)


@st.composite
def ipv6(draw: st.DrawFn) -> str:
    value = ipaddress.IPv6Address(draw(st.one_of(st.integers(0, 2**128 - 1), st.integers(0, 2**32 - 1),
                                                 st.integers(0, 2**32 - 1).map(lambda v: v | 0xFFFF00000000))))
    form = draw(st.sampled_from(["compressed", "exploded", "upper", "embedded", "mapped", "nat64", "extra", "long"]))
    if form == "compressed":
        text = value.compressed
    elif form == "exploded":
        text = value.exploded
    elif form == "upper":
        text = value.compressed.upper()
    elif form in ("embedded", "mapped", "nat64"):
        head = {"embedded": "::", "mapped": "::ffff:", "nat64": "64:ff9b::"}[form]
        text = head + draw(dotted())
    elif form == "extra":
        text = value.exploded + ":" + draw(st.sampled_from(["1", "", "::"]))
    else:
        text = value.exploded.replace(":", ":0", 1)
    zone = draw(st.sampled_from(["", "", "%eth0", "%1", "%", "%\u0661", "%%x", "% "]))
    return draw(_AROUND) + text + zone + draw(_AROUND)


RANGES = [INTERNAL, NOT_PUBLIC, networks.internal(networks.parse_extra("198.18.0.0/15, 10.20.30.0/24, fd00:1::/32")),
          networks.not_public(networks.parse_extra("203.0.113.0/24, 2001:db8:1::/48"))]
_IPV4_NETS = [n for ranges in RANGES for n in map(ipaddress.ip_network, (r.cidr for r in ranges)) if n.version == 4]
_IPV4_EDGES = sorted({int(n.network_address) for n in _IPV4_NETS} | {int(n.broadcast_address) + 1 for n in _IPV4_NETS})


@st.composite
def valid_quad(draw: st.DrawFn) -> str:
    """A canonical dotted quad, half of them within 2^17 of a range's first or last address."""
    if draw(st.booleans()):
        return str(ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1))))
    edge, offset = draw(st.sampled_from(_IPV4_EDGES)), draw(st.integers(-(2**17), 2**17 - 1))
    return str(ipaddress.IPv4Address(min(max(edge + offset, 0), 2**32 - 1)))


TEXTS = st.one_of(valid_quad(), dotted(), ipv6(),
                  st.text(alphabet="0123456789abcdefABCDEF:.% \t\n\u0661\uff11", max_size=45))
_SETTINGS = settings(max_examples=4000, deadline=None, suppress_health_check=list(HealthCheck), database=None)

_READERS = {
    "ip_or_none": (textlog.ip_or_none, old_ip_or_none),
    "packed": (community_id._packed, old_packed),
    "is_private": (textlog.is_private, old_is_private),
}


@_SETTINGS
@given(TEXTS, st.permutations(sorted(_READERS)))
@example("١٠.٠.٠.١", ["ip_or_none", "packed", "is_private"])
@example("010.0.0.2", ["packed", "is_private", "ip_or_none"])
@example(" 10.0.0.1", ["packed", "ip_or_none", "is_private"])
@example("10.0.0.1%eth0", ["is_private", "packed", "ip_or_none"])
@example("fe80::1%eth0", ["ip_or_none", "packed", "is_private"])
@example("::ffff:10.0.0.1", ["packed", "ip_or_none", "is_private"])
@example("::ffff:010.0.0.1", ["is_private", "ip_or_none", "packed"])
@example("1.2.3.4\x00", ["ip_or_none", "packed", "is_private"])
@example("10.0.0.1%:80", ["ip_or_none", "packed", "is_private"])
@example("fe80::1%eth0 ", ["packed", "ip_or_none", "is_private"])
def test_the_three_facts_are_the_old_readings_first_seen_and_cached(text: str, order: list[str]) -> None:
    addresses.FACTS.clear()
    for _ in range(2):  # first sight (whichever reader comes first learns the text), then from the cache
        for name in order:
            new, old = _READERS[name]
            assert new(text) == old(text), (name, text)
    stripped = text.strip()
    assert textlog.ip_or_none(stripped) == old_ip_or_none(stripped)


@_SETTINGS
@given(TEXTS)
@example("255.255.255.255")
@example("0.0.0.0")
def test_read_ipv4_is_the_pattern_and_contains_gives_the_old_verdicts(text: str) -> None:
    want = socket.inet_pton(socket.AF_INET, text) if OLD_DOTTED_QUAD.fullmatch(text) else None
    assert networks.read_ipv4(text) == want
    for ranges in RANGES:
        assert networks.contains(ranges, text) is old_contains(ranges, text), text


def test_inet_pton_is_as_strict_as_the_pattern_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform's reader is probed strict (so the tests above ran the fast path), and the
    pattern-first path for a lax one reads the same."""
    assert networks._pton_reads_dotted_quads_only() is True and networks.PTON_STRICT is True
    monkeypatch.setattr(networks, "PTON_STRICT", False)
    monkeypatch.setattr(addresses, "_PTON_STRICT", False)  # addresses.learn's own copy of the probe
    for text in ("1.2.3.4", "01.2.3.4", "1.2.3", "256.1.1.1", "1.2.3.4 ", "١.2.3.4", "203.0.113.9", "10.1.2.3"):
        want = socket.inet_pton(socket.AF_INET, text) if OLD_DOTTED_QUAD.fullmatch(text) else None
        assert networks.read_ipv4(text) == want, text
        addresses.FACTS.clear()
        assert (addresses.learn(text)[1], community_id._packed(text)) == (want, old_packed(text)), text
        assert textlog.is_private(text) is old_is_private(text), text


@_SETTINGS
@given(ipv6())
@example("::ffff:1.2.3.4")
@example("::1.2.3.4")
@example("::0.0.0.2")
@example("64:ff9b::10.0.0.1")
def test_ipv6_read_by_inet_pton_or_by_ipaddress_gives_the_old_facts(text: str) -> None:
    """inet_pton6 is probed strict here (its bytes are ipaddress's), inet_ntop's text is ipaddress's
    compressed one but for the dotted tails, and the ipaddress-only path reads the same."""
    assert networks._pton6_refuses_what_ipaddress_refuses() is True and networks._PTON6_STRICT is True
    want = (old_ip_or_none(text), old_packed(text), old_is_private(text))
    addresses.FACTS.clear()
    assert addresses.facts(text) == want
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(networks, "_PTON6_STRICT", False)
        addresses.FACTS.clear()
        assert addresses.facts(text) == want
        for ranges in RANGES:
            assert networks.contains(ranges, text) is old_contains(ranges, text)
    addresses.FACTS.clear()


@pytest.mark.parametrize("ranges", RANGES, ids=["internal", "not_public", "internal+site", "not_public+site"])
def test_the_slash16_table_agrees_with_the_masks_on_every_slash16(ranges: tuple[Range, ...]) -> None:
    table = networks.slash16_table(ranges)
    has_long = any(ipaddress.ip_network(r.cidr).version == 4 and ipaddress.ip_network(r.cidr).prefixlen > 16
                   for r in ranges)
    assert (table is None) is has_long
    for index in range(65536):
        for low in (0, 0xFFFF):  # the first and last address of the /16 (a range inside it splits them)
            packed = ((index << 16) | low).to_bytes(4, "big")
            want = old_contains(ranges, socket.inet_ntoa(packed))
            if table is not None:
                assert (table[index] == 1) is want, socket.inet_ntoa(packed)
            assert networks.contains_ipv4(ranges, packed) is want, socket.inet_ntoa(packed)
        if table is None and index > 4096:
            break  # the masks path: one slice is enough (the /24 lies in 10.20.x, below 16.0.0.0)


def test_every_range_boundary_and_its_neighbours_read_as_before() -> None:
    for r in NOT_PUBLIC + networks.DOCUMENTATION:
        net = ipaddress.ip_network(r.cidr)
        if net.version != 4:
            continue
        first, last = int(net.network_address), int(net.broadcast_address)
        for value in (first - 1, first, first + 1, last - 1, last, last + 1):
            if 0 <= value < 2**32:
                text = str(ipaddress.IPv4Address(value))
                addresses.FACTS.clear()
                assert textlog.is_private(text) is old_is_private(text), text
                assert addresses.facts(text) == (old_ip_or_none(text), old_packed(text), old_is_private(text))


def test_the_cache_stays_bounded_and_right_across_its_clearing() -> None:
    addresses.FACTS.clear()
    texts = [f"100.{i >> 8 & 255}.{i & 255}.7" for i in range(addresses.CACHE_MAX * 2 + 5)]
    for text in texts:
        assert textlog.is_private(text) is old_is_private(text)
        assert len(addresses.FACTS) <= addresses.CACHE_MAX
    for text in texts[:10] + texts[-10:]:  # the oldest were dropped, the newest kept: both right
        assert addresses.facts(text) == (old_ip_or_none(text), old_packed(text), old_is_private(text))
