"""`ship syslog --workers N` scaling and UDP loss on the real lab (a measurement, not a timed test).

    .venv/bin/python -m bench.bench_syslog_workers [--messages 20000] [--workers 1,2] [--udp-rates 10000]
        [--no-tcp] [--hog 0,1] [--roots after=.,before=../h6-base] [--rounds 1] [--parse-workers 1,2]

For each CPU-hog count, worker count and receiver checkout (`--roots`: name=path, the first is the
reference; `before=` another worktree of main gives a before/after in one run, alternated per
round), starts the real CLI on ephemeral loopback ports in a throw-away topic namespace and
measures
- TCP receive-to-Kafka (unless --no-tcp): the mixed firewall/AV corpus (tests/textlogs/corpus.py)
  over SENDERS connections sent at once, from the first byte until the receiver exited after
  Kafka acknowledged everything (`--max-messages N`);
- UDP loss at each `--udp-rates` msg/s from SENDERS sender sockets (several devices: the kernel
  hashes each source address and port to one worker; one single sender always lands on one
  worker). Lost = sent - received; the receiver's own account of it is printed beside
  (`udp_overflow`: its queue was full, `udp_kernel_dropped`: the kernel's count; receivers
  without them print -).
`--parse-workers K,...`: also `--workers 1 --parse-workers K` for each K > 1 (one receiver's
messages parsed by K processes; skipped for a checkout without the option). Single receivers
also print their CPU per message (every thread of the receiver and of its parse processes,
bench/_syslog_send.py CpuWatch): the figure a loaded box moves least.
`--hog K`: K processes spinning `while 1: pass` beside the receiver during the run (a loaded box).
Prints msg/s, the ratio to the reference, lost datagrams and the load average. Needs `logwarden lab up`.
Target (issue 12): no UDP loss at 10,000 msg/s with 2 workers.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._lab import ROOT, lab_config, namespace
from bench._syslog_send import CpuUse, CpuWatch, mixed, send_tcp, send_udp, start_receiver
from logwarden.kafka_io import delete_topics, ensure_topics
from tests.support.cli import env_for

SENDERS = 16  # sending devices: the kernel hashes each (address, port) to one worker
UDP_TARGET = (10_000.0, 2)  # no loss at this rate with this many workers


def run_tcp(env: dict[str, str], msgs: list[bytes], workers: int, root: Path = ROOT,
            extra: tuple[str, ...] = ()) -> tuple[float, dict[str, Any], CpuUse | None]:
    receiver = start_receiver(env, len(msgs), workers, root=root, extra=extra)
    assert receiver.tcp is not None
    watch = CpuWatch(receiver.proc.pid) if workers == 1 else None
    t0 = time.perf_counter()
    send_tcp(receiver.tcp, msgs, SENDERS)
    counts = receiver.finish(300)
    rate = len(msgs) / (time.perf_counter() - t0)
    return rate, counts, watch.stop() if watch is not None else None


def run_udp(env: dict[str, str], msgs: list[bytes], rate: float, workers: int,
            root: Path = ROOT, extra: tuple[str, ...] = ()) -> tuple[float, dict[str, Any], CpuUse | None]:
    receiver = start_receiver(env, len(msgs), workers, root=root, extra=extra)
    assert receiver.udp is not None
    watch = CpuWatch(receiver.proc.pid) if workers == 1 else None
    sent_rate = send_udp(receiver.udp, msgs, rate, SENDERS)
    counts = receiver.finish(len(msgs) / 2000 + 10)
    return sent_rate, counts, watch.stop() if watch is not None else None


def shapes(workers: str, parse_workers: str) -> list[tuple[int, int]]:
    """(workers, parse workers) of each receiver to run: `--workers` values with 1 parse worker,
    then 1 worker with each `--parse-workers` value above 1."""
    out = [(int(w), 1) for w in workers.split(",") if w]
    return out + [(1, int(k)) for k in parse_workers.split(",") if k and int(k) > 1]


def _has_parse_workers(root: Path) -> bool:
    return "parse-workers" in (root / "logwarden" / "commands" / "ship_text.py").read_text(encoding="utf-8")


@contextlib.contextmanager
def cpu_hogs(count: int) -> Iterator[None]:
    """`count` processes spinning on a core each while the block runs."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def parse_roots(text: str) -> list[tuple[str, Path]]:
    """`after=.,before=../h6-base` as [(name, absolute path)]; relative to the checkout."""
    out = []
    for part in (p for p in text.split(",") if p):
        name, _, path = part.partition("=")
        out.append((name, (ROOT / path).resolve()))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--udp-rates", default=f"{UDP_TARGET[0]:.0f}")
    ap.add_argument("--no-tcp", action="store_true")
    ap.add_argument("--hog", default="0", help="comma-separated counts of CPU-hog processes")
    ap.add_argument("--roots", default="this=.", help="name=checkout,... (the first is the reference)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--parse-workers", default="1", help="also --workers 1 --parse-workers K, for each K > 1")
    args = ap.parse_args(argv)
    cfg = namespace(lab_config(), "sysw")
    env = env_for(cfg)
    env["LOGWARDEN_STATE"] = str(ROOT / ".lab" / f"bench-{cfg.topic_prefix.rstrip('.')}")
    ensure_topics(cfg)
    msgs = mixed(args.messages)
    roots = parse_roots(args.roots)
    reference: float | None = None
    try:
        for round_no in range(args.rounds):
            order = roots if round_no % 2 == 0 else roots[::-1]
            for hogs in (int(h) for h in args.hog.split(",") if h):
                for workers, parse_workers in shapes(args.workers, args.parse_workers):
                    extra = ("--parse-workers", str(parse_workers)) if parse_workers > 1 else ()
                    for name, root in order:
                        if extra and not _has_parse_workers(root):
                            continue
                        with cpu_hogs(hogs):
                            label = f"{name:<7} hog {hogs} workers {workers}" + (
                                f" parse {parse_workers}" if extra else "")
                            if not args.no_tcp:
                                rate, counts, cpu = run_tcp(env, msgs, workers, root, extra)
                                reference = reference or rate
                                print(f"{label}  TCP x{SENDERS}  {len(msgs):>7} msgs  receive-to-Kafka {rate:>9,.0f} "
                                      f"msg/s  ratio {rate / reference:.2f}  received {counts['received']} "
                                      f"dead {counts['dead']}" + (f"  {cpu.per_message(len(msgs))}" if cpu else "")
                                      + f"  load {os.getloadavg()[0]:.1f}", flush=True)
                            for udp_rate in (float(r) for r in args.udp_rates.split(",") if r):
                                sent, counts, cpu = run_udp(env, msgs, udp_rate, workers, root, extra)
                                lost = len(msgs) - counts["udp"]
                                print(f"{label}  UDP x{SENDERS}  {len(msgs):>7} msgs  paced {udp_rate:,.0f}/s "
                                      f"(sent at {sent:,.0f}/s)  lost {lost} ({lost / len(msgs):.2%})  "
                                      f"overflow {counts.get('udp_overflow', '-')} "
                                      f"kernel {counts.get('udp_kernel_dropped', '-')}"
                                      + (f"  {cpu.per_message(counts['udp'])}" if cpu else "")
                                      + f"  load {os.getloadavg()[0]:.1f}", flush=True)
                                if (udp_rate, workers) == UDP_TARGET:
                                    print(f"{label}  target: no UDP loss at {UDP_TARGET[0]:,.0f} msg/s with "
                                          f"{workers} workers: {'met' if not lost else 'NOT met'}", flush=True)
    finally:
        delete_topics(cfg, cfg.topic_prefix)
        shutil.rmtree(env["LOGWARDEN_STATE"], ignore_errors=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, receiver = `logwarden ship syslog --workers N`, "
          f"reference = {roots[0][0]} in this run, lab Kafka {cfg.kafka}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
