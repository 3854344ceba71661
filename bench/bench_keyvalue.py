"""The shared key=value reader per source, and FortiGate's parse without it (not a timed test).

    .venv/bin/python -m bench.bench_keyvalue [--lines 5000] [--reference ../h1-base] [--rounds 15]

For each source that reads its lines with `keyvalue.kv_pairs` (fortigate, huawei_usg, secgate), on
bench_textlogs' lines after the syslog header: CPU µs per line of this tree's `kv_pairs` and, with
`--reference` (another checkout, e.g. a worktree of main), of that checkout's `keyvalue.py` loaded
beside it in this process, alternated, best of `--rounds` each (the machine is shared: one process
and the best round keep other engineers' load out of the comparison). Both readers must give the
same pairs, in the same order, for every line. For fortigate it also splits `parse` into the reader
and FortiGate's own work after the pairs (parse on pairs read beforehand, less copying them).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.bench_textlogs import corpus
from logwarden.shippers import textlog as t
from logwarden.shippers.fortigate import parser as fortigate
from logwarden.shippers.keyvalue import kv_pairs

SOURCES = ("fortigate", "huawei_usg", "secgate")
KvFn = Callable[[str], dict[str, str]]


def reference_reader(checkout: Path) -> KvFn:
    """`kv_pairs` of another checkout's keyvalue.py (a module of its own, only `re` imported).
    Raises FileNotFoundError when the checkout has none."""
    path = checkout / "logwarden" / "shippers" / "keyvalue.py"
    spec = importlib.util.spec_from_file_location("reference_keyvalue", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    reader: KvFn = module.kv_pairs
    return reader


def each(fn: Callable[[Any], object], items: list[Any]) -> None:
    """`fn` on every item, each result dropped at once (as a parser drops its pairs)."""
    for item in items:
        fn(item)


def best_us(jobs: dict[str, Callable[[], object]], lines: int, rounds: int) -> dict[str, float]:
    """CPU µs per line of each job (a loop over all lines), jobs alternated, best of `rounds`."""
    best = dict.fromkeys(jobs, float("inf"))
    for _ in range(rounds):
        for name, job in jobs.items():
            start = time.process_time()
            job()
            best[name] = min(best[name], time.process_time() - start)
    return {name: seconds / lines * 1e6 for name, seconds in best.items()}


def measure(name: str, lines: int, rounds: int, reference: KvFn | None) -> dict[str, float] | None:
    """CPU µs per line of one source's jobs (see the module docstring); None when the readers disagree."""
    messages = [t.split_syslog((t.decode(raw) or "").rstrip("\r\n")) for raw in corpus(name, lines)]
    texts = [msg for _, msg in messages]
    jobs: dict[str, Callable[[], object]] = {"this": lambda: each(kv_pairs, texts)}
    if reference is not None:
        if any(list(reference(text).items()) != list(kv_pairs(text).items()) for text in texts):
            return None
        jobs["reference"] = lambda: each(reference, texts)
    if name != "fortigate":
        return best_us(jobs, len(texts), rounds)
    read = {text: kv_pairs(text) for text in texts}
    jobs["parse on read pairs"] = lambda: each(lambda hdr_msg: fortigate.parse(hdr_msg[1], hdr_msg[0]), messages)
    jobs["copying the pairs"] = lambda: each(lambda text: read[text].copy(), texts)
    fortigate.kv_pairs = lambda text: read[text].copy()  # type: ignore[attr-defined]
    try:
        return best_us(jobs, len(texts), rounds)
    finally:
        fortigate.kv_pairs = kv_pairs  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=5_000)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--reference", type=Path, help="another checkout whose keyvalue.py is compared")
    args = ap.parse_args(argv)
    reference = reference_reader(args.reference) if args.reference else None
    for name in SOURCES:
        us = measure(name, args.lines, args.rounds, reference)
        if us is None:
            print(f"{name}: the two readers disagree", file=sys.stderr)
            return 1
        line = f"{name:<11} kv_pairs {us['this']:.2f} µs/line"
        if "reference" in us:
            line += f" (reference {us['reference']:.2f}: {us['reference'] - us['this']:+.2f} saved)"
        print(line)
        if name == "fortigate":
            own = us["parse on read pairs"] - us["copying the pairs"]
            print(f"{'':<11} FortiGate's own work after the pairs {own:.2f} µs/line")
    print(f"python {sys.version.split()[0]}, CPU time of this process, best of {args.rounds} rounds each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
