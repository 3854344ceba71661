"""The log sources that exist, discovered rather than listed: every subpackage of
`logwarden.shippers` whose `__init__.py` declares `SOURCE = Source(...)`, then every entry point of
the group `logwarden.sources` (third-party packages: `acme = acme_logs:SOURCE`, or the package
itself). Discovery runs once, on first use, and imports only the declarations (parsers load when
used); a third-party source that fails to load or breaks the contract is logged as a warning and
left out, it never breaks the CLI. A third-party source cannot replace a built-in one.

`auto` is not a source: it is the parse that picks a source per line by the signatures
(`autodetect`), accepted wherever line sources are.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any

from logwarden.errors import UsageError
from logwarden.safe_text import printable
from logwarden.shippers.source import (
    LineParser,
    LineSession,
    Positions,
    RowReader,
    Source,
    Stateless,
    StreamParser,
)

ENTRY_POINT_GROUP = "logwarden.sources"
AUTO = "auto"
PACKAGE = "logwarden.shippers"

log = logging.getLogger(__name__)
_SOURCES: dict[str, Source] | None = None


class UnknownSource(UsageError):
    """A `--source` name no source declares (a usage error: exit 2)."""


def sources() -> dict[str, Source]:
    """Every source by name, built-in first, each once (discovered on the first call)."""
    global _SOURCES
    if _SOURCES is None:
        found: dict[str, Source] = {}
        for declared in _builtin():
            found[declared.name] = declared
        for declared in _plugins():
            if declared.name in found or declared.name == AUTO:
                log.warning("source %r from entry point ignored: the name is taken", declared.name)
                continue
            found[declared.name] = declared
        _SOURCES = found
    return _SOURCES


def reset() -> None:
    """Forget the discovered sources (tests that install one); the next call discovers again."""
    global _SOURCES
    _SOURCES = None


def source(name: str) -> Source:
    """The source called `name`. Raises UnknownSource."""
    found = sources().get(name)
    if found is None:
        raise UnknownSource(f"unknown source {name!r}; known: {', '.join(names())}")
    return found


def names(where: Callable[[Source], bool] = lambda s: True, auto: bool = False) -> list[str]:
    """Sorted names of the sources `where` accepts, with `auto` last when asked."""
    listed = sorted(name for name, s in sources().items() if where(s))
    return [*listed, AUTO] if auto else listed


def signatures() -> list[Source]:
    """The sources autodetect can recognise, in the order to try them (priority, then name)."""
    return sorted((s for s in sources().values() if s.matches is not None), key=lambda s: (s.priority, s.name))


def stream_parser(name: str) -> StreamParser:
    """`parse_stream(path, data)` for a source name or `auto`. Raises UnknownSource."""
    if name == AUTO:
        from logwarden.shippers import autodetect

        return autodetect.parse_stream
    return source(name).stream_parser()


get = stream_parser  # the name callers used before the contract existed


def line_parser(name: str) -> LineParser:
    """`parse_line(raw, source, position)` for a line source or `auto`. Raises UnknownSource, SourceError."""
    if name == AUTO:
        from logwarden.shippers import autodetect

        return autodetect.parse_line
    return source(name).line_parser()


def positions(name: str) -> Positions:
    """What item positions count for source `name` (auto: byte offsets of lines). Raises UnknownSource."""
    return "offset" if name == AUTO else source(name).positions


def can_tail(name: str) -> bool:
    """Whether `ship file` can read source `name` (or auto). Raises UnknownSource."""
    return name == AUTO or source(name).tailable


def can_follow(name: str) -> bool:
    """Whether `ship file --follow` can follow source `name` (or auto). Raises UnknownSource."""
    return name == AUTO or source(name).follow


def new_line_session(name: str) -> LineSession:
    """A per-file line reader for source `name` (or auto). Raises UnknownSource, SourceError."""
    if name == AUTO:
        return Stateless(line_parser(AUTO))
    return source(name).new_line_session()


def row_reader(name: str) -> RowReader | None:
    """The row reader of a database source, None for line sources and auto."""
    return None if name == AUTO else source(name).row_reader()


class Names:
    """The source names as text, computed when first shown (argparse help `%(known)s`), so
    building the CLI discovers nothing."""

    def __init__(self, where: Callable[[Source], bool] = lambda s: True, auto: bool = False) -> None:
        self.where, self.auto = where, auto

    def __str__(self) -> str:
        return ", ".join(names(self.where, self.auto))


# ---------------------------------------------------------------------- discovery


def _declaration(module: Any, origin: str) -> Source | None:
    """The `Source` an entry point names (or its module's `SOURCE`); None, with a warning, otherwise."""
    declared = getattr(module, "SOURCE", module)
    if isinstance(declared, Source):
        return declared
    log.warning("%s: no Source declaration (got %s); ignored", origin, type(declared).__name__)
    return None


def _builtin() -> Iterator[Source]:
    package = importlib.import_module(PACKAGE)
    for info in pkgutil.iter_modules(package.__path__, f"{PACKAGE}."):
        if not info.ispkg:
            continue
        module = importlib.import_module(info.name)  # a built-in that fails to import is a bug: raise
        declared = getattr(module, "SOURCE", None)
        if isinstance(declared, Source):
            yield declared


def _plugins() -> Iterator[Source]:
    from importlib.metadata import entry_points  # ~10 ms: only when the sources are needed

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        origin = printable(f"source {ep.name!r} ({ep.value})")
        try:
            declared = _declaration(ep.load(), origin)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - someone else's package: warn, go on
            log.warning("%s cannot be loaded, ignored: %s: %s", origin, type(exc).__name__,
                        printable(str(exc)))
            continue
        if declared is None:
            continue
        if declared.name != ep.name:
            log.warning("%s declares the name %r; ignored", origin, declared.name)
            continue
        yield declared


def __getattr__(attr: str) -> Any:
    """`PARSERS`, the old {name: "module:parse_stream"} table, derived from the declarations for
    the scripts that still read it (logwarden.shippers.golden, bench/)."""
    if attr == "PARSERS":
        table = {name: f"{s.package}:parse_stream" for name, s in sources().items()}
        table[AUTO] = "logwarden.shippers.autodetect:parse_stream"
        return table
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
