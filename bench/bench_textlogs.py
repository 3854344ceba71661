"""Parse rate per text-log format, one core, on generated lines (not a timed test).

    .venv/bin/python -m bench.bench_textlogs [--lines 50000] [--formats cisco_asa,iptables] [--stages]

Lines are the sources' golden lines that parse as events, their ports varied per line; their
addresses repeat as the goldens write them (a firewall's log repeats its hosts, and the parsers keep
bounded caches of address verdicts) unless `--addresses distinct`, which gives every IPv4 address
of every line new last two octets (the first two kept, so private stays private; an address written
twice in a line stays one address, 0.0.0.0, a device's "none", stays, and so does the device's own
address after the syslog header's time: the documents keep the golden lines' fields): the rate
when no address cache helps, e.g. a scan or a flood from many sources. Each format is timed
through its `parse_line` (decode, syslog header, parse, ECS document, id) and through
`autodetect.parse_line`.
Target: 50,000 lines/s. `--stages` also says where a line's time goes, in CPU microseconds, by difference between three
loops over the same lines (best of three each): decoding and the syslog header; + the source's
`parse`; + the common end (`textlog.finish`: Community ID, related.*, the id), i.e. the whole
`parse_line`; and, within the common end, the id, the Community ID and related.*, each as what the
whole `parse_line` saves without it; and what `--source auto` adds before the parser, the
signature checks (`autodetect.detect` on the line's message). Sources whose `parse_line` is not a
`textlog.line_parser` (huorong) are left out.

    .venv/bin/python -m bench.bench_textlogs --reference ../base [--repeat 2] [--lines 50000]

`--reference TREE` measures another checkout (its own `logwarden` and virtualenv, this script) beside
this one: each tree in a child process of its own, the two alternated, the better of `--repeat`
runs per format and way; the table gives both trees' lines per CPU-second and their ratio.
`git worktree add --detach ../base main` gives one.

    .venv/bin/python -m bench.bench_textlogs --address-path [--reference ../base] [--lines 100000]

`--address-path` measures only what an address costs on its way through a firewall line (two
`textlog.endpoint`s, the Community ID, `textlog.is_private` of each): CPU ns per address seen the
first time (IPv4, IPv6) and repeated; with `--reference` beside another tree.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from logwarden.resources import data_path
from logwarden.shippers import autodetect, registry
from logwarden.shippers import textlog as t
from logwarden.shippers.base import Event
from logwarden.shippers.source import PARSER_MODULE

SHIPPERS = data_path("logwarden.shippers")


_DOTTED_QUAD = re.compile(rb"\b(\d{1,3}\.\d{1,3})\.\d{1,3}\.\d{1,3}\b")
# a syslog header's time ("Apr 14 00:20:11", "Apr 14 2020 00:20:11", "2020-04-14 00:20:11", ISO), then an address
_DEVICE_ADDRESS = re.compile(rb"(?:<\d{1,3}>)? ?(?:[A-Z][a-z]{2} +\d{1,2}(?: \d{4})? \d\d:\d\d:\d\d"
                             rb"|\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d\S*) (\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}) ")


def _new_addresses(line: bytes, i: int) -> bytes:
    """`line` with its k-th distinct IPv4 address's last two octets made from (i, k): new per line.
    What the line says about its hosts stays: an address written twice is one host, so both places
    get the same new address (Cisco ASA writes the mapped address beside the real one, equal without
    NAT), and 0.0.0.0 stays (no host but a device's "none": PAN-OS writes it for a session without
    NAT). Rewritten otherwise, the lines would carry NAT fields their golden lines do not have.
    The device's own address (the host field right after the syslog header's time) stays too,
    wherever the line repeats it: a device keeps its address, only the traffic it reports changes."""
    new_of: dict[bytes, bytes] = {b"0.0.0.0": b"0.0.0.0"}
    device = _DEVICE_ADDRESS.match(line)
    if device:
        new_of[device.group(1)] = device.group(1)

    def new(found: re.Match[bytes]) -> bytes:
        address = found.group()
        if address not in new_of:
            k = len(new_of)  # 1, 2, ... in order of first appearance
            new_of[address] = found.group(1) + b".%d.%d" % ((i // 250 + k) % 250, i % 250 + 1)
        return new_of[address]

    return _DOTTED_QUAD.sub(new, line)


def corpus(name: str, n: int, distinct_addresses: bool = False) -> list[bytes]:
    parse_line = registry.source(name).line_parser()
    good: list[bytes] = []
    for log in sorted((SHIPPERS / name / "testdata").glob("test-*.log")):
        for raw in log.read_bytes().splitlines():
            if raw.strip() and not raw.startswith(b"#") and isinstance(parse_line(raw, "b", 0), Event):
                good.append(raw)
    out = []
    for i in range(n):
        base = good[i % len(good)]
        line = re.sub(rb"\b51234\b|\b49822\b|\b40000\b", str(1024 + i % 60000).encode(), base)
        out.append(_new_addresses(line, i) if distinct_addresses else line)
    if distinct_addresses:  # a rewritten line that no longer parses would measure a dead letter
        out = [raw for raw in out if isinstance(parse_line(raw, "b", 0), Event)]
    return out


def rate(fn, lines: list[bytes]) -> float:
    """Lines per second of this process's CPU time (the machine is shared: wall time would
    count the time other processes held the core)."""
    t0 = time.process_time()
    for i, raw in enumerate(lines):
        fn(raw, "bench", i)
    return len(lines) / (time.process_time() - t0)


def stages(name: str, lines: list[bytes]) -> tuple[float, ...] | None:
    """CPU microseconds per line: (decode + syslog header, parse, common end, and of the common
    end: the id, the Community ID, related.*; then autodetect's signature checks); None when the
    source's parse_line is not a textlog.line_parser around a `parse(msg, hdr)`. A part of the
    common end is what the whole `parse_line` loses when that part is replaced by a no-op (in
    textlog's namespace, restored after), so it is timed where it runs, on documents just built.
    Best of three each."""
    parse_line = registry.source(name).line_parser()
    parse = getattr(importlib.import_module(registry.source(name).package + PARSER_MODULE), "parse", None)
    if parse is None or not hasattr(parse_line, t.AFTER_SPLIT):
        return None
    clock = time.process_time

    def whole() -> float:
        start = clock()
        for i, raw in enumerate(lines):
            parse_line(raw, "bench", i)
        return clock() - start

    parts = (("line_id", lambda source, position, raw: ""), ("community_id", lambda *flow: None),
             ("_related", lambda *nodes: None))
    messages = []
    for raw in lines:
        hdr, msg = t.split_syslog((t.decode(raw) or "").rstrip("\r\n"))
        messages.append((msg, hdr.app if hdr else None))
    best = [float("inf")] * 7
    for _ in range(3):
        start = clock()
        for raw in lines:
            t.split_syslog((t.decode(raw) or "").rstrip("\r\n"))
        split = clock() - start
        start = clock()
        for raw in lines:
            hdr, msg = t.split_syslog((t.decode(raw) or "").rstrip("\r\n"))
            parse(msg, hdr)
        parsed = clock() - start
        full = whole()
        without = []
        for attribute, no_op in parts:
            real = getattr(t, attribute)
            setattr(t, attribute, no_op)
            try:
                without.append(whole())
            finally:
                setattr(t, attribute, real)
        start = clock()
        for msg, app in messages:
            autodetect.detect(msg, app)
        detect = clock() - start
        best = [min(b, v) for b, v in zip(best, (split, parsed, full, *without, detect), strict=True)]
    per_line = 1e6 / len(lines)
    return (best[0] * per_line, (best[1] - best[0]) * per_line, (best[2] - best[1]) * per_line,
            *((best[2] - b) * per_line for b in best[3:6]), best[6] * per_line)


def address_path(n: int) -> dict[str, float]:
    """CPU ns per address of the path every firewall line takes for its two addresses (two
    `textlog.endpoint`s, the Community ID, `textlog.is_private` of each), best of three passes: for
    addresses seen the first time (IPv4 and IPv6, new ones each pass) and for repeated ones."""
    from logwarden.shippers.community_id import community_id

    def one(pairs: list[tuple[str, str]]) -> float:
        start = time.process_time()
        for a, b in pairs:
            doc: dict[str, object] = {}
            t.endpoint(doc, "source", a, "1234")
            t.endpoint(doc, "destination", b, "80")
            community_id(a, b, 6, 1234, 80)
            t.is_private(a)
            t.is_private(b)
        return (time.process_time() - start) / (2 * len(pairs)) * 1e9

    out = {"ipv4 new": float("inf"), "ipv4 repeated": float("inf"), "ipv6 new": float("inf")}
    for r in range(3):
        new4 = [(f"{(r * 37 + (i >> 16)) % 200 + 1}.{i >> 8 & 255}.{i & 255}.{r + 1}",
                 f"10.{r}.{i >> 8 & 255}.{i & 255}") for i in range(n)]
        out["ipv4 new"] = min(out["ipv4 new"], one(new4))
        out["ipv4 repeated"] = min(out["ipv4 repeated"], one([(f"198.51.100.{i % 50}", f"10.0.0.{i % 40}")
                                                              for i in range(n)]))
        new6 = [(f"2001:db8:{r}::{i:x}", f"fd00:{r}::{i:x}") for i in range(n // 4)]
        out["ipv6 new"] = min(out["ipv6 new"], one(new6))
    return out


def rates(names: list[str], n: int, distinct_addresses: bool = False) -> dict[str, tuple[float, float]]:
    """{format: (direct, auto)} lines per CPU-second in this process."""
    out = {}
    for name in names:
        lines = corpus(name, n, distinct_addresses)
        out[name] = (rate(registry.source(name).line_parser(), lines), rate(autodetect.parse_line, lines))
    return out


def _child(tree: Path, names: list[str], n: int, distinct_addresses: bool) -> dict[str, tuple[float, float]]:
    """`rates` measured by this script in a child process on `tree`'s code (its virtualenv's python
    when it has one, `tree` first on the path, run from `tree`)."""
    python = tree / ".venv" / "bin" / "python"
    cmd = [str(python if python.exists() else sys.executable), str(Path(__file__).resolve()), "--json",
           "--lines", str(n), "--formats", ",".join(names), "--addresses",
           "distinct" if distinct_addresses else "repeated"]
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=True)
    return {k: (v[0], v[1]) for k, v in json.loads(done.stdout).items()}


def address_paths(reference: Path | None, n: int, repeat: int) -> None:
    """Print `address_path` for this tree (and `reference`'s beside it, children alternated, best of
    `repeat`)."""
    this = Path(__file__).resolve().parents[1]
    trees = [this] if reference is None else [reference, this]
    best: dict[Path, dict[str, float]] = {tree: {} for tree in trees}
    for round_ in range(repeat):
        for tree in trees if round_ % 2 == 0 else trees[::-1]:
            python = tree / ".venv" / "bin" / "python"
            cmd = [str(python if python.exists() else sys.executable), str(Path(__file__).resolve()), "--json",
                   "--address-path", "--lines", str(n)]
            done = subprocess.run(cmd, cwd=tree, env=dict(os.environ, PYTHONPATH=str(tree)), capture_output=True,
                                  text=True, check=True)
            for key, value in json.loads(done.stdout).items():
                best[tree][key] = min(best[tree].get(key, float("inf")), value)
    print("CPU ns per address: two endpoints, the Community ID and two verdicts, per address of a line")
    for key in best[this]:
        row = "  ".join(f"{best[tree][key]:>8,.0f}" for tree in trees)
        ratio = f"  ratio {best[this][key] / best[reference][key]:.2f}" if reference is not None else ""
        print(f"{key:<15} {row}{ratio}")
    print(f"trees: {', '.join(map(str, trees))}; {n:,} address pairs a pass, best of 3 passes and {repeat} runs")


def side_by_side(reference: Path, names: list[str], n: int, repeat: int, distinct_addresses: bool) -> None:
    """Print this tree's rates beside `reference`'s: children alternated, best of `repeat` each."""
    this = Path(__file__).resolve().parents[1]
    best: dict[Path, dict[str, list[float]]] = {this: {}, reference: {}}
    for round_ in range(repeat):
        for tree in (reference, this) if round_ % 2 == 0 else (this, reference):
            for name, (direct, auto) in _child(tree, names, n, distinct_addresses).items():
                held = best[tree].setdefault(name, [0.0, 0.0])
                held[0], held[1] = max(held[0], direct), max(held[1], auto)
    print(f"{'format':<12} {'direct ref':>11} {'direct':>9} {'ratio':>6}  {'auto ref':>9} {'auto':>9} {'ratio':>6}")
    for name in names:
        (rd, ra), (td, ta) = best[reference][name], best[this][name]
        print(f"{name:<12} {rd:>11,.0f} {td:>9,.0f} {td / rd:>6.2f}  {ra:>9,.0f} {ta:>9,.0f} {ta / ra:>6.2f}")
    print(f"reference {reference}, {n:,} lines a format, best of {repeat} runs alternated; lines per CPU-second")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=50_000)
    ap.add_argument("--formats", default="", help="comma-separated source names (default: every line source)")
    ap.add_argument("--stages", action="store_true", help="also CPU us per line: header, parse, common end")
    ap.add_argument("--reference", type=Path, help="another checkout measured beside this one")
    ap.add_argument("--repeat", type=int, default=2, help="with --reference: runs of each tree, alternated")
    ap.add_argument("--addresses", choices=("repeated", "distinct"), default="repeated",
                    help="distinct: every traffic IPv4 address new, the device's own kept (no address cache helps)")
    ap.add_argument("--address-path", action="store_true",
                    help="CPU ns per address of the address path, new and repeated addresses (with --reference too)")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one run's rates, for --reference
    args = ap.parse_args(argv)
    if args.address_path:
        if args.json:
            print(json.dumps(address_path(args.lines)))
        else:
            address_paths(args.reference.resolve() if args.reference else None, args.lines, args.repeat)
        return 0
    wanted = {f for f in args.formats.split(",") if f}
    names = [name for name in registry.names(lambda s: s.line_oriented) if not wanted or name in wanted]
    if args.json:
        print(json.dumps(rates(names, args.lines, args.addresses == "distinct")))
        return 0
    if args.reference is not None:
        side_by_side(args.reference.resolve(), names, args.lines, args.repeat, args.addresses == "distinct")
        return 0
    print(f"{'format':<12} {'lines':>7} {'direct lines/s':>15} {'auto lines/s':>13}  target 50,000")
    for name in registry.names(lambda s: s.line_oriented):
        if wanted and name not in wanted:
            continue
        lines = corpus(name, args.lines, args.addresses == "distinct")
        direct = rate(registry.source(name).line_parser(), lines)
        auto = rate(autodetect.parse_line, lines)
        mark = "ok" if direct >= 50_000 else "below"
        print(f"{name:<12} {len(lines):>7} {direct:>15,.0f} {auto:>13,.0f}  {mark}")
        split = stages(name, lines) if args.stages else None
        if split is not None:
            print(f"{'':<12} us/line: header {split[0]:.1f}  parse {split[1]:.1f}  common end {split[2]:.1f}"
                  f" (of it: id {split[3]:.1f}, community id {split[4]:.1f}, related {split[5]:.1f})"
                  f"  auto's detect {split[6]:.1f}  (budget 20.0)")
    print(f"python {sys.version.split()[0]}, one core, lines per CPU-second of this process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
