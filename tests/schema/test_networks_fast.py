"""Plain dotted quads are read without ipaddress: `networks.read_ipv4` (inet_pton, as strict as
`networks.DOTTED_QUAD`) for `contains`, the shippers' `ip_or_none` and the Community ID's packing,
and `contains` judges by a /16 table or the integer against the ranges. The answers must be
ipaddress's for every text, so the ipaddress readings are kept here as the references and each pair
is asked the same seeded random and edge-case texts (tests/schema/test_address_facts.py: the
same against the readings the one cache of address facts replaced)."""

from __future__ import annotations

import ipaddress
import random
import re

import pytest

from logwarden import networks
from logwarden.networks import INTERNAL, NOT_PUBLIC, Range
from logwarden.shippers import community_id, textlog


def reference(ranges: tuple[Range, ...], address: str | None) -> bool | None:
    """The ipaddress reading, as it was before the integer path."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in map(ipaddress.ip_network, (r.cidr for r in ranges)))


EDGES = ["", " ", "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.4.", ".1.2.3.4",
         "010.0.0.2", "10.0.0.02", "00.0.0.0", "0.0.0.00", "10.0.0.1 ", " 10.0.0.1\n", "10.0.0.1%eth0",
         "10.0.0.1%", "%10.0.0.1", "10.0.0.1\n", "١٠.٠.٠.١", "10.0.0.１", "+10.0.0.1", "10.0.0.-1", "1e1.0.0.1",
         "172.15.255.255", "172.16.0.0", "172.31.255.255", "172.32.0.0", "192.167.255.255", "192.168.0.0",
         "100.63.255.255", "100.64.0.0", "100.127.255.255", "100.128.0.0", "169.254.1.1", "127.0.0.1",
         "203.0.113.7", "::1", "::", "fe80::1%eth0", "fc00::1", "::ffff:10.0.0.1", "::ffff:8.8.8.8",
         "2001:db8::1", "not an address", "10.0.0.1/8", "0x0a.0.0.1", "1000.0.0.1", "10..0.1"]
SITE = networks.parse_extra("198.18.0.0/15, 10.20.0.0/16, 2001:db8:1::/48")


def _random_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    octets = ["0", "1", "9", "10", "99", "100", "127", "169", "172", "192", "199", "249", "250", "255", "256", "299",
              "00", "01", "010", "1000", "", "-1", "２", " 1"]
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.6:  # a valid address, anywhere
            out.append(str(ipaddress.IPv4Address(rng.getrandbits(32))))
        elif kind < 0.85:  # octets from the awkward list, sometimes the wrong count or a scope
            parts = [rng.choice(octets) for _ in range(rng.choice((3, 4, 4, 4, 5)))]
            out.append(".".join(parts) + rng.choice(("", "", "%x", " ", "\n")))
        else:
            out.append(str(ipaddress.IPv6Address(rng.getrandbits(128))) if rng.random() < 0.5
                       else f"::ffff:{ipaddress.IPv4Address(rng.getrandbits(32))}")
    return out


@pytest.mark.parametrize("ranges", [INTERNAL, NOT_PUBLIC, networks.internal(SITE), networks.not_public(SITE)],
                         ids=["internal", "not_public", "internal+site", "not_public+site"])
def test_integer_reading_gives_ipaddress_verdicts(ranges: tuple[Range, ...]) -> None:
    texts = EDGES + _random_texts(20_000, seed=20261205)
    for text in texts:
        assert networks.contains(ranges, text) is reference(ranges, text), repr(text)


def test_every_range_boundary_and_its_neighbours() -> None:
    for ranges in (NOT_PUBLIC, networks.not_public(SITE)):
        for r in ranges:
            net = ipaddress.ip_network(r.cidr)
            if net.version != 4:
                continue
            first, last = int(net.network_address), int(net.broadcast_address)
            for value in (first - 1, first, first + 1, last - 1, last, last + 1):
                if 0 <= value < 2**32:
                    text = str(ipaddress.IPv4Address(value))
                    assert networks.contains(ranges, text) is reference(ranges, text), text


def test_public_and_internal_with_and_without_site_ranges() -> None:
    assert networks.is_public("198.18.4.5") is True and networks.is_public("198.18.4.5", SITE) is False
    assert networks.is_internal("10.20.1.1", SITE) is True and networks.is_internal("11.0.0.1", SITE) is False
    assert networks.is_public(None) is None and networks.is_internal("999.1.1.1") is None


def reference_ip_or_none(text: str) -> str | None:
    """textlog's address check as it was (`\\d` in its pattern: Unicode digits passed)."""
    text = text.strip()
    if re.match(r"^\d{1,3}(?:\.\d{1,3}){3}$", text):
        octets = text.split(".")
        return text if all(int(o) < 256 and (len(o) == 1 or o[0] != "0") for o in octets) else None
    if ":" in text and len(text) <= 60:
        try:
            return ipaddress.IPv6Address(text.split("%")[0]).compressed
        except ValueError:
            return None
    return None


def test_ip_or_none_and_community_id_packing_read_as_ipaddress_does() -> None:
    for text in EDGES + _random_texts(20_000, seed=5):
        old, new = reference_ip_or_none(text), textlog._ip_or_none(text)
        if old is not None and not old.replace(".", "").replace(":", "").isascii():
            assert new is None, repr(text)  # the one change: Unicode digits are no address (ES refuses them)
        else:
            assert new == old, repr(text)
        try:
            want: bytes | None = ipaddress.ip_address(text.split("%")[0]).packed
        except ValueError:
            want = None
        assert community_id._packed(text) == want, repr(text)
    assert textlog._ip_or_none("١٠.٠.٠.١") is None and reference_ip_or_none("١٠.٠.٠.١") == "١٠.٠.٠.١"
