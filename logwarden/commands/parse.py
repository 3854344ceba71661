"""`logwarden parse --source NAME FILE|-...`: print normalised ECS documents as JSON lines,
no servers needed. Dead letters go to stderr as `FILE:LINE: dead letter: REASON` for sources
whose positions are byte offsets of lines (`FILE:record N: ...` where the source counts records
or row ids, e.g. Windows event logs). The sources and how they count come from the registry.
Exit status: 0 all records parsed, 1 some records were dead letters, 2 usage error (an unknown
source, a file that cannot be opened)."""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections import deque
from contextlib import ExitStack
from typing import BinaryIO

from logwarden.atomic_file import output
from logwarden.errors import UsageError
from logwarden.safe_text import printable
from logwarden.shippers.base import DeadLetter
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


def run(args: argparse.Namespace) -> int:
    from logwarden.shippers import capabilities, textlog

    parse = capabilities.stream_parser(args.source)  # UnknownSource: a usage error, exit 2
    textlog.CONFIG.tz = log_tz()  # ConfigError (exit 2) for a bad LOGWARDEN_LOG_TZ, before any line
    by_line = capabilities.positions(args.source) == "offset"  # else record ordinals / row ids
    dead = 0
    with output(None) as out:  # a full or closed stdout: one line, exit 2 (logwarden/atomic_file.py)
        for name in args.files:
            with ExitStack() as stack:
                raw = _open(name, stack)
                counter = LineNumbers(raw) if by_line else None
                data: BinaryIO = io.BufferedReader(counter, READ_CHUNK) if counter else raw  # type: ignore[assignment]
                for item in parse(name, data):
                    line = counter.line_of(item.position) if counter else None  # every item: bounded memory
                    if isinstance(item, DeadLetter):
                        dead += 1
                        where = f"record {item.position}" if counter is None else \
                            str(line) if line is not None else f"byte {item.position}"
                        print(f"{printable(name)}:{where}: dead letter: {printable(item.reason)}", file=sys.stderr)
                        continue
                    doc = item.doc
                    if args.with_id:
                        doc.setdefault("event", {})["id"] = item.id
                    out.write(json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n")
    return 1 if dead else 0
