"""Cisco ASA / FTD syslog (%ASA-n-NNNNNN) -> ECS firewall documents.

Declared here (`SOURCE`, see logwarden/shippers/source.py); the parser is in parser.py, imported
only when used.
"""

import re

from logwarden.shippers.source import Source, lazy_exports, parser_exports

_ASA = re.compile(r"%(?:ASA|FTD|FWSM|PIX)-(?:[\w-]+-)?\d-\d{6}:")


def matches(message: str, app: str) -> bool:
    """Autodetect signature: a message in this format (syslog header already split off)."""
    return _ASA.search(message[:300]) is not None


SOURCE = Source(
    name="cisco_asa",
    package=__name__,
    dataset="firewall",
    summary="Cisco ASA / FTD syslog",
    matches=matches,
    priority=20,
    follow=True,
)

__getattr__ = lazy_exports(__name__, parser_exports("parse", "parse_line", "parse_stream"))
