"""Benchmark: compiling a Sigma rule set cold (no cache), this tree beside another checkout.

A first `hunt`, `rules check` or `detect` on a new machine, and every CI run, compiles SigmaHQ's
rules before anything else happens (docs/architecture.md, 58). Each tree compiles the same rule
files in a child process of its own (its virtualenv's python, the tree first on the path), children
alternated, best of `--repeat`; printed: CPU seconds of the compile (this process's CPU time, so a
loaded box stretches it less than the wall clock), rules compiled, errors, and a digest of the
compiled rule set: equal digests mean both trees compiled exactly the same thing.

Run: .venv/bin/python -m bench.bench_compile [--rules DIR ...] [--reference ../main] [--repeat 2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench._lab import SHARED_DATA


def one_run(rules: list[Path]) -> dict[str, object]:
    from logwarden.detection.compiler import compile_files, rule_files

    files = rule_files(rules)
    t0 = time.process_time()
    ruleset = compile_files(files)
    cpu = time.process_time() - t0
    digest = hashlib.sha256(json.dumps(ruleset.to_json(), sort_keys=True).encode()).hexdigest()[:16]
    return {"files": len(files), "rules": len(ruleset.rules) + len(ruleset.correlations),
            "errors": len(ruleset.errors), "cpu_s": cpu, "digest": digest}


def _child(tree: Path, rules: list[Path]) -> dict[str, object]:
    python = tree / ".venv" / "bin" / "python"
    cmd = [str(python if python.exists() else sys.executable), str(Path(__file__).resolve()), "--json",
           *(a for r in rules for a in ("--rules", str(r)))]
    done = subprocess.run(cmd, cwd=tree, env=dict(os.environ, PYTHONPATH=str(tree)), capture_output=True,
                          text=True, check=True)
    got: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return got


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rules", type=Path, action="append",
                    help="rule file or folder (repeatable; default: SigmaHQ's Windows rules)")
    ap.add_argument("--reference", type=Path, help="another checkout measured beside this one")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each tree, alternated; the best is kept")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one run, for the parent
    args = ap.parse_args(argv)
    rules = [r.resolve() for r in args.rules or [SHARED_DATA / "sigmahq" / "rules" / "windows"]]
    if args.json:
        print(json.dumps(one_run(rules)))
        return 0
    this = Path(__file__).resolve().parents[1]
    trees = [this] if args.reference is None else [args.reference.resolve(), this]
    best: dict[Path, dict[str, object]] = {}
    for round_ in range(args.repeat):
        for tree in trees if round_ % 2 == 0 else trees[::-1]:
            got = _child(tree, rules)
            held = best.get(tree)
            if held is None or float(str(got["cpu_s"])) < float(str(held["cpu_s"])):
                best[tree] = got
    for tree in trees:
        r = best[tree]
        print(f"{str(tree):<40} {r['files']:>5} files {r['rules']:>5} rules {r['errors']:>3} errors "
              f"{float(str(r['cpu_s'])):>8.1f} CPU s  digest {r['digest']}")
    if args.reference is not None:
        ref, now = best[trees[0]], best[this]
        same = "identical" if ref["digest"] == now["digest"] else "DIFFERENT"
        print(f"ratio (reference / this tree): {float(str(ref['cpu_s'])) / float(str(now['cpu_s'])):.2f}x faster; "
              f"compiled rule sets {same}; best of {args.repeat} runs alternated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
