"""network.direction for connections a firewall translated (port mapping, source NAT).

`textlog.direction_from_ips` reads the addresses as logged; for a port mapping those are the
client and the firewall's own public address, both public, so it would say "external". When the
device also logged the translated destination and that one is not public, the connection went
from outside to inside: "inbound". Used by the parsers whose logs carry the translated address
(SecGate, Huawei USG) before the address-only rule.
"""

from __future__ import annotations

from typing import Any

from logwarden.shippers import textlog as t
from logwarden.shippers.addresses import FACTS as _FACTS
from logwarden.shippers.addresses import PRIVATE
from logwarden.shippers.addresses import learn as _learn


def direction(doc: dict[str, Any]) -> None:
    """Set network.direction (unless the device said it): "inbound" for a public source whose
    translated destination is not public, else what the logged addresses say.

    Reads the objects directly (no dotted walks: this runs on every line of both parsers); the
    same answers as `direction_from_ips` after the NAT rule (tests/textlogs/test_nat_direction.py)."""
    network = doc.get("network")
    if network.__class__ is dict and network.get("direction"):  # type: ignore[union-attr]
        return
    source = doc.get("source")
    ip = source.get("ip") if source.__class__ is dict else None  # type: ignore[union-attr]
    # t.is_private written out for an address text (its cached facts; read on a miss)
    if ip.__class__ is str:
        known = _FACTS.get(ip)
        src_private = (known if known is not None else _learn(ip))[PRIVATE]
    else:
        src_private = t.is_private(ip)
    if src_private is None:
        return
    destination = doc.get("destination")
    if destination.__class__ is not dict:
        return
    if src_private is False:
        translated = destination.get("nat")  # type: ignore[union-attr]
        if translated.__class__ is dict and t.is_private(translated.get("ip")):  # type: ignore[union-attr]
            _write(doc, network, "inbound")
            return
    ip = destination.get("ip")  # type: ignore[union-attr]
    if ip.__class__ is str:
        known = _FACTS.get(ip)
        dst_private = (known if known is not None else _learn(ip))[PRIVATE]
    else:
        dst_private = t.is_private(ip)
    if dst_private is None:
        return
    _write(doc, network, "internal" if src_private and dst_private else "outbound" if src_private
           else "inbound" if dst_private else "external")


def _write(doc: dict[str, Any], network: Any, value: str) -> None:
    """network.direction = value, network made (or a value that is not an object replaced) as `put` does."""
    if network.__class__ is not dict:
        network = doc["network"] = {}
    network["direction"] = value
