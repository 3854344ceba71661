"""Peak RSS of the shipper (`logwarden ship evtx`, a subprocess) on a ~300 MB event-XML input
against a ~3 MB one: bounded memory means the two peaks are close, not 100x apart.

    .venv/bin/python -m bench.bench_rss [--mb 300]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import _lab
from bench._lab import ROOT

BYTES_PER_EVENT = 1430  # one synthetic 4625 in XML, measured


def peak_rss_mb(cfg, path: Path, state: Path) -> tuple[float, float]:
    env = {**os.environ, "LOGWARDEN_TOPIC_PREFIX": cfg.topic_prefix, "LOGWARDEN_INDEX_PREFIX": cfg.index_prefix,
           "LOGWARDEN_STATE": str(state)}
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "logwarden.cli", "ship", "evtx", str(path), "--no-progress"],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "ship failed"
    return usage.ru_maxrss / 1024, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=300)
    args = ap.parse_args()
    cfg = _lab.namespace(_lab.lab_config(), "rss")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            small = _lab.synth_xml(Path(tmp) / "small.xml", 3 * 1024 * 1024 // BYTES_PER_EVENT)
            big = _lab.synth_xml(Path(tmp) / "big.xml", args.mb * 1024 * 1024 // BYTES_PER_EVENT)
            rows = []
            for path in (small, big):
                rss, dt = peak_rss_mb(cfg, path, Path(tmp) / f"state-{path.stem}")
                rows.append((path.stat().st_size / 2**20, rss, dt))
            print(f"bench_rss: resource limit none; {resource.getpagesize()} B pages")
            print(f"{'input MB':>10}{'peak RSS MB':>14}{'seconds':>10}")
            for size, rss, dt in rows:
                print(f"{size:10.1f}{rss:14.1f}{dt:10.1f}")
            print(f"input ratio {rows[1][0] / rows[0][0]:.0f}x, peak RSS ratio {rows[1][1] / rows[0][1]:.2f}x")
    finally:
        _lab.drop(cfg)


if __name__ == "__main__":
    main()
