"""Benchmark: where a CEF line's CPU time goes, stage by stage (issue 12; not a timed test).

bench_textlogs times CEF whole (its `--stages` leaves CEF out: CEF's parse_line routes malware
events to `av` around the textlog.line_parser). Here, over the same corpus (bench_textlogs.corpus:
the golden lines that parse as events, ports varied per line), CPU microseconds per line, by
difference between loops over the same lines, best of `--repeat` each:

- header: decoding and the syslog header (textlog.decode, textlog.split_syslog);
- split: the CEF header and extension (`split_cef`);
- map: the rest of `parse` (the ECS document);
- common end: textlog's finish (Community ID, related.*, id) and the av routing: the whole
  `parse_line` less the three above.

`--distinct` makes every line's CEF header and key sequence new (a vendor and a key numbered per
line), so no memo of the parser finds them: the cost when a sender never repeats itself.

Run: .venv/bin/python -m bench.bench_cef [--lines 20000] [--repeat 5] [--distinct]
Side by side with another checkout (its own parser, this script):
    cd /path/to/other && PYTHONPATH=. /path/to/this/.venv/bin/python /path/to/this/bench/bench_cef.py
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from bench.bench_textlogs import corpus
from logwarden.shippers import textlog
from logwarden.shippers.cef import parser


def distinct(lines: list[bytes]) -> list[bytes]:
    """Each line with a vendor and an extra extension key of its own (`CEF:0|V<i>-...`, ` n<i>=1`)."""
    out = []
    for i, raw in enumerate(lines):
        head, cef, rest = raw.partition(b"CEF:")
        version, bar, fields = rest.partition(b"|")
        out.append(b"%s%s%s%sV%d-%s n%d=1" % (head, cef, version, bar, i, fields, i))
    return out


def stages(lines: list[bytes], repeat: int) -> dict[str, float]:
    """CPU microseconds per line of each stage (see the module docstring), and the whole."""
    clock = time.process_time
    texts = [(textlog.decode(raw) or "").rstrip("\r\n") for raw in lines]

    def header() -> None:
        for raw in lines:
            textlog.split_syslog((textlog.decode(raw) or "").rstrip("\r\n"))

    messages = [textlog.split_syslog(text) for text in texts]

    def split() -> None:
        header()
        for _, msg in messages:
            parser.split_cef(msg)

    def parse() -> None:
        header()
        for hdr, msg in messages:
            parser.parse(msg, hdr)

    def whole() -> None:
        for position, raw in enumerate(lines):
            parser.parse_line(raw, "bench", position)

    def best(loop: Callable[[], None]) -> float:
        times = []
        for _ in range(repeat):
            start = clock()
            loop()
            times.append(clock() - start)
        return min(times) * 1e6 / len(lines)

    header_us, split_us, parse_us, whole_us = best(header), best(split), best(parse), best(whole)
    return {"header": header_us, "split": split_us - header_us, "map": parse_us - split_us,
            "common end": whole_us - parse_us, "whole": whole_us}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--distinct", action="store_true", help="a new header and key sequence every line")
    args = ap.parse_args(argv)
    lines = corpus("cef", args.lines)
    if args.distinct:
        lines = distinct(lines)
    us = stages(lines, args.repeat)
    parts = "  ".join(f"{name} {value:.1f}" for name, value in us.items() if name != "whole")
    print(f"cef {len(lines)} lines{' (distinct headers)' if args.distinct else ''}: us/line {parts}"
          f"  whole {us['whole']:.1f} = {1e6 / us['whole']:,.0f} lines per CPU-second")
    print(f"python {sys.version.split()[0]}, one core, CPU time of this process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
