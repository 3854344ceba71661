"""Instructions per line of a text-log parser, counted by valgrind (not a timed test).

    .venv/bin/python -m bench.count_textlogs [--formats huawei_usg,secgate] [--addresses distinct]
        [--lines 15000] [--way direct|auto] [--reference ../main]

On a box other processes keep busy, lines per CPU-second move by several percent between runs of
the same code (docs/benchmarks.md); the instructions a line costs do not. For each format, this
tree's bench_textlogs corpus (`--addresses repeated|distinct`) is written once to a file, and a
child process parses its first N lines through the source's `parse_line` (or, `--way auto`,
`autodetect.parse_line`) under `valgrind --tool=cachegrind --cache-sim=no`, once with N = `--lines`
and once with N = a third of it: the difference of the two counts over the lines between is the
steady state a line costs (start-up, imports and the first sightings, which fill the caches and
learn the templates, cancel out), the distinct corpus's addresses still new to the parser.
`PYTHONHASHSEED=0`, so two runs of one tree give nearly the same count (within ~0.3 %).

`--reference TREE` counts another checkout on the same lines (its `logwarden` first on the path, its
virtualenv's python when it has one) and gives the ratio this tree / reference.
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

_I_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")
THIS_TREE = Path(__file__).resolve().parents[1]


def _parse_lines(path: str, name: str, way: str, count: int) -> None:
    """The child's work: parse the first `count` lines of the pickled corpus at `path`. Imports only
    `logwarden` (the tree under test's, by PYTHONPATH)."""
    from logwarden.shippers import autodetect, registry

    with open(path, "rb") as f:
        lines: list[bytes] = pickle.load(f)
    parse = registry.source(name).line_parser() if way == "direct" else autodetect.parse_line
    for i in range(count):
        parse(lines[i], "bench", i)


def instructions(tree: Path, corpus_file: str, name: str, way: str, count: int) -> int:
    """Instructions valgrind counts for a child on `tree` parsing `count` lines (the whole process)."""
    python = tree / ".venv" / "bin" / "python"
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
           str(python if python.exists() else sys.executable), str(Path(__file__).resolve()),
           "--child", corpus_file, "--formats", name, "--way", way, "--lines", str(count)]
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0")
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=True)
    found = _I_REFS.search(done.stderr)
    if found is None:
        raise RuntimeError(f"valgrind gave no instruction count: {done.stderr[-300:]}")
    return int(found.group(1).replace(",", ""))


def per_line(tree: Path, corpus_file: str, name: str, way: str, n: int) -> float:
    """Instructions a line: the count for n lines less the count for n // 3, over the lines between."""
    first = n // 3
    return (instructions(tree, corpus_file, name, way, n) - instructions(tree, corpus_file, name, way, first)) \
        / (n - first)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--formats", default="huawei_usg,secgate", help="comma-separated source names")
    ap.add_argument("--addresses", choices=("repeated", "distinct"), default="distinct")
    ap.add_argument("--lines", type=int, default=15_000)
    ap.add_argument("--way", choices=("direct", "auto"), default="direct")
    ap.add_argument("--reference", type=Path, help="another checkout counted on the same lines")
    ap.add_argument("--child", help=argparse.SUPPRESS)  # a pickled corpus: parse it (under valgrind)
    args = ap.parse_args(argv)
    if args.child:
        _parse_lines(args.child, args.formats, args.way, args.lines)
        return 0
    from bench.bench_textlogs import corpus

    trees = [THIS_TREE] if args.reference is None else [args.reference.resolve(), THIS_TREE]
    print(f"{'format':<12} {'mode':<9} " + " ".join(f"{str(tree):>16}" for tree in trees)
          + ("   ratio" if len(trees) == 2 else ""))
    with tempfile.TemporaryDirectory() as scratch:
        for name in (f for f in args.formats.split(",") if f):
            corpus_file = os.path.join(scratch, f"{name}.pickle")
            lines = corpus(name, args.lines, args.addresses == "distinct")  # a line that no longer parses is left out
            with open(corpus_file, "wb") as f:
                pickle.dump(lines, f)
            counts = [per_line(tree, corpus_file, name, args.way, len(lines)) for tree in trees]
            ratio = f"  {counts[1] / counts[0]:6.4f}" if len(counts) == 2 else ""
            print(f"{name:<12} {args.addresses:<9} " + " ".join(f"{c:>16,.0f}" for c in counts) + ratio, flush=True)
    print(f"instructions a line ({args.way}), lines {args.lines // 3:,}-{args.lines:,} of the corpus,"
          " valgrind cachegrind")
    return 0


if __name__ == "__main__":
    sys.exit(main())
