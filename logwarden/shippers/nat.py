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


def direction(doc: dict[str, Any]) -> None:
    """Set network.direction (unless the device said it): "inbound" for a public source whose
    translated destination is not public, else what the logged addresses say."""
    if not t.get(doc, "network.direction") and t.is_private(t.get(doc, "source.ip")) is False \
            and t.is_private(t.get(doc, "destination.nat.ip")):
        t.put(doc, "network.direction", "inbound")
    t.direction_from_ips(doc)
