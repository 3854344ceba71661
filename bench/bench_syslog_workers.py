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
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from bench._lab import ROOT, lab_config, namespace
from bench.bench_syslog import finish
from logwarden.kafka_io import delete_topics, ensure_topics
from tests.support.cli import env_for
from tests.textlogs.corpus import mixed

SENDERS = 16  # sending devices: the kernel hashes each (address, port) to one worker
UDP_TARGET = (10_000.0, 2)  # no loss at this rate with this many workers
LISTENING = re.compile(r"listening udp=\('([\d.]+)', (\d+)\) tcp=\('([\d.]+)', (\d+)\)")


def receiver(env: dict[str, str], n: int, workers: int) -> tuple[subprocess.Popen[str], Any, Any]:
    proc = subprocess.Popen([sys.executable, "-m", "logwarden.cli", "ship", "syslog", "--udp", "127.0.0.1:0",
                             "--tcp", "127.0.0.1:0", "--json", "--max-messages", str(n), "--workers", str(workers)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    tail: list[str] = []
    while True:
        line = proc.stderr.readline()
        if not line:
            raise RuntimeError(f"receiver did not start: {''.join(tail)[-2000:]}")
        tail.append(line)
        m = LISTENING.search(line)
        if m:
            return proc, (m.group(1), int(m.group(2))), (m.group(3), int(m.group(4)))


def run_tcp(env: dict[str, str], msgs: list[bytes], workers: int) -> tuple[float, dict[str, Any]]:
    proc, _, tcp = receiver(env, len(msgs), workers)
    payloads = [b"".join(m + b"\n" for m in msgs[k::SENDERS]) for k in range(SENDERS)]

    def send(payload: bytes) -> None:
        with socket.create_connection(tcp) as conn:
            conn.sendall(payload)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=send, args=(p,)) for p in payloads]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    counts = finish(proc, 300)
    return len(msgs) / (time.perf_counter() - t0), counts


def run_udp(env: dict[str, str], msgs: list[bytes], rate: float, workers: int) -> tuple[float, dict[str, Any]]:
    proc, udp, _ = receiver(env, len(msgs), workers)
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(SENDERS)]
    per_tick = max(SENDERS, int(rate / 200))
    t0 = time.perf_counter()
    for k in range(0, len(msgs), per_tick):
        delay = t0 + k / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        for j, m in enumerate(msgs[k:k + per_tick]):
            socks[j % SENDERS].sendto(m, udp)
    sent_rate = len(msgs) / (time.perf_counter() - t0)
    for s in socks:
        s.close()
    return sent_rate, finish(proc, len(msgs) / 2000 + 10)


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
