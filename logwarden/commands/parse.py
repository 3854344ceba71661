"""`logwarden parse --source NAME FILE|-...`: print normalised ECS documents as JSON lines,
no servers needed. Dead letters go to stderr as `FILE:LINE: dead letter: REASON` for sources
whose positions are byte offsets of lines (`FILE:record N: ...` where the source counts records
or row ids, e.g. Windows event logs). The sources and how they count come from the registry.
Exit status: 0 all records parsed, 1 some records were dead letters, 2 usage error (an unknown
source, a file that cannot be opened).

`--workers N` parses the files in N processes, each file by one of them into a temporary file; this
process writes them out in the order the files were given, so the output (standard output and
standard error) is the same as with one worker. Standard input is read here, at its place."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from logwarden.atomic_file import output
from logwarden.errors import UsageError
from logwarden.safe_text import printable
from logwarden.shippers.base import DeadLetter, unencodable
from logwarden.timezones import log_tz

READ_CHUNK = 1 << 16


def register(sub: argparse._SubParsersAction) -> None:
    from logwarden.shippers.registry import Names

    p = sub.add_parser("parse", help="print the ECS documents for log files (no servers)")
    source = p.add_argument("--source", required=True, metavar="NAME",
                            help="the log source: %(known)s (auto: pick a line source per line)")
    source.known = Names(auto=True)  # type: ignore[attr-defined]  # listed when the help is shown
    p.add_argument("files", nargs="+", help="files, or - for standard input")
    p.add_argument("--with-id", action="store_true", help="add event.id (the deterministic id) to each document")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="parse the files in N processes; the output is the same as with one (default 1)")
    p.set_defaults(func=run)


class LineNumbers(io.RawIOBase):
    """The parser's input, read through this object so that a byte offset can be turned into a
    line number without reading the input twice (a pipe cannot be read twice: the second reader
    steals the first one's data). The chunks read keep their bytes only until the parser's
    positions have passed them, so memory stays bounded by the parser's read-ahead."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.read_pos = 0  # offset of the next byte to read
        self.chunks: deque[tuple[int, bytes]] = deque()  # (start offset, bytes) not yet counted
        self.counted_pos = 0  # newlines before this offset are counted ...
        self.line = 1  # ... and this is the line number at that offset

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(buffer))
        if not data:
            return 0
        buffer[: len(data)] = data
        self.chunks.append((self.read_pos, data))
        self.read_pos += len(data)
        return len(data)

    def line_of(self, offset: int) -> int | None:
        """The line number (from 1) at byte `offset`; offsets must not decrease between calls.
        None for an offset behind one asked before (the count cannot go back)."""
        if offset < self.counted_pos:
            return None
        while self.chunks and self.counted_pos < offset:
            start, data = self.chunks[0]
            end = start + len(data)
            upto = min(end, offset)
            self.line += data.count(b"\n", self.counted_pos - start, upto - start)
            self.counted_pos = upto
            if upto == end:
                self.chunks.popleft()
        return self.line


def _open(name: str, stack: ExitStack) -> BinaryIO:
    if name == "-":
        return sys.stdin.buffer
    try:
        return stack.enter_context(open(name, "rb"))
    except OSError as exc:  # a path on the command line that cannot be opened: usage, as before (2)
        raise UsageError(f"{printable(name)}: {exc.strerror}") from exc


