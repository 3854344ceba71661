"""Sangfor (深信服) AF / NGAF and AC syslog in the Chinese key:value layout -> ECS firewall documents.

Declared here (`SOURCE`, see logwarden/shippers/source.py); the parser is in parser.py, imported
only when used. The layout and what could not be confirmed are in README.md beside this file.
"""

from logwarden.shippers.source import Source, lazy_exports, parser_exports

LOG_TYPE_KEYS = ("日志类型:", "日志类型：")


def matches(message: str, app: str) -> bool:
    """Autodetect signature: the key:value body starts with (or, after a tag, holds) 日志类型."""
    head = message[:200]
    return any(key in head for key in LOG_TYPE_KEYS)


SOURCE = Source(
    name="sangfor",
    package=__name__,
    dataset="firewall",
    summary="Sangfor AF/NGAF/AC syslog (日志类型:... key:value, UTF-8 or GBK)",
    matches=matches,
    priority=44,
    follow=True,
)

__getattr__ = lazy_exports(__name__, parser_exports("parse", "parse_line", "parse_stream"))
