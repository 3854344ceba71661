"""FortiGate key=value logs (traffic, utm, event) -> ECS firewall documents.

Declared here (`SOURCE`, see logwarden/shippers/source.py); the parser is in parser.py, imported
only when used.
"""

from logwarden.shippers.source import Source, lazy_exports, parser_exports


def matches(message: str, app: str) -> bool:
    """Autodetect signature: a message in this format (syslog header already split off)."""
    head = message[:4096]
    return "type=" in head and ("devname=" in head or "logid=" in head or "devid=" in head)


SOURCE = Source(
    name="fortigate",
    package=__name__,
    dataset="firewall",
    summary="FortiGate key=value logs",
    matches=matches,
    priority=50,
    follow=True,
)

__getattr__ = lazy_exports(__name__, parser_exports("parse", "parse_line", "parse_stream"))
