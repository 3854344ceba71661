"""`logwarden parse --source NAME FILE|-...`: print normalised ECS documents as JSON lines,
no servers needed. Dead letters go to stderr with their position and reason.
Exit status: 0 all records parsed, 1 some records were dead letters, 2 usage error."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack

from logwarden.shippers.base import DeadLetter


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("parse", help="print the ECS documents for log files (no servers)")
    p.add_argument("--source", required=True, help="parser name: windows, or a firewall/AV source, or auto")
    p.add_argument("files", nargs="+", help="files, or - for standard input")
    p.add_argument("--with-id", action="store_true", help="add event.id (the deterministic id) to each document")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from logwarden.shippers import registry

    try:
        parse = registry.get(args.source)
    except KeyError as exc:
        print(f"parse: {exc.args[0]}", file=sys.stderr)
        return 2
    out = sys.stdout
    dead = 0
    for name in args.files:
        with ExitStack() as stack:
            if name == "-":
                data = sys.stdin.buffer
            else:
                try:
                    data = stack.enter_context(open(name, "rb"))
                except OSError as exc:
                    print(f"parse: {name}: {exc.strerror}", file=sys.stderr)
                    return 2
            for item in parse(name, data):
                if isinstance(item, DeadLetter):
                    dead += 1
                    print(f"{name}:{item.position}: dead letter: {item.reason}", file=sys.stderr)
                    continue
                doc = item.doc
                if args.with_id:
                    doc.setdefault("event", {})["id"] = item.id
                out.write(json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n")
    out.flush()
    return 1 if dead else 0
