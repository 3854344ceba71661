"""Linux iptables/nftables/ufw LOG target kernel lines -> ECS firewall documents.

Declared here (`SOURCE`, see logwarden/shippers/source.py); the parser is in parser.py, imported
only when used.
"""

import re

from logwarden.shippers.source import Source, lazy_exports, parser_exports

_IPT = re.compile(r"(?<![A-Za-z0-9_])IN=\S* OUT=\S* ")


def matches(message: str, app: str) -> bool:
    """Autodetect signature: a message in this format (syslog header already split off)."""
    head = message[:4096]  # the substring tests first: the same answer, without the regex's scan
    return "IN=" in head and "SRC=" in head and "PROTO=" in head and _IPT.search(head) is not None


SOURCE = Source(
    name="iptables",
    package=__name__,
    dataset="firewall",
    summary="iptables / nftables / ufw kernel LOG lines",
    matches=matches,
    priority=60,
    follow=True,
)

__getattr__ = lazy_exports(__name__, parser_exports("parse", "parse_line", "parse_stream"))
