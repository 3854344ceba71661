"""Huawei USG / HiSecEngine firewall syslog (`%%01MODULE/severity/BRIEF(l):...` information-center
logs: security policy, session, IPS) -> ECS firewall documents.

Declared here (`SOURCE`, see logwarden/shippers/source.py); the parser is in parser.py, imported
only when used. What was confirmed, and from where, is in README.md beside this file.
"""

import re

from logwarden.shippers.source import Source, lazy_exports, parser_exports

_SIGNATURE = re.compile(r"%%\d{2}[A-Z][A-Z0-9_-]{1,31}/[0-7]/[A-Z][A-Z0-9_]{1,63}(?:\([a-z]\))?(?:\[\d+\])?:")


def matches(message: str, app: str) -> bool:
    """Autodetect signature: a `%%<version><MODULE>/<severity>/<BRIEF>(l):` marker near the start."""
    return _SIGNATURE.search(message[:200]) is not None


SOURCE = Source(
    name="huawei_usg",
    package=__name__,
    dataset="firewall",
    summary="Huawei USG / HiSecEngine firewall syslog (%%01POLICY, SECLOG, IPS)",
    matches=matches,
    priority=15,
    follow=True,
)

__getattr__ = lazy_exports(__name__, parser_exports("parse", "parse_line", "parse_stream"))
