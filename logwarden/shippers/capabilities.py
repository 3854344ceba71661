"""What a `--source` name can do, for a declared source or `auto` (the per-line choice among
the signatures, `autodetect`): its parsers, what its positions count, whether `ship file` can
tail and follow it. The commands ask these questions and never compare source names.

Kept apart from `registry` (which only discovers declarations) so that neither the registry nor
autodetect needs the other's module: autodetect reads the registry, this reads both.
"""

from __future__ import annotations

from logwarden.shippers import autodetect, registry
from logwarden.shippers.registry import AUTO
from logwarden.shippers.source import LineParser, LineSession, Positions, RowReader, Stateless, StreamParser

__all__ = ["AUTO", "can_follow", "can_tail", "line_parser", "new_line_session", "positions", "row_reader",
           "stream_parser"]


def stream_parser(name: str) -> StreamParser:
    """`parse_stream(path, data)` for a source name or `auto`. Raises UnknownSource."""
    if name == AUTO:
        return autodetect.parse_stream
    return registry.source(name).stream_parser()


def line_parser(name: str) -> LineParser:
    """`parse_line(raw, source, position)` for a line source or `auto`. Raises UnknownSource, SourceError."""
    if name == AUTO:
        return autodetect.parse_line
    return registry.source(name).line_parser()


def positions(name: str) -> Positions:
    """What item positions count for source `name` (auto: byte offsets of lines). Raises UnknownSource."""
    return "offset" if name == AUTO else registry.source(name).positions


def can_tail(name: str) -> bool:
    """Whether `ship file` can read source `name` (or auto). Raises UnknownSource."""
    return name == AUTO or registry.source(name).tailable


def can_follow(name: str) -> bool:
    """Whether `ship file --follow` can follow source `name` (or auto). Raises UnknownSource."""
    return name == AUTO or registry.source(name).follow


def new_line_session(name: str) -> LineSession:
    """A per-file line reader for source `name` (or auto). Raises UnknownSource, SourceError."""
    if name == AUTO:
        return Stateless(line_parser(AUTO))
    return registry.source(name).new_line_session()


def row_reader(name: str) -> RowReader | None:
    """The row reader of a database source, None for line sources and auto."""
    return None if name == AUTO else registry.source(name).row_reader()
