"""cef.split_cef (header split by str.split when no backslash precedes the extension, extension by one
re.split, with the spaces before keys when single spaces are its only whitespace) gives the header and
pairs of the reading it replaced, kept here as the reference; cef._rt's epoch-milliseconds reading
(the second's text cached, the milliseconds appended) gives fromtimestamp's text."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logwarden.shippers import textlog
from logwarden.shippers.cef.parser import _rt, split_cef
from logwarden.shippers.textlog import ParseError

from .sources import golden_lines

_HDR_SPLIT = re.compile(r"(?<!\\)((?:\\\\)*)\|")
_EXT_KEY = re.compile(r"(?:^|(?<=\s))([A-Za-z0-9_.\[\]-]+)=")
_EXT_ESC = re.compile(r"\\[=\\nr|]")
_EXT_UNESC = {"\\=": "=", "\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\|": "|"}


def _escaped(text: str, idx: int) -> bool:
    n = 0
    while idx - 1 - n >= 0 and text[idx - 1 - n] == "\\":
        n += 1
    return n % 2 == 1


def reference_split_cef(msg: str) -> tuple[list[str], dict[str, str]]:
    """The CEF reading before the fast paths, as it was written."""
    start = msg.find("CEF:")
    if start < 0:
        raise ParseError("no CEF: header")
    text = msg[start + 4:]
    parts: list[str] = []
    pos = 0
    for m in _HDR_SPLIT.finditer(text):
        parts.append(text[pos:m.start()] + m.group(1))
        pos = m.end()
        if len(parts) == 7:
            break
    if len(parts) < 7:
        raise ParseError(f"CEF header has {len(parts)} of 7 fields")
    header = [p.replace("\\|", "|").replace("\\\\", "\\") if "\\" in p else p for p in parts]
    ext = text[pos:]
    out: dict[str, str] = {}
    keys = [m for m in _EXT_KEY.finditer(ext) if not _escaped(ext, m.end() - 1)]
    for i, m in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else len(ext)
        value = ext[m.end():end].rstrip(" ")
        out[m.group(1)] = _EXT_ESC.sub(lambda e: _EXT_UNESC[e.group(0)], value) if "\\" in value else value
    return header, out


def _outcome(fn, text: str) -> object:
    try:
        header, ext = fn(text)
        return header, list(ext.items())
    except ParseError as exc:
        return str(exc)


PIECES = st.sampled_from(["CEF:", "0", "|", "\\|", "\\\\", "\\", "\\=", "\\n", "=", " ", "  ", "a", "src", "src=",
                          "[x]", "k.v=", "-", "\t", "é", "=\\=", "act=Drop", " dst=10.0.0.1", "cs1Label=Rule",
                          "\u3000", "\x1c", "CEF:0|V|P|1|s|n|5|", " b=", "a= "])


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.lists(PIECES, max_size=30).map("".join))
@example("CEF:0|V|P|1|s|n|5|a=1 b=2 a=3")
@example("CEF:0|V\\|x|P|1|s|n|5|a=1")
@example("CEF:0|V|P|1|s|n|5|msg=a\\=b c=d\\\\ e=  ")
@example("CEF:0|V|P|1|s|n")
@example("CEF:0|V|P|1|s|n|5|a=1 b=2 ")  # a space at the end: the careful split
@example("CEF:0|V|P|1|s|n|5|a=1\tb=2 c=3")  # a key after a tab
@example("CEF:0|V|P|1|s|n|5|junk a=x y b= c=")  # text before the first key, empty values
def test_split_cef_equals_the_reference(text: str) -> None:
    assert _outcome(split_cef, text) == _outcome(reference_split_cef, text)


def test_cef_golden_lines_split_the_same() -> None:
    lines = golden_lines("cef")
    assert lines
    for raw in lines:
        text = raw.decode("utf-8", "replace")
        assert _outcome(split_cef, text) == _outcome(reference_split_cef, text)


@settings(max_examples=3000, deadline=None, database=None)
@given(st.integers(min_value=0, max_value=2**32 * 1000 - 1))
@example(0)
@example(1586795401999)
@example(2**32 * 1000 - 1)
def test_rt_milliseconds_read_per_second_equal_fromtimestamp(millis: int) -> None:
    """_rt reads an epoch in ms as the second's text plus the milliseconds: the text the float
    division and fromtimestamp gave."""
    assert _rt(str(millis)) == textlog.iso(datetime.fromtimestamp(millis / 1000, UTC))
