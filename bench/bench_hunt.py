"""Benchmark: `hunt` over EVTX-ATTACK-SAMPLES with every SigmaHQ Windows rule, cold vs warm cache.

Anchor: Zircolite took 2.5 s for these 277 files (8,255 events) with 2,171 rules on this kind of
machine. Run: .venv/bin/python -m bench.bench_hunt [--rules DIR] [--samples DIR]
Prints the phases (rule load/compile, parse, match) for a cold cache (fresh cache dir) and a warm
one, each in a fresh process so nothing is shared in memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._lab import SHARED_DATA


def one_run(rules: Path, samples: Path) -> dict[str, float]:
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.engine import Detector, run_batch
    from logwarden.detection.hunt import HuntStats, iter_docs

    t0 = time.perf_counter()
    ruleset = load_ruleset([rules])
    detector = Detector(ruleset)
    t1 = time.perf_counter()
    stats = HuntStats()
    docs = list(iter_docs([samples], stats))
    t2 = time.perf_counter()
    alerts = run_batch(detector, docs)
    t3 = time.perf_counter()
    return {"rules": len(ruleset.rules) + len(ruleset.correlations) - len(detector.failed), "files": stats.files,
            "events": stats.events, "alerts": len(alerts), "load_rules_s": t1 - t0, "parse_s": t2 - t1,
            "match_s": t3 - t2, "total_s": t3 - t0}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", type=Path, default=SHARED_DATA / "sigmahq" / "rules" / "windows")
    ap.add_argument("--samples", type=Path, default=SHARED_DATA / "evtx" / "EVTX-ATTACK-SAMPLES")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one_run(args.rules, args.samples)))
        return 0
    cache = tempfile.mkdtemp(prefix="lw-bench-cache-")
    env = {**os.environ, "LOGWARDEN_CACHE": cache}
    results = {}
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--child", "--rules", str(args.rules),
                              "--samples", str(args.samples)], env=env, capture_output=True, text=True, check=True)
        results[label] = json.loads(out.stdout.strip().splitlines()[-1])
        results[label]["process_s"] = time.perf_counter() - t0
    for label, r in results.items():
        print(f"{label}: {r['files']} files, {r['events']} events, {r['rules']} rules, {r['alerts']} alerts; "
              f"rules {r['load_rules_s']:.2f}s + parse {r['parse_s']:.2f}s + match {r['match_s']:.2f}s "
              f"= {r['total_s']:.2f}s; whole process (interpreter, imports) {r['process_s']:.2f}s")
    warm = results["warm"]["process_s"]
    cold = results["cold"]["process_s"]
    print(f"warm vs Zircolite anchor 2.5s: {warm / 2.5:.2f}x the time; cold/warm {cold / warm:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
