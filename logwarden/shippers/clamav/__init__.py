"""ClamAV clamd, clamscan and freshclam log lines -> ECS AV documents.

Declared here (`SOURCE`, see logwarden/shippers/source.py); the parser is in parser.py, imported
only when used.
"""

import re

from logwarden.shippers.source import Source, lazy_exports, parser_exports

_CLAM = re.compile(r"(?:: \S+ FOUND$|: Removed\.$|: (?:moved|copied) to '.*'$|: OK$|: .* ERROR$"
                   r"|^(?:[A-Z][a-z]{2} )?[A-Z][a-z]{2} +\d+ [\d:]+ \d{4} -> "
                   r"|^(?:Known viruses|Engine version|Scanned directories|Scanned files|Infected files|"
                   r"Total errors|Data scanned|Data read|Start Date|End Date): )")
_FRESH = re.compile(r"^[\w.-]+\.c[vl]d (?:updated|database is up[- ]to[- ]date) \(version: ")
_APPS = ("clamd", "freshclam", "clamscan")


def matches(message: str, app: str) -> bool:
    """Autodetect signature: a message in this format (syslog header already split off)."""
    head = message[:4096]
    return (app in _APPS or _CLAM.search(message[-512:]) is not None or _CLAM.match(head) is not None
            or _FRESH.match(head) is not None)


SOURCE = Source(
    name="clamav",
    package=__name__,
    dataset="av",
    summary="ClamAV clamd / clamscan / freshclam",
    matches=matches,
    priority=90,
    follow=True,
)

__getattr__ = lazy_exports(__name__, parser_exports("parse", "parse_line", "parse_stream"))
