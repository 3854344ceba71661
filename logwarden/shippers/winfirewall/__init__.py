"""Windows Firewall pfirewall.log (W3C extended format) -> ECS firewall documents.

Declared here (`SOURCE`, see logwarden/shippers/source.py); the parser is in parser.py, imported
only when used.
"""

import re

from logwarden.shippers.source import Source, lazy_exports, parser_exports

_PFW = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} "
                  r"(?:ALLOW|DROP|OPEN|CLOSE|OPEN-INBOUND|INFO-EVENTS-LOST|DROP-ICMP) ")


def matches(message: str, app: str) -> bool:
    """Autodetect signature: a message in this format (syslog header already split off)."""
    return _PFW.match(message[:4096]) is not None


SOURCE = Source(
    name="winfirewall",
    package=__name__,
    dataset="firewall",
    summary="Windows Firewall pfirewall.log (W3C)",
    parse_stream=".parser:parse_stream",
    line_session=".parser:new_feeder",
    matches=matches,
    priority=100,
    follow=True,
)

__getattr__ = lazy_exports(__name__, parser_exports("W3CParser", "new_feeder", "parse_line", "parse_stream"))
