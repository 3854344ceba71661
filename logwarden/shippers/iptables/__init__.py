"""Linux iptables/nftables/ufw LOG target kernel lines -> ECS firewall documents.

Declared here (`SOURCE`, see logwarden/shippers/source.py); the parser is in parser.py, imported
only when used.
"""

import re

from logwarden.shippers.source import Source, lazy_exports

_IPT = re.compile(r"(?<![A-Za-z0-9_])IN=\S* OUT=\S* ")


def matches(message: str, app: str) -> bool:
    """Autodetect signature: a message in this format (syslog header already split off)."""
    head = message[:4096]
    return _IPT.search(head) is not None and "SRC=" in head and "PROTO=" in head


SOURCE = Source(
    name="iptables",
    package=__name__,
    dataset="firewall",
    summary="iptables / nftables / ufw kernel LOG lines",
    parse_line=".parser:parse_line",
    parse_stream=".parser:parse_stream",
    matches=matches,
    priority=60,
    positions="offset",
    follow=True,
)

__getattr__ = lazy_exports(__name__, {
    "parse": ".parser:parse",
    "parse_line": ".parser:parse_line",
    "parse_stream": ".parser:parse_stream",
})
