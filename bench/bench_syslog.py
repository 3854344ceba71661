"""Syslog receive-to-Kafka rate on the real lab (not a timed test).

    .venv/bin/python -m bench.bench_syslog [--messages 20000] [--udp-rates 5000,10000,20000]

Starts `logwarden ship syslog` (the real CLI, a subprocess) on ephemeral loopback ports with
its own topic prefix, sends the mixed firewall/AV corpus of tests/textlogs/corpus.py, and
reports messages/s from the first byte sent until the receiver exited after Kafka acknowledged
everything (`--max-messages N`: it stops after the Nth message and flushes). TCP: one
connection, newline framing, sent as fast as the socket takes it. UDP: paced at each given rate;
loss = sent - received (SO_RCVBUF as the receiver reports it). Topics are deleted afterwards.
Needs `logwarden lab up`.

Target: no UDP loss at 5,000 msg/s on loopback (the line marked "target"). This was an assertion
of tests/textlogs/test_syslog_servers.py; a rate on a shared 2-core machine is a measurement, so
the test now sends a few hundred messages/s and reconciles counts, and the rate is checked here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from typing import Any

from bench._lab import ROOT
from logwarden.config import load
from logwarden.kafka_io import delete_topics, ensure_topics
from tests.textlogs.corpus import mixed

UDP_TARGET_RATE = 5_000.0  # msg/s the receiver must take over UDP without loss
LISTENING = re.compile(r"listening udp=\('([\d.]+)', (\d+)\) tcp=\('([\d.]+)', (\d+)\) \(udp SO_RCVBUF=(\d+)\)")


def receiver(env: dict[str, str], n: int) -> tuple[subprocess.Popen[str], tuple[str, int], tuple[str, int], int]:
    proc = subprocess.Popen([sys.executable, "-m", "logwarden.cli", "ship", "syslog", "--udp", "127.0.0.1:0",
                             "--tcp", "127.0.0.1:0", "--json", "--max-messages", str(n)],
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
            return proc, (m.group(1), int(m.group(2))), (m.group(3), int(m.group(4))), int(m.group(5))


def finish(proc: subprocess.Popen[str], wait: float) -> dict[str, Any]:
    try:
        out, err = proc.communicate(timeout=wait)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # messages were lost: stop it, read its counts
        out, err = proc.communicate(timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"receiver failed ({proc.returncode}): {err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def run_tcp(env: dict[str, str], msgs: list[bytes]) -> tuple[float, dict[str, Any]]:
    proc, _, tcp, _ = receiver(env, len(msgs))
    payload = b"".join(m + b"\n" for m in msgs)
    t0 = time.perf_counter()
    with socket.create_connection(tcp) as conn:
        conn.sendall(payload)
    counts = finish(proc, 300)
    return len(msgs) / (time.perf_counter() - t0), counts


def run_udp(env: dict[str, str], msgs: list[bytes], rate: float) -> tuple[float, float, dict[str, Any], int]:
    proc, udp, _, rcvbuf = receiver(env, len(msgs))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    per_tick = max(1, int(rate / 200))
    t0 = time.perf_counter()
    for k in range(0, len(msgs), per_tick):
        delay = t0 + k / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        for m in msgs[k:k + per_tick]:
            sock.sendto(m, udp)
    sent_rate = len(msgs) / (time.perf_counter() - t0)
    sock.close()
    counts = finish(proc, len(msgs) / 2000 + 10)
    return sent_rate, len(msgs) / (time.perf_counter() - t0), counts, rcvbuf


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--udp-rates", default="5000,10000,20000")
    args = ap.parse_args(argv)
    cfg = load()
    cfg.topic_prefix = f"lwbench{uuid.uuid4().hex[:8]}."
    env = {**os.environ, "LOGWARDEN_KAFKA": cfg.kafka, "LOGWARDEN_TOPIC_PREFIX": cfg.topic_prefix}
    ensure_topics(cfg)
    msgs = mixed(args.messages)
    try:
        rate, counts = run_tcp(env, msgs)
        print(f"TCP  {len(msgs):>7} msgs  receive-to-Kafka {rate:>9,.0f} msg/s  "
              f"received {counts['received']} parsed {counts['parsed']} dead {counts['dead']}")
        for target in (float(r) for r in args.udp_rates.split(",") if r):
            sent, rate, counts, rcvbuf = run_udp(env, msgs, target)
            lost = len(msgs) - counts["udp"]
            shown = f"{rate:>9,.0f} msg/s" if not lost else "      n/a (loss)"
            print(f"UDP  {len(msgs):>7} msgs  paced {target:>7,.0f}/s (sent at {sent:,.0f}/s)  receive-to-Kafka "
                  f"{shown}  lost {lost} ({lost / len(msgs):.2%})  SO_RCVBUF {rcvbuf:,}")
            if target == UDP_TARGET_RATE:
                print(f"target: no UDP loss at {UDP_TARGET_RATE:,.0f} msg/s: {'met' if not lost else 'NOT met'}")
    finally:
        delete_topics(cfg, cfg.topic_prefix)
    print(f"python {sys.version.split()[0]}, receiver = `logwarden ship syslog` subprocess, lab Kafka {cfg.kafka}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
