"""One digest per text-log format of what its parsers make of the bench's lines (not a timed test).

    .venv/bin/python -m bench.hash_textlogs [--lines 3000] [--formats huawei_usg,secgate]

For each line source: bench_textlogs' lines in both address modes (repeated and distinct), and as
many again with a hostile edit each (a control character, a bidi override or a single quote put in
at a seeded place, the same for every tree), each through the source's `parse_line` and through
`autodetect.parse_line`; every result (an Event's id, key, family, position and document, key
order included, or a dead letter's fields but its reception time) is written as JSON into a
SHA-256 per format. The clock is golden's fixed REFERENCE_NOW and the zone UTC (a line whose date
an edit broke gets "now"), so two trees, or two runs, give the same digests when every document is
the same.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from dataclasses import asdict
from datetime import UTC

from bench.bench_textlogs import corpus
from logwarden.shippers import autodetect, golden, registry
from logwarden.shippers import textlog as t
from logwarden.shippers.base import Event

_EDITS = (b"\x01", b"\x1b[31m", "\u202e".encode(), b"'", b"\x7f", "\u4e2d".encode())


def _hostile(lines: list[bytes], seed: str) -> list[bytes]:
    """Each line with one seeded edit put in at a seeded place."""
    rnd = random.Random(seed)
    out = []
    for raw in lines:
        at = rnd.randrange(len(raw) + 1)
        out.append(raw[:at] + rnd.choice(_EDITS) + raw[at:])
    return out


def _result(result: object) -> str:
    if isinstance(result, Event):
        return json.dumps([result.id, result.key, result.dataset, result.position, result.doc], ensure_ascii=False,
                          default=repr)
    fields = asdict(result)  # type: ignore[call-overload]
    fields.pop("received", None)
    return json.dumps(fields, default=repr, ensure_ascii=False)


def digest(name: str, n: int) -> tuple[str, int]:
    """(SHA-256 hex, results hashed) of `name`'s results on n lines of each mode and their edits."""
    parse_line = registry.source(name).line_parser()
    h = hashlib.sha256()
    count = 0
    for distinct in (False, True):
        lines = corpus(name, n, distinct)
        lines += _hostile(lines, f"{name}-{distinct}")
        for i, raw in enumerate(lines):
            for parse in (parse_line, autodetect.parse_line):
                h.update(_result(parse(raw, "bench", i)).encode("utf-8", "surrogateescape"))
                h.update(b"\n")
                count += 1
    return h.hexdigest(), count


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=3000)
    ap.add_argument("--formats", default="", help="comma-separated source names (default: every line source)")
    args = ap.parse_args(argv)
    t.CONFIG.tz, t.CONFIG.now = UTC, lambda: golden.REFERENCE_NOW
    wanted = {f for f in args.formats.split(",") if f}
    total = 0
    for name in registry.names(lambda s: s.line_oriented):
        if wanted and name not in wanted:
            continue
        hexdigest, count = digest(name, args.lines)
        total += count
        print(f"{name:<12} {hexdigest}  {count}")
    print(f"{total} results hashed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
