"""`--source auto`: pick the parser for each line where the format is unambiguous.

The syslog header is stripped first; then the message (and the syslog tag) is offered to each
source's declared signature (`Source.matches`), in the registry's priority order, most specific
first. A line no signature matches becomes a dead letter with reason "unrecognised format"
(never a guess).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

from logwarden.shippers import registry
from logwarden.shippers import textlog as t
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.source import LineParser, Signature

_ORDER: tuple[tuple[str, Signature], ...] | None = None
_PARSERS: dict[str, LineParser] = {}
# per source name, what parse_line calls once the name is known: the text parser's after_split
# (decoding and header reused) or, for another parser, one that takes the raw line
_ROUTES: dict[str, tuple[Callable[..., Event | DeadLetter] | None, LineParser]] = {}


def _order() -> tuple[tuple[str, Signature], ...]:
    global _ORDER
    if _ORDER is None:
        _ORDER = tuple((s.name, s.matches) for s in registry.signatures() if s.matches is not None)
    return _ORDER


def reset() -> None:
    """Forget the cached signatures and parsers (after `registry.reset()`)."""
    global _ORDER
    _ORDER = None
    _PARSERS.clear()
    _ROUTES.clear()


def load() -> None:
    """Discover the signatures and import their parsers now: a receiver calls this before it
    listens, so its first messages do not wait for imports."""
    for name, _ in _order():
        line_fn(name)


def detect(msg: str, app: str | None) -> str | None:
    """The source name for a message (syslog header already split off), or None."""
    tag = app.lower() if app else ""
    for name, matches in _ORDER or _order():
        if matches(msg, tag):
            return name
    return None


def line_fn(name: str) -> LineParser:
    """The (cached) line parser of source `name`."""
    fn = _PARSERS.get(name)
    if fn is None:
        fn = _PARSERS[name] = registry.source(name).line_parser()
    return fn


def _route(name: str) -> tuple[Callable[..., Event | DeadLetter] | None, LineParser]:
    """(after_split or None, line parser) of source `name`, looked up once (not per line)."""
    fn = line_fn(name)
    route = _ROUTES[name] = (getattr(fn, t.AFTER_SPLIT, None), fn)  # a text parser: decoding and header reused
    return route


def parse_line(raw: bytes, source: str, position: int) -> Event | DeadLetter:
    """One line, parsed by the source whose signature matches first; never raises."""
    try:
        try:
            text = raw.decode("utf-8")  # t.decode's first step, without its call
        except UnicodeDecodeError:
            fallback = t.decode(raw)
            if fallback is None:
                return DeadLetter(source, raw, "unrecognised format (not UTF-8 or GB18030)", "unknown", position)
            text = fallback
        text = text.rstrip("\r\n")
        hdr, msg = t.split_syslog(text)
        name = detect(msg, hdr.app if hdr else None)
        if name is None:
            return DeadLetter(source, raw, "unrecognised format", "unknown", position)
        route = _ROUTES.get(name)
        if route is None:
            route = _route(name)
        after_split, fn = route
        if after_split is not None:
            return after_split(raw, text, hdr, msg, source, position)
        return fn(raw, source, position)
    except Exception as exc:  # noqa: BLE001 - record boundary: any error is this line's dead letter, named
        return DeadLetter(source, raw, f"autodetect: {type(exc).__name__}: {exc}"[:300], "unknown", position)


def parse_stream(path: str, data: BinaryIO) -> Iterator[Event | DeadLetter]:
    """One result per non-blank line; positions are byte offsets."""
    for offset, raw in t.iter_lines(data):
        yield parse_line(raw, path, offset)
