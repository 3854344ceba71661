"""ArcSight Common Event Format (generic CEF:0/1) -> ECS firewall or AV documents.

Declared here (`SOURCE`, see logwarden/shippers/source.py); the parser is in parser.py, imported
only when used.
"""

import re

from logwarden.shippers.source import Source, lazy_exports, parser_exports

_CEF = re.compile(r"CEF:\d+\|")


def matches(message: str, app: str) -> bool:
    """Autodetect signature: a message in this format (syslog header already split off)."""
    head = message[:300]
    return "CEF:" in head and _CEF.search(head) is not None


SOURCE = Source(
    name="cef",
    package=__name__,
    dataset="firewall",
    summary="ArcSight CEF (firewall; malware events go to av)",
    matches=matches,
    priority=10,
    follow=True,
)

__getattr__ = lazy_exports(__name__, parser_exports("parse", "parse_line", "parse_stream", "split_cef"))