def _parse_file(name: str, parse: Callable[[str, BinaryIO], Iterable[Any]], by_line: bool, with_id: bool,
                write: Callable[[str], Any], warn: Callable[[str], Any]) -> int:
    """Parse one file (or - for standard input): each document to `write` as a JSON line, each
    dead letter to `warn` as a line naming where it was; returns the number of dead letters.
    Raises UsageError when the file cannot be opened."""
    dead = 0
    with ExitStack() as stack:
        raw = _open(name, stack)
        counter = LineNumbers(raw) if by_line else None
        data: BinaryIO = io.BufferedReader(counter, READ_CHUNK) if counter else raw  # type: ignore[assignment]
        for item in parse(name, data):
            line = counter.line_of(item.position) if counter else None  # every item: bounded memory
            where = f"record {item.position}" if counter is None else \
                str(line) if line is not None else f"byte {item.position}"
            if isinstance(item, DeadLetter):
                dead += 1
                warn(f"{printable(name)}:{where}: dead letter: {printable(item.reason)}\n")
                continue
            doc = item.doc
            if with_id:
                doc.setdefault("event", {})["id"] = item.id
            try:
                write(json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n")
            except UnicodeEncodeError as exc:  # a lone surrogate a parser let through: the line is not written
                dead += 1
                warn(f"{printable(name)}:{where}: dead letter: "
                     f"{printable(unencodable(item, exc).reason)}\n")
    return dead


def run(args: argparse.Namespace) -> int:
    from logwarden.shippers import capabilities, textlog

    parse = capabilities.stream_parser(args.source)  # UnknownSource: a usage error, exit 2
    textlog.CONFIG.tz = log_tz()  # ConfigError (exit 2) for a bad LOGWARDEN_LOG_TZ, before any line
    by_line = capabilities.positions(args.source) == "offset"  # else record ordinals / row ids
    if args.workers < 1:
        raise UsageError("--workers must be positive")
    dead = 0
    with output(None) as out:  # a full or closed stdout: one line, exit 2 (logwarden/atomic_file.py)
        files = [name for name in args.files if name != "-"]
        if args.workers == 1 or len(files) < 2:
            for name in args.files:
                dead += _parse_file(name, parse, by_line, args.with_id, out.write, sys.stderr.write)
        else:
            dead = _parse_in_workers(args, files, parse, by_line, out)
    return 1 if dead else 0


def _parse_in_workers(args: argparse.Namespace, files: list[str], parse: Callable[[str, BinaryIO], Iterable[Any]],
                      by_line: bool, out: TextIO) -> int:
    """The files parsed by `args.workers` processes into temporary files, written out in the order
    of `args.files` (standard input parsed here, at its place); returns the number of dead letters."""
    import multiprocessing

    from logwarden.shippers.parallel_ship import die_with_parent

    encoding, errors = getattr(out, "encoding", None) or "utf-8", getattr(out, "errors", None) or "strict"
    with tempfile.TemporaryDirectory(prefix="logwarden-parse-") as tmp:
        def one(index_name: tuple[int, str]) -> tuple[Path, Path, int]:
            index, name = index_name
            docs, warnings = Path(tmp) / f"{index}.jsonl", Path(tmp) / f"{index}.err"
            with open(docs, "w", encoding=encoding, errors=errors, newline="") as d, \
                    open(warnings, "w", encoding="utf-8", errors="backslashreplace", newline="") as w:
                found = _parse_file(name, parse, by_line, args.with_id, d.write, w.write)
            return docs, warnings, found

        _ONE[:] = [one]
        dead = 0
        processes = min(args.workers, len(files))
        with multiprocessing.get_context("fork").Pool(processes, initializer=die_with_parent) as pool:
            results = pool.imap(_run_one, list(enumerate(files)), chunksize=1)
            for name in args.files:
                if name == "-":
                    dead += _parse_file(name, parse, by_line, args.with_id, out.write, sys.stderr.write)
                    continue
                docs, warnings, found = next(results)
                out.flush()
                with open(docs, "rb") as d:
                    shutil.copyfileobj(d, out.buffer if hasattr(out, "buffer") else _Text(out))
                docs.unlink()
                with open(warnings, encoding="utf-8") as w:
                    shutil.copyfileobj(w, sys.stderr)
                warnings.unlink()
                dead += found
    return dead


# the job of the pool's (forked) workers, set before the pool starts: a closure cannot be pickled
_ONE: list[Callable[[tuple[int, str]], tuple[Path, Path, int]]] = []


def _run_one(index_name: tuple[int, str]) -> tuple[Path, Path, int]:
    return _ONE[0](index_name)


class _Text:
    """A text stream taking bytes (an output without a binary buffer, e.g. under a test's capture)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, data: bytes) -> int:
        return self.out.write(data.decode(getattr(self.out, "encoding", None) or "utf-8"))
