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


_ENDINGS = (" FOUND", ": Removed.", "'", ": OK", " ERROR")  # what _CLAM's `$` alternatives end with


def matches(message: str, app: str) -> bool:
    """Autodetect signature: a message in this format (syslog header already split off)."""
    if app in _APPS:
        return True
    head, tail = message[:4096], message[-512:]
    # _CLAM.search(tail) scans every position; only its `$` alternatives can match past the start,
    # and they need one of these endings (`$` also matches before a final newline): the same
    # answer without the scan for the other sources' messages that autodetect offers here.
    end = tail[:-1] if tail[-1:] == "\n" else tail
    if end.endswith(_ENDINGS) and _CLAM.search(tail) is not None:
        return True
    return (_CLAM.match(tail) is not None or _CLAM.match(head) is not None
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
