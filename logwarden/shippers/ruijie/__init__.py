"""Ruijie (锐捷) RGOS router / firewall syslog (`<PRI> seq: timestamp sysname %MODULE-LEVEL-MNEMONIC:
text`, and the RFC 5424 form `<PRI>1 TIMESTAMP sysname MODULE LEVEL MNEMONIC [sd] text`) -> ECS
firewall-dataset documents.

Declared here (`SOURCE`, see logwarden/shippers/source.py); the parser is in parser.py, imported
only when used. The autodetect signature recognises only the classic form (the RFC 5424 form
carries nothing Ruijie-specific in its message; use `--source ruijie`), and runs after Cisco
ASA's, whose `%ASA-n-NNNNNN:` tag has the same shape. README.md says what is and is not confirmed.
"""

import re

from logwarden.shippers.source import Source, lazy_exports, parser_exports

_SIGNATURE = re.compile(r"^\s*(?:\d+:\s*)?\*?(?:[A-Z][a-z]{2} +\d{1,2}(?: \d{4})? \d{2}:\d{2}:\d{2}(?:\.\d+)?"
                        r"(?::\s*|\s+(?:\S+\s+)?))?%(?!ASA-|FTD-|FWSM-|PIX-)[A-Z][A-Z0-9_]{1,19}-[0-7]-[A-Z0-9_]{2,32}:")


def matches(message: str, app: str) -> bool:
    """Autodetect signature: `[seq:] [timestamp [sysname]] %MODULE-LEVEL-MNEMONIC:` at the start."""
    return _SIGNATURE.match(message[:200]) is not None


SOURCE = Source(
    name="ruijie",
    package=__name__,
    dataset="firewall",
    summary="Ruijie (锐捷) RGOS router/firewall syslog (%MODULE-LEVEL-MNEMONIC)",
    matches=matches,
    priority=85,
    follow=True,
)

__getattr__ = lazy_exports(__name__, parser_exports("parse", "parse_line", "parse_stream"))
