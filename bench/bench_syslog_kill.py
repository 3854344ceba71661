"""One parse process of `ship syslog --parse-workers 2` killed under load, for this checkout and
others in one run (a before/after; a measurement, the test is tests/syslog/test_spread_kill_servers.py).

    .venv/bin/python -m bench.bench_syslog_kill [--proto tcp|udp] [--rate 1000] \\
        [--roots after=.,before=../h7-base]

For each checkout: `ship syslog --parse-workers 2` on an ephemeral loopback port of the lab,
numbered iptables lines (tests/syslog/sequenced.py) at `--rate` per second over one TCP
connection or one UDP socket; after 3 s one parse process is stopped (SIGSTOP) for 2 s, so that
its queue holds reads it cannot handle, then SIGKILLed; 3 s more, the sender stops, SIGTERM.
Prints what was sent, received and found in Kafka (distinct sequence numbers, copies), the
receiver's counters, and whether it exited within 120 s of the SIGTERM (else it is killed and
the line says "hung"). Each run has its own topics, deleted at the end. Needs `logwarden lab up`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench._lab import lab_config, namespace
from bench.bench_syslog_workers import parse_roots
from logwarden.kafka_io import delete_topics, ensure_topics
from tests.support.cli import env_for
from tests.syslog.sequenced import PacedSender, numbered_in_kafka

SHOWN = ("parsed", "dead", "dropped", "lost", "parse_died", "rehanded", "parse_restarts")


def _children(pid: int) -> set[int]:
    """The child processes of `pid`, whichever of its threads started them."""
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out.update(int(p) for p in (task / "children").read_text(encoding="ascii").split())
        except OSError:
            continue
    return out


def run(root: Path, proto: str, rate: int) -> str:
    """One kill on the receiver of checkout `root`; returns the result line."""
    from bench._syslog_send import start_receiver

    cfg = namespace(lab_config(), "kill")
    ensure_topics(cfg)
    env = env_for(cfg)
    env["LOGWARDEN_STATE"] = f"/tmp/lw-bench-kill-{os.getpid()}-{cfg.topic_prefix.rstrip('.')}"
    try:
        receiver = start_receiver(env, 10**12, udp=proto == "udp", tcp=proto == "tcp", root=root,
                                  extra=("--parse-workers", "2", "--grace", "5"))
        address = receiver.udp if proto == "udp" else receiver.tcp
        assert address is not None
        sender = PacedSender(address, rate, udp=proto == "udp").start()
        try:
            time.sleep(3)
            victim = max(_children(receiver.proc.pid))
            os.kill(victim, signal.SIGSTOP)
            time.sleep(2)
            os.kill(victim, signal.SIGKILL)
            time.sleep(3)
        finally:
            sent = sender.stop()
        time.sleep(1)
        receiver.proc.send_signal(signal.SIGTERM)
        exited = "exit"
        try:
            out, _ = receiver.proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            exited = "hung"
            receiver.proc.kill()
            out, _ = receiver.proc.communicate(timeout=30)
        counts = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
        received = counts.get("received", sent)
        seen = numbered_in_kafka(cfg, ("firewall", "deadletter"), received, timeout=60)
        numbers = {n for n, _ in seen}
        return (f"{root.name:<10} {proto}  sent {sent:>6}  received {received:>6}  in Kafka {len(numbers):>6} "
                f"({len(seen) - len(numbers)} copies)  missing {received - len(numbers):>5}  "
                f"{exited} {receiver.proc.returncode}  " + " ".join(f"{k}={counts.get(k, '-')}" for k in SHOWN))
    finally:
        delete_topics(cfg, cfg.topic_prefix)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    ap.add_argument("--rate", type=int, default=1_000, help="lines (datagrams) per second")
    ap.add_argument("--roots", default="this=.", help="name=checkout,...")
    args = ap.parse_args(argv)
    for _, root in parse_roots(args.roots):
        print(run(root, args.proto, args.rate), flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
