"""Legendsec / Qi An Xin (网神) SecGate firewall syslog (`devid=... dname=... logtype=... mod=...
dsp_msg="..."`) -> ECS firewall documents.

Declared here (`SOURCE`, see logwarden/shippers/source.py); the parser is in parser.py, imported
only when used. Its signature runs before FortiGate's: a SecGate line also holds `devid=` and
`type=`, which FortiGate's signature would otherwise claim.
"""

import re

from logwarden.shippers.source import Source, lazy_exports, parser_exports

_SIGNATURE = re.compile(r"(?:^|\s)devid=\S*\s+date=.*?\sdname=\S+.*?\slogtype=\d+")


def matches(message: str, app: str) -> bool:
    """Autodetect signature: `devid=`, `date=`, `dname=` and `logtype=` in that order."""
    head = message[:400]  # the substring tests first: the same answer, without the regex's scan
    return "devid=" in head and "logtype=" in head and _SIGNATURE.search(head) is not None


SOURCE = Source(
    name="secgate",
    package=__name__,
    dataset="firewall",
    summary="Legendsec / Qi An Xin (网神) SecGate firewall syslog",
    matches=matches,
    priority=45,
    follow=True,
)

__getattr__ = lazy_exports(__name__, parser_exports("parse", "parse_line", "parse_stream"))
