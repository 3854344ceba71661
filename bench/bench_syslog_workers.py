"""`ship syslog --workers N` scaling on the real lab (a measurement, not a timed test).

    .venv/bin/python -m bench.bench_syslog_workers [--messages 20000] [--workers 1,2] [--udp-rate 10000]

For each worker count (the reference is the first, 1 worker, in the same run): starts the real
CLI on ephemeral loopback ports in a throw-away topic namespace and measures
- TCP receive-to-Kafka: the mixed firewall/AV corpus (tests/textlogs/corpus.py) over SENDERS
  connections sent at once, from the first byte until the receiver exited after Kafka
  acknowledged everything (`--max-messages N`);
- UDP loss at `--udp-rate` msg/s from SENDERS sender sockets (several devices: the kernel hashes
  each source address and port to one worker; one single sender always lands on one worker).
Prints msg/s, the ratio to the reference, and lost datagrams. Needs `logwarden lab up`.
Target (issue 12): no UDP loss at 10,000 msg/s with 2 workers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from typing import Any

from bench._lab import ROOT, lab_config, namespace
from bench._syslog_send import mixed, send_tcp, send_udp, start_receiver
from logwarden.kafka_io import delete_topics, ensure_topics
from tests.support.cli import env_for

SENDERS = 16  # sending devices: the kernel hashes each (address, port) to one worker
UDP_TARGET = (10_000.0, 2)  # no loss at this rate with this many workers


def run_tcp(env: dict[str, str], msgs: list[bytes], workers: int) -> tuple[float, dict[str, Any]]:
    receiver = start_receiver(env, len(msgs), workers)
    assert receiver.tcp is not None
    t0 = time.perf_counter()
    send_tcp(receiver.tcp, msgs, SENDERS)
    counts = receiver.finish(300)
    return len(msgs) / (time.perf_counter() - t0), counts


def run_udp(env: dict[str, str], msgs: list[bytes], rate: float, workers: int) -> tuple[float, dict[str, Any]]:
    receiver = start_receiver(env, len(msgs), workers)
    assert receiver.udp is not None
    sent_rate = send_udp(receiver.udp, msgs, rate, SENDERS)
    return sent_rate, receiver.finish(len(msgs) / 2000 + 10)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--udp-rate", type=float, default=UDP_TARGET[0])
    args = ap.parse_args(argv)
    cfg = namespace(lab_config(), "sysw")
    env = env_for(cfg)
    env["LOGWARDEN_STATE"] = str(ROOT / ".lab" / f"bench-{cfg.topic_prefix.rstrip('.')}")
    ensure_topics(cfg)
    msgs = mixed(args.messages)
    reference: float | None = None
    try:
        for workers in (int(w) for w in args.workers.split(",") if w):
            rate, counts = run_tcp(env, msgs, workers)
            reference = reference or rate
            print(f"workers {workers}  TCP x{SENDERS}  {len(msgs):>7} msgs  receive-to-Kafka {rate:>9,.0f} msg/s  "
                  f"ratio {rate / reference:.2f}  received {counts['received']} dead {counts['dead']}")
            sent, counts = run_udp(env, msgs, args.udp_rate, workers)
            lost = len(msgs) - counts["udp"]
            print(f"workers {workers}  UDP x{SENDERS}  {len(msgs):>7} msgs  paced {args.udp_rate:,.0f}/s "
                  f"(sent at {sent:,.0f}/s)  lost {lost} ({lost / len(msgs):.2%})")
            if (args.udp_rate, workers) == UDP_TARGET:
                print(f"target: no UDP loss at {UDP_TARGET[0]:,.0f} msg/s with {workers} workers: "
                      f"{'met' if not lost else 'NOT met'}")
    finally:
        delete_topics(cfg, cfg.topic_prefix)
        shutil.rmtree(env["LOGWARDEN_STATE"], ignore_errors=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, receiver = `logwarden ship syslog --workers N`, "
          f"reference = 1 worker in this run, lab Kafka {cfg.kafka}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
