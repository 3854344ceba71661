"""`logwarden parse --source NAME FILE|-...`: print normalised ECS documents as JSON lines,
no servers needed. Dead letters go to stderr as `FILE:LINE: dead letter: REASON` for text logs
(`FILE:record N: ...` for Windows event logs, where the position is the record's ordinal).
Exit status: 0 all records parsed, 1 some records were dead letters, 2 usage error."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from contextlib import ExitStack
from typing import BinaryIO

from logwarden.shippers.base import DeadLetter

RECORD_SOURCES = frozenset({"windows", "huorong"})  # positions are record ordinals / row ids, not bytes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("parse", help="print the ECS documents for log files (no servers)")
    p.add_argument("--source", required=True, help="parser name: windows, or a firewall/AV source, or auto")
    p.add_argument("files", nargs="+", help="files, or - for standard input")
    p.add_argument("--with-id", action="store_true", help="add event.id (the deterministic id) to each document")
    p.set_defaults(func=run)


class LineOf:
    """Byte offset -> line number, reading the file a second time alongside the parser
    (offsets arrive in increasing order, so each byte is scanned once)."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.pos = 0
        self.lines = 1

    def __call__(self, offset: int) -> int:
        if offset < self.pos:
            self.fh.seek(0)
            self.pos, self.lines = 0, 1
        while self.pos < offset:
            chunk = self.fh.read(min(1 << 20, offset - self.pos))
            if not chunk:
                break
            self.lines += chunk.count(b"\n")
            self.pos += len(chunk)
        return self.lines


def run(args: argparse.Namespace) -> int:
    from logwarden.shippers import registry

    try:
        parse = registry.get(args.source)
    except KeyError as exc:
        print(f"parse: {exc.args[0]}", file=sys.stderr)
        return 2
    dead = 0
    try:
        for name in args.files:
            with ExitStack() as stack:
                try:
                    if name == "-":  # spooled to disk: bounded memory, and line numbers can be found
                        data: BinaryIO = stack.enter_context(tempfile.TemporaryFile())
                        shutil.copyfileobj(sys.stdin.buffer, data)
                        data.seek(0)
                        second: BinaryIO = stack.enter_context(open(data.fileno(), "rb", closefd=False))
                    else:
                        data = stack.enter_context(open(name, "rb"))
                        second = stack.enter_context(open(name, "rb"))
                except OSError as exc:
                    print(f"parse: {name}: {exc.strerror}", file=sys.stderr)
                    return 2
                line_of = LineOf(second)
                for item in parse(name, data):
                    if isinstance(item, DeadLetter):
                        dead += 1
                        where = (f"record {item.position}" if args.source in RECORD_SOURCES
                                 else str(line_of(item.position)))
                        print(f"{name}:{where}: dead letter: {item.reason}", file=sys.stderr)
                        continue
                    doc = item.doc
                    if args.with_id:
                        doc.setdefault("event", {})["id"] = item.id
                    sys.stdout.write(json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `logwarden parse ... | head`: the reader left, not an error of ours
        sys.stderr.close()
        return 0
    return 1 if dead else 0
