"""pfSense / OPNsense filterlog CSV -> ECS firewall documents.

Declared here (`SOURCE`, see logwarden/shippers/source.py); the parser is in parser.py, imported
only when used.
"""

import re

from logwarden.shippers.source import Source, lazy_exports, parser_exports

_FILTERLOG = re.compile(r"^\d*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,(?:pass|block|reject|match|scrub),(?:in|out),[46],")


def matches(message: str, app: str) -> bool:
    """Autodetect signature: a message in this format (syslog header already split off)."""
    return app == "filterlog" or _FILTERLOG.match(message[:4096]) is not None


SOURCE = Source(
    name="pfsense",
    package=__name__,
    dataset="firewall",
    summary="pfSense / OPNsense filterlog",
    matches=matches,
    priority=30,
    follow=True,
)

__getattr__ = lazy_exports(__name__, parser_exports("parse", "parse_line", "parse_stream"))
