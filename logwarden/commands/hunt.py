"""`logwarden hunt PATH...`: run the Sigma rules over files, no servers needed.

Exit 0 when every record was read and every rule compiled; 1 when something was unreadable or a
rule did not compile (each named on stderr with its file and reason; the report is still
written); 2 for a path or output that cannot be used.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from logwarden.errors import EXIT_INPUT, EXIT_OK, UsageError
from logwarden.safe_text import printable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hunt", help="run the Sigma rules over EVTX / XML / JSON-lines files (no servers)")
    p.add_argument("paths", nargs="+", type=Path, help="files or folders")
    p.add_argument("--rules", action="append", type=Path,
                   help="rule file or folder (repeatable; default: sigma_rules/)")
    p.add_argument("--format", choices=("table", "jsonl", "html"), default="table")
    p.add_argument("-o", "--output", type=Path, help="write the report here instead of stdout")
    p.add_argument("--no-cache", action="store_true", help="recompile the rules, ignore the compiled-rule cache")
    p.set_defaults(func=run)


def missing_paths(paths: list[Path]) -> list[str]:
    """The paths of `paths` that do not exist, ready for a message (control characters escaped)."""
    return [printable(str(p)) for p in paths if not p.exists()]


def run(args: argparse.Namespace) -> int:
    from logwarden.atomic_file import check_output_path, output
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.engine import Detector
    from logwarden.detection.hunt import describe_dead_letter, hunt, write_html, write_jsonl, write_table
    from logwarden.shippers.base import DeadLetter

    missing = missing_paths(args.paths)
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    missing = missing_paths(args.rules or [])
    if missing:
        raise UsageError(f"--rules: no such file or folder: {', '.join(missing)}")
    if args.output is not None:
        check_output_path(args.output)  # before the work, not after it
    t0 = time.perf_counter()
    ruleset = load_ruleset(args.rules, use_cache=not args.no_cache)
    detector = Detector(ruleset)
    for err in ruleset.errors:
        print(f"hunt: rule not compiled: {printable(err.path)}: {printable(err.message)}", file=sys.stderr)
    for rule, why in detector.failed:
        print(f"hunt: rule not evaluated: {printable(rule.path)}: rule {printable(rule.id)}: {printable(why)}",
              file=sys.stderr)
    t1 = time.perf_counter()

    def name_dead_letter(item: DeadLetter) -> None:
        print(f"hunt: unreadable: {describe_dead_letter(item)}", file=sys.stderr)

    alerts, stats = hunt(args.paths, detector, on_dead_letter=name_dead_letter)
    t2 = time.perf_counter()
    with output(args.output) as out:
        if args.format == "table":
            write_table(alerts, out)
        elif args.format == "jsonl":
            write_jsonl(alerts, out)
        else:
            write_html(alerts, out, stats)
    skipped = len(ruleset.errors) + len(detector.failed)
    dead = ", ".join(f"{n} {printable(reason)}" for reason, n in sorted(stats.dead_reasons.items()))
    open_windows = detector.correlations.open_windows()
    print(
        f"hunt: {stats.files} files, {stats.events} events, {stats.dead} unreadable{f' ({dead})' if dead else ''}, "
        f"{len(ruleset.rules) + len(ruleset.correlations) - len(detector.failed)} rules "
        f"({skipped} not compiled), {len(alerts)} alerts"
        f"{f', {open_windows} correlation windows still open at the end of the input' if open_windows else ''}; "
        f"rules {t1 - t0:.2f}s, match {t2 - t1:.2f}s",
        file=sys.stderr,
    )
    return EXIT_INPUT if stats.dead or skipped else EXIT_OK
