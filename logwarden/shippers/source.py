"""The contract of a log source: one frozen `Source` that each source folder declares.

A folder under `logwarden/shippers/` (or a third-party package, through the entry-point group
`logwarden.sources`) says in its `__init__.py`, as `SOURCE = Source(...)`, everything the commands
need to know about it: its name, the dataset it produces, the parsers it offers, how it is
recognised per line, how its positions count, whether it can be followed, where its fields are
declared. Commands ask these capabilities (through `registry`) and never compare source names.

Parsers are named by reference ("module:attribute", the module may be relative to the declaring
package, e.g. ".parser:parse_line") and imported only when used, so listing the sources (for
`--help`) imports no parser. The conventional layout needs no reference at all: a source's line
parser is `parse_line` in the `parser` module of its package (PARSER_LINE), and its stream parser
is derived from it; a declaration names only the references that differ (None: there is none).
The autodetect signature is a plain function: it runs for every line of `--source auto` and
syslog, so it must be cheap, and it lives beside the declaration.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol, get_args

from logwarden.shippers.datasets import SOURCE_DATASETS, SourceDataset

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from logwarden.shippers.base import DeadLetter, Event

Positions = Literal["offset", "record", "row"]
POSITIONS: tuple[str, ...] = get_args(Positions)

LineParser = Callable[[bytes, str, int], "Event | DeadLetter"]
StreamParser = Callable[[str, BinaryIO], Iterator["Event | DeadLetter"]]
Signature = Callable[[str, str], bool]
RowReader = Callable[..., Iterator[tuple[str, int, "Event | DeadLetter"]]]


class LineSession(Protocol):
    """Reads one file line by line, for formats where a line depends on the lines before it
    (W3C `#Fields:` directives). `feed` returns None for a line that is not a record."""

    def feed(self, raw: bytes, source: str, position: int) -> Event | DeadLetter | None: ...


PARSER_MODULE = ".parser"  # a source package's parser module, relative to the package
PARSER_LINE = f"{PARSER_MODULE}:parse_line"  # the default line parser reference


class SourceError(ValueError):
    """A declaration that breaks the contract (raised when the `Source` is built)."""


@dataclass(frozen=True)
class Source:
    """What one log source offers. Build it with keywords in the source package's `__init__.py`:

    - name: what `--source` takes (lower case, digits, `_`)
    - package: the declaring package (`__name__`): anchors relative references and `fields`
    - dataset: the dataset its events go to: windows, firewall or av
    - summary: one line for `--help`
    - parse_line: "module:function" of `parse_line(raw, source, position) -> Event | DeadLetter`
      for line-oriented formats (it never raises: a bad line is a dead letter); default
      PARSER_LINE, the package's `parser.parse_line`; None for a source that is not line-oriented
    - parse_stream: "module:function" of `parse_stream(path, data) -> Iterator[Event | DeadLetter]`;
      required when there is no line parser (Windows), derived from it when None (the default:
      one result per non-blank line, positioned at its byte offset)
    - line_session: "module:factory" of a `LineSession` per file, when lines depend on earlier
      ones; with a `prime(data, offset)` method it also resumes mid-file correctly
    - read_rows: "module:function" of `read_rows(path, after={table: last id})` yielding
      (table, id, item), for databases that are followed by row id instead of by line
    - matches: `matches(message, app) -> bool`, the autodetect signature on a message whose syslog
      header is already split off (`app` is the syslog tag, lower case, "" when none); None when
      the format cannot be recognised from one line
    - priority: order among signatures, lowest first (the most specific formats first)
    - positions: what an item's position counts: "offset" (byte offset of its line),
      "record" (record ordinal) or "row" (row id)
    - follow: whether `ship file --follow` can follow it (needs a line parser or `read_rows`)
    - fields: the file declaring its ECS fields, relative to the package (None: none)
    """

    name: str
    package: str
    dataset: SourceDataset
    summary: str
    parse_line: str | None = PARSER_LINE
    parse_stream: str | None = None
    line_session: str | None = None
    read_rows: str | None = None
    matches: Signature | None = None
    priority: int = 1000
    positions: Positions = "offset"
    follow: bool = False
    fields: str | None = "fields.yml"

    def __post_init__(self) -> None:
        problems = []
        if not self.name or not all(c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in self.name):
            problems.append("name must be lower-case letters, digits and _")
        if self.dataset not in SOURCE_DATASETS:
            problems.append(f"dataset must be one of {', '.join(SOURCE_DATASETS)}")
        if self.positions not in POSITIONS:
            problems.append(f"positions must be one of {', '.join(POSITIONS)}")
        if self.parse_line is None and self.parse_stream is None:
            problems.append("needs parse_line or parse_stream")
        if self.follow and self.parse_line is None and self.read_rows is None:
            problems.append("follow needs parse_line or read_rows")
        if self.matches is not None and self.parse_line is None:
            problems.append("an autodetect signature needs parse_line")
        for ref in (self.parse_line, self.parse_stream, self.line_session, self.read_rows):
            if ref is not None and (ref.count(":") != 1 or not all(ref.split(":"))):
                problems.append(f"reference {ref!r} is not 'module:attribute'")
        if problems:
            raise SourceError(f"source {self.name!r}: {'; '.join(problems)}")

    # ------------------------------------------------------------------ capabilities
    @property
    def line_oriented(self) -> bool:
        """One record per line: `ship file` reads and follows it line by line."""
        return self.parse_line is not None

    @property
    def tailable(self) -> bool:
        """`ship file` can read it (by lines or by database rows)."""
        return self.parse_line is not None or self.read_rows is not None

    def line_parser(self) -> LineParser:
        """The per-line parser. Raises SourceError when the source has none."""
        if self.parse_line is None:
            raise SourceError(f"source {self.name!r} has no line parser")
        fn: LineParser = self._load(self.parse_line)
        return fn

    def stream_parser(self) -> StreamParser:
        """`parse_stream(path, data)`: the declared one, else one result per non-blank line."""
        if self.parse_stream is not None:
            fn: StreamParser = self._load(self.parse_stream)
            return fn
        from logwarden.shippers.textlog import stream_parser

        return stream_parser(self.line_parser())

    def new_line_session(self) -> LineSession:
        """A reader for one file: the declared session, else the stateless line parser."""
        if self.line_session is not None:
            session: LineSession = self._load(self.line_session)()
            return session
        return Stateless(self.line_parser())

    def row_reader(self) -> RowReader | None:
        """`read_rows(path, after)` for sources followed by row id, else None."""
        return None if self.read_rows is None else self._load(self.read_rows)

    def fields_file(self) -> Traversable | None:
        """The file declaring the source's fields (it may be missing while being written)."""
        from importlib import resources

        return None if self.fields is None else resources.files(self.package).joinpath(self.fields)

    def _load(self, ref: str) -> Any:
        module, attr = ref.split(":")
        return getattr(importlib.import_module(module, self.package), attr)


class Stateless:
    """A `LineSession` over a line parser that needs no state."""

    __slots__ = ("parse",)

    def __init__(self, parse: LineParser) -> None:
        self.parse = parse

    def feed(self, raw: bytes, source: str, position: int) -> Event | DeadLetter | None:
        return self.parse(raw, source, position)


def parser_exports(*names: str) -> dict[str, str]:
    """{name: ".parser:name"}: `lazy_exports` entries for attributes of the package's parser module."""
    return {name: f"{PARSER_MODULE}:{name}" for name in names}


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` (PEP 562) for a source package: `package.name` imports the
    "module:attribute" of `exports[name]` on first access, so the package's `__init__` (read
    by discovery) stays free of parser imports while `from package import parse_line` works."""

    def __getattr__(attr: str) -> Any:
        ref = exports.get(attr)
        if ref is None:
            raise AttributeError(f"module {package!r} has no attribute {attr!r}")
        module, name = ref.split(":")
        return getattr(importlib.import_module(module, package), name)

    return __getattr__
