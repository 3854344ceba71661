"""Parse rate per text-log format, one core, on generated lines (not a timed test).

    .venv/bin/python -m bench.bench_textlogs [--lines 50000] [--formats cisco_asa,iptables]

Lines are the sources' golden lines that parse as events, varied per line (addresses, ports,
counters) so no cache helps; each format is timed through its `parse_line` (decode, syslog
header, parse, ECS document, id) and through `autodetect.parse_line`. Target: 50,000 lines/s.
"""

from __future__ import annotations

import argparse
import re
import sys
import time

from logwarden.resources import data_path
from logwarden.shippers import autodetect, registry
from logwarden.shippers.base import Event

SHIPPERS = data_path("logwarden.shippers")


def corpus(name: str, n: int) -> list[bytes]:
    parse_line = registry.source(name).line_parser()
    good: list[bytes] = []
    for log in sorted((SHIPPERS / name / "testdata").glob("test-*.log")):
        for raw in log.read_bytes().splitlines():
            if raw.strip() and not raw.startswith(b"#") and isinstance(parse_line(raw, "b", 0), Event):
                good.append(raw)
    out = []
    for i in range(n):
        base = good[i % len(good)]
        out.append(re.sub(rb"\b51234\b|\b49822\b|\b40000\b", str(1024 + i % 60000).encode(), base))
    return out


def rate(fn, lines: list[bytes]) -> float:
    """Lines per second of this process's CPU time (the machine is shared: wall time would
    count the time other processes held the core)."""
    t0 = time.process_time()
    for i, raw in enumerate(lines):
        fn(raw, "bench", i)
    return len(lines) / (time.process_time() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=50_000)
    ap.add_argument("--formats", default="", help="comma-separated source names (default: every line source)")
    args = ap.parse_args(argv)
    wanted = {f for f in args.formats.split(",") if f}
    print(f"{'format':<12} {'lines':>7} {'direct lines/s':>15} {'auto lines/s':>13}  target 50,000")
    for name in registry.names(lambda s: s.line_oriented):
        if wanted and name not in wanted:
            continue
        lines = corpus(name, args.lines)
        direct = rate(registry.source(name).line_parser(), lines)
        auto = rate(autodetect.parse_line, lines)
        mark = "ok" if direct >= 50_000 else "below"
        print(f"{name:<12} {len(lines):>7} {direct:>15,.0f} {auto:>13,.0f}  {mark}")
    print(f"python {sys.version.split()[0]}, one core, lines per CPU-second of this process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
