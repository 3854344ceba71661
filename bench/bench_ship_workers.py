"""`ship evtx --workers N` scaling on the real lab (a measurement, not a timed test).

    .venv/bin/python -m bench.bench_ship_workers [--workers 1,2] [PATH...]

Ships PATH (default: the shared EVTX samples, ../shared/data/evtx) with the real CLI once per
worker count, each into a fresh topic namespace and checkpoint, and prints records/s from start
to exit (Kafka acknowledged everything) and the ratio to the first count (the reference, 1
worker, in the same run). Needs `logwarden lab up`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from bench._lab import ROOT, SAMPLES, drop, lab_config, namespace
from tests.support.cli import env_for


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*", default=[str(SAMPLES)])
    ap.add_argument("--workers", default="1,2")
    args = ap.parse_args(argv)
    base = lab_config()
    reference: float | None = None
    for workers in (int(w) for w in args.workers.split(",") if w):
        cfg = namespace(base, f"shipw{workers}")
        with tempfile.TemporaryDirectory() as state:
            env = {**env_for(cfg), "LOGWARDEN_STATE": state}
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "logwarden.cli", "ship", "evtx", *args.paths, "--json",
                                   "--no-progress", "--workers", str(workers)], env=env, cwd=ROOT,
                                  capture_output=True, text=True)
            seconds = time.perf_counter() - t0
        try:
            if proc.returncode not in (0, 1):
                raise RuntimeError(proc.stderr[-2000:])
            summary = json.loads(proc.stdout.strip().splitlines()[-1])
        finally:
            drop(cfg)
        rate = summary["records"] / seconds
        reference = reference or rate
        print(f"workers {workers}  files {summary['files']}  records {summary['records']}  {seconds:6.2f} s  "
              f"{rate:>9,.0f} records/s  ratio {rate / reference:.2f}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, `logwarden ship evtx --workers N` (process start "
          f"included), reference = 1 worker in this run, lab Kafka {base.kafka}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
