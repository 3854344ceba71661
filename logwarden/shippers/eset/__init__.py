"""ESET (PROTECT / Security Management Center) JSON syslog export -> ECS AV documents.

Declared here (`SOURCE`, see logwarden/shippers/source.py); the parser is in parser.py, imported
only when used.
"""

from logwarden.shippers.source import Source, lazy_exports, parser_exports


def matches(message: str, app: str) -> bool:
    """Autodetect signature: a message in this format (syslog header already split off)."""
    head = message[:4096]
    return head.lstrip().startswith("{") and '"event_type"' in head


SOURCE = Source(
    name="eset",
    package=__name__,
    dataset="av",
    summary="ESET PROTECT JSON syslog export",
    matches=matches,
    priority=80,
    follow=True,
)

__getattr__ = lazy_exports(__name__, parser_exports("parse", "parse_line", "parse_stream"))
