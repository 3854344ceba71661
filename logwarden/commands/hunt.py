"""`logwarden hunt PATH...`: run the Sigma rules over files, no servers needed."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hunt", help="run the Sigma rules over EVTX / XML / JSON-lines files (no servers)")
    p.add_argument("paths", nargs="+", type=Path, help="files or folders")
    p.add_argument("--rules", action="append", type=Path,
                   help="rule file or folder (repeatable; default: sigma_rules/)")
    p.add_argument("--format", choices=("table", "jsonl", "html"), default="table")
    p.add_argument("-o", "--output", type=Path, help="write the report here instead of stdout")
    p.add_argument("--no-cache", action="store_true", help="recompile the rules, ignore the compiled-rule cache")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.engine import Detector
    from logwarden.detection.hunt import hunt, write_html, write_jsonl, write_table

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"hunt: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    ruleset = load_ruleset(args.rules, use_cache=not args.no_cache)
    detector = Detector(ruleset)
    t1 = time.perf_counter()
    alerts, stats = hunt(args.paths, detector)
    t2 = time.perf_counter()
    out = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
    try:
        {"table": write_table, "jsonl": write_jsonl}.get(args.format, lambda a, o: write_html(a, o, stats))(alerts, out)
    finally:
        if args.output:
            out.close()
    skipped = len(ruleset.errors) + len(detector.failed)
    print(
        f"hunt: {stats.files} files, {stats.events} events, {stats.dead} unreadable, "
        f"{len(ruleset.rules) + len(ruleset.correlations) - len(detector.failed)} rules "
        f"({skipped} not compiled), {len(alerts)} alerts; rules {t1 - t0:.2f}s, match {t2 - t1:.2f}s",
        file=sys.stderr,
    )
    return 0
