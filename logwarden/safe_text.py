"""Text from logs, made safe to show a person: control and bidirectional-override characters
become visible escapes, so a log value can never clear a terminal, rewrite a row, inject a
hyperlink (OSC 8) or disguise `evil\u202egpj.exe` as `evilexe.jpg`.

Used wherever log content reaches a terminal (stderr messages, `hunt --format table`) and,
after HTML escaping, in the HTML report.
"""

from __future__ import annotations

import re

# C0 controls except tab, DEL, C1 controls, and the Unicode format characters that reorder or
# hide text (bidi embeddings/overrides/isolates, zero-width marks, the BOM).
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every unsafe character written as a visible escape (`\\x1b`, `\\u202e`)."""
    return _UNSAFE.sub(_escape, text)


_URL_PASSWORD = re.compile(r"(?P<head>://[^/\s:@]+:)[^@\s/]+@")


def redact_credentials(text: str) -> str:
    """`text` with the password of any `scheme://user:password@host` in it replaced by `***`."""
    return _URL_PASSWORD.sub(r"\g<head>***@", text)
