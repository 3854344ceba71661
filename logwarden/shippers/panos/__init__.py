"""Palo Alto Networks PAN-OS TRAFFIC and THREAT CSV syslog -> ECS firewall documents.

Declared here (`SOURCE`, see logwarden/shippers/source.py); the parser is in parser.py, imported
only when used.
"""

import re

from logwarden.shippers.source import Source, lazy_exports, parser_exports

_PANOS = re.compile(r"^\d*,\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2},[^,]*,(?:TRAFFIC|THREAT),")


def matches(message: str, app: str) -> bool:
    """Autodetect signature: a message in this format (syslog header already split off)."""
    return _PANOS.match(message[:4096]) is not None


SOURCE = Source(
    name="panos",
    package=__name__,
    dataset="firewall",
    summary="Palo Alto PAN-OS TRAFFIC/THREAT CSV",
    matches=matches,
    priority=40,
    follow=True,
)

__getattr__ = lazy_exports(__name__, parser_exports("parse", "parse_line", "parse_stream"))
