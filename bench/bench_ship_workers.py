"""`ship evtx --workers N` and `ship file --workers N` scaling on the real lab (a measurement,
not a timed test).

    .venv/bin/python -m bench.bench_ship_workers [--workers 1,2] [--reference ../base] [PATH...]
    .venv/bin/python -m bench.bench_ship_workers --file [--files 4 --lines 50000] [--workers 1,2]

Ships PATH (default: the shared EVTX samples, ../shared/data/evtx) with the real CLI once per
worker count, each into a fresh topic namespace and checkpoint, and prints records/s from start
to exit (Kafka acknowledged everything), the ratio to the first line (the reference, 1
worker, in the same run) and the CPU time of the command's processes per record. `--reference
DIR` runs each worker count from that checkout too (its own logwarden), right after this one's.
`--file`: `ship file --source auto` over FILES generated firewall/AV logs of LINES lines each (the
text sources' golden lines, ports varied, every source in turn, as bench/bench_textlogs.py builds
them). Needs `logwarden lab up`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._lab import ROOT, SAMPLES, drop, lab_config, namespace
from logwarden.config import Config
from tests.support.cli import env_for


def text_logs(folder: Path, files: int, lines: int) -> list[str]:
    """`files` logs of `lines` lines: every line source's good golden lines, varied, interleaved."""
    from bench.bench_textlogs import corpus
    from logwarden.shippers import registry

    names = registry.names(lambda s: s.line_oriented)
    per_source = {name: corpus(name, lines // len(names) + 1) for name in names}
    paths = []
    for k in range(files):
        body = [per_source[names[i % len(names)]][(i // len(names) + k) % len(per_source[names[0]])]
                for i in range(lines)]
        path = folder / f"fw{k}.log"
        path.write_bytes(b"\n".join(body) + b"\n")
        paths.append(str(path))
    return paths


def run(base: Config, command: list[str], workers: int, tree: Path) -> tuple[int, float, float, int]:
    """`logwarden *command --workers N` from checkout `tree` into a fresh namespace and checkpoint:
    (records, wall seconds, CPU seconds of the command and its workers, files)."""
    cfg = namespace(base, f"shipw{workers}")
    with tempfile.TemporaryDirectory() as state:
        env = {**env_for(cfg), "LOGWARDEN_STATE": state}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "logwarden.cli", *command, "--workers", str(workers)],
                              env=env, cwd=tree, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        if proc.returncode not in (0, 1):
            raise RuntimeError(proc.stderr[-2000:])
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        drop(cfg)
    records = summary["records"] if "records" in summary else summary["sent"]
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return records, seconds, cpu, summary.get("files", 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--file", action="store_true", help="measure `ship file --source auto` on generated logs")
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--lines", type=int, default=50_000)
    ap.add_argument("--reference", type=Path, help="another checkout (e.g. a worktree of main) run after this one "
                                                  "for each worker count")
    args = ap.parse_args(argv)
    base = lab_config()
    reference: float | None = None
    with tempfile.TemporaryDirectory() as data:
        if args.file:
            paths = args.paths or text_logs(Path(data), args.files, args.lines)
            command = ["ship", "file", *paths, "--source", "auto", "--json"]
        else:
            paths = args.paths or [str(SAMPLES)]
            command = ["ship", "evtx", *paths, "--json", "--no-progress"]
        trees = [ROOT, *([args.reference.resolve()] if args.reference else [])]
        for workers in (int(w) for w in args.workers.split(",") if w):
            for tree in trees:
                records, seconds, cpu, files = run(base, command, workers, tree)
                rate = records / seconds
                reference = reference or rate
                label = "" if len(trees) == 1 else ("this tree  " if tree == ROOT else "reference  ")
                print(f"{label}workers {workers}  files {files}  records {records}  {seconds:6.2f} s  "
                      f"{rate:>9,.0f} records/s  ratio {rate / reference:.2f}  "
                      f"CPU {cpu * 1e6 / records:5.1f} us/record",
                      flush=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, `logwarden {' '.join(command[:2])} --workers N` "
          f"(process start included; CPU of all its processes), reference = the first line of this run, "
          f"lab Kafka {base.kafka}, load average {os.getloadavg()[0]:.1f}"
          + (f"; other checkout: {args.reference}" if args.reference else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
