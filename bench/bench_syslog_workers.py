"""`ship syslog --workers N` scaling and UDP loss on the real lab (a measurement, not a timed test).

    .venv/bin/python -m bench.bench_syslog_workers [--messages 20000] [--workers 1,2] [--udp-rates 10000]
        [--no-tcp] [--hog 0,1] [--roots after=.,before=../h6-base] [--rounds 1]

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
from bench._syslog_send import mixed, send_tcp, send_udp, start_receiver
from logwarden.kafka_io import delete_topics, ensure_topics
from tests.support.cli import env_for

SENDERS = 16  # sending devices: the kernel hashes each (address, port) to one worker
UDP_TARGET = (10_000.0, 2)  # no loss at this rate with this many workers


def run_tcp(env: dict[str, str], msgs: list[bytes], workers: int, root: Path = ROOT) -> tuple[float, dict[str, Any]]:
    receiver = start_receiver(env, len(msgs), workers, root=root)
    assert receiver.tcp is not None
    t0 = time.perf_counter()
    send_tcp(receiver.tcp, msgs, SENDERS)
    counts = receiver.finish(300)
    return len(msgs) / (time.perf_counter() - t0), counts


def run_udp(env: dict[str, str], msgs: list[bytes], rate: float, workers: int,
            root: Path = ROOT) -> tuple[float, dict[str, Any]]:
    receiver = start_receiver(env, len(msgs), workers, root=root)
    assert receiver.udp is not None
    sent_rate = send_udp(receiver.udp, msgs, rate, SENDERS)
    return sent_rate, receiver.finish(len(msgs) / 2000 + 10)


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
                for workers in (int(w) for w in args.workers.split(",") if w):
                    for name, root in order:
                        with cpu_hogs(hogs):
                            label = f"{name:<7} hog {hogs} workers {workers}"
                            if not args.no_tcp:
                                rate, counts = run_tcp(env, msgs, workers, root)
                                reference = reference or rate
                                print(f"{label}  TCP x{SENDERS}  {len(msgs):>7} msgs  receive-to-Kafka {rate:>9,.0f} "
                                      f"msg/s  ratio {rate / reference:.2f}  received {counts['received']} "
                                      f"dead {counts['dead']}", flush=True)
                            for udp_rate in (float(r) for r in args.udp_rates.split(",") if r):
                                sent, counts = run_udp(env, msgs, udp_rate, workers, root)
                                lost = len(msgs) - counts["udp"]
                                print(f"{label}  UDP x{SENDERS}  {len(msgs):>7} msgs  paced {udp_rate:,.0f}/s "
                                      f"(sent at {sent:,.0f}/s)  lost {lost} ({lost / len(msgs):.2%})  "
                                      f"overflow {counts.get('udp_overflow', '-')} "
                                      f"kernel {counts.get('udp_kernel_dropped', '-')}  "
                                      f"load {os.getloadavg()[0]:.1f}", flush=True)
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
