"""What the syslog benches share: the payloads, the sender (TCP connections, paced UDP sockets),
the `logwarden ship syslog` receiver as a subprocess, and a count of what reached Kafka.

One sender for bench_syslog.py, bench_syslog_workers.py and bench_rsyslog.py, so every figure of
docs/benchmarks.md's syslog part is sent the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._lab import ROOT
from logwarden.config import Config
from tests.textlogs import corpus

LISTENING = re.compile(r"listening udp=(?:\('([\d.]+)', (\d+)\)|None) tcp=(?:\('([\d.]+)', (\d+)\)|None) "
                       r"\(udp SO_RCVBUF=(\w+)\)")


def mixed(n: int) -> list[bytes]:
    """The project's mixed firewall/AV corpus (tests/textlogs/corpus.py): n messages."""
    return corpus.mixed(n)


def firewall(n: int) -> list[bytes]:
    """n firewall lines with a syslog header: the golden lines of every firewall source that
    parse as events, the sources in turn, ports varied per line (no AV, GBK or garbage)."""
    from logwarden.shippers import autodetect, registry
    from logwarden.shippers.base import Event

    pools = []
    for name in registry.names(lambda s: s.dataset == "firewall" and s.line_oriented):
        lines = [corpus.with_header(raw, name, i) for i, raw in enumerate(corpus.golden(name))]
        parsed = [(line, autodetect.parse_line(line, "bench", 0)) for line in lines]
        good = [line for line, item in parsed if isinstance(item, Event) and item.dataset == "firewall"]
        if good:
            pools.append(good)
    port = re.compile(rb"\b(?:51234|49822|40000|49700|53000)\b")
    out = []
    for i in range(n):
        pool = pools[i % len(pools)]
        out.append(port.sub(str(1024 + i % 60000).encode(), pool[(i // len(pools)) % len(pool)]))
    return out


CORPORA = {"mixed": mixed, "firewall": firewall}


# ---------------------------------------------------------------------------------------- sending
def send_tcp(address: tuple[str, int], msgs: Sequence[bytes], connections: int = 1) -> None:
    """Send `msgs` newline-framed over `connections` TCP connections at once (message k on
    connection k % connections), as fast as the sockets take them; returns when all were sent."""
    payloads = [b"".join(m + b"\n" for m in msgs[k::connections]) for k in range(connections)]

    def send(payload: bytes) -> None:
        with socket.create_connection(address) as conn:
            conn.sendall(payload)

    threads = [threading.Thread(target=send, args=(p,)) for p in payloads]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


def send_udp(address: tuple[str, int], msgs: Sequence[bytes], rate: float, senders: int = 1) -> float:
    """Send `msgs` as datagrams paced at `rate` msg/s from `senders` sockets (one sending device
    each: the kernel hashes each source port to one SO_REUSEPORT worker); returns the rate
    actually sent."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(senders)]
    per_tick = max(senders, int(rate / 200))
    t0 = time.perf_counter()
    try:
        for k in range(0, len(msgs), per_tick):
            delay = t0 + k / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            for j, m in enumerate(msgs[k:k + per_tick]):
                socks[j % senders].sendto(m, address)
        return len(msgs) / (time.perf_counter() - t0)
    finally:
        for s in socks:
            s.close()


# -------------------------------------------------------------------------------------- receiving
@dataclass
class Receiver:
    """A running `logwarden ship syslog`, its addresses and the UDP receive buffer it got."""

    proc: subprocess.Popen[str]
    udp: tuple[str, int] | None
    tcp: tuple[str, int] | None
    rcvbuf: int | None

    def finish(self, wait: float) -> dict[str, Any]:
        """Wait up to `wait` s for it to exit (SIGTERM after that: messages were lost); returns
        its --json counters. Raises RuntimeError when it failed."""
        try:
            out, err = self.proc.communicate(timeout=wait)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGTERM)
            out, err = self.proc.communicate(timeout=120)
        if self.proc.returncode != 0:
            raise RuntimeError(f"receiver failed ({self.proc.returncode}): {err[-2000:]}")
        counts: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return counts


def start_receiver(env: dict[str, str], n: int, workers: int = 1, udp: bool = True, tcp: bool = True,
                   extra: Sequence[str] = (), root: Path = ROOT) -> Receiver:
    """Start `logwarden ship syslog` on ephemeral loopback ports, stopping after `n` messages;
    returns once it listens. `root`: the checkout whose `logwarden` package runs (its folder is
    the working directory, first on `python -m`'s path: another worktree for a before/after
    comparison in one run). Raises RuntimeError when it exits before."""
    args = [sys.executable, "-m", "logwarden.cli", "ship", "syslog", "--json", "--max-messages", str(n),
            "--workers", str(workers), *extra]
    args += ["--udp", "127.0.0.1:0"] if udp else []
    args += ["--tcp", "127.0.0.1:0"] if tcp else []
    proc = subprocess.Popen(args, env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    tail: list[str] = []
    while True:
        line = proc.stderr.readline()
        if not line:
            raise RuntimeError(f"receiver did not start: {''.join(tail)[-2000:]}")
        tail.append(line)
        m = LISTENING.search(line)
        if m:
            u = (m.group(1), int(m.group(2))) if m.group(1) else None
            t = (m.group(3), int(m.group(4))) if m.group(3) else None
            return Receiver(proc, u, t, int(m.group(5)) if m.group(5).isdigit() else None)


# ------------------------------------------------------------------------------------ CPU time
@dataclass
class ThreadTimes:
    """One thread's scheduler times (/proc/PID/task/TID/schedstat), in seconds."""

    name: str
    on_cpu: float
    runnable: float  # ready to run but waiting for a CPU (other processes, other threads)


def thread_times(pid: int) -> dict[int, ThreadTimes]:
    """The scheduler times of each live thread of process `pid` (Linux); {} when it is gone."""
    out: dict[int, ThreadTimes] = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, ValueError):
                name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
                on_cpu, runnable, _ = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()
                out[int(tid)] = ThreadTimes(name, int(on_cpu) / 1e9, int(runnable) / 1e9)
    return out


def children(pid: int) -> list[int]:
    """The child processes of `pid` (Linux); [] when it is gone."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def process_cpu(pid: int) -> float | None:
    """utime + stime of process `pid` (its ended threads included), in seconds; None when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuWatch:
    """Where a receiver's time goes during a run: the CPU seconds of its process and their child
    processes (every thread, those that ended included) and, for its busiest thread (the one
    parsing a TCP connection), the seconds on a CPU and the seconds it was ready to run but
    waited for one. Sampled every `interval` s, as a connection's thread ends with its connection."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval = pid, interval
        self._pids = [pid, *children(pid)]
        self._first = {p: thread_times(p) for p in self._pids}
        self._last = {p: dict(times) for p, times in self._first.items()}
        self._cpu0 = {p: process_cpu(p) or 0.0 for p in self._pids}
        self._cpu = dict(self._cpu0)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _look(self) -> None:
        for pid in {*self._pids, *children(self.pid)}:
            if pid not in self._last:
                self._pids.append(pid)
                self._first[pid], self._last[pid], self._cpu0[pid] = {}, {}, 0.0
            self._last[pid].update(thread_times(pid))
            cpu = process_cpu(pid)
            if cpu is not None:
                self._cpu[pid] = cpu

    def _sample(self) -> None:
        while not self._done.wait(self.interval):
            self._look()

    def stop(self) -> CpuUse:
        """Stop sampling; returns what was used since the start."""
        self._look()
        self._done.set()
        self._thread.join()
        used = [ThreadTimes(t.name, t.on_cpu - first.on_cpu if first else t.on_cpu,
                            t.runnable - first.runnable if first else t.runnable)
                for pid, threads in self._last.items() for tid, t in threads.items()
                for first in [self._first[pid].get(tid)]]
        busiest = max(used, key=lambda t: t.on_cpu, default=ThreadTimes("-", 0.0, 0.0))
        return CpuUse(sum(self._cpu.values()) - sum(self._cpu0.values()), busiest)


@dataclass
class CpuUse:
    """A process's CPU seconds over a run and its busiest thread's times."""

    process: float
    busiest: ThreadTimes

    def per_message(self, n: int) -> str:
        """`process CPU, busiest thread on CPU + waiting for a CPU`, in microseconds per message."""
        us = 1e6 / n if n else 0.0
        return (f"cpu {self.process * us:5.1f} us/msg (busiest thread {self.busiest.on_cpu * us:5.1f} on a CPU "
                f"+ {self.busiest.runnable * us:5.1f} waiting for one)")


# ------------------------------------------------------------------------------------------ Kafka
def wait_for_count(cfg: Config, target: int, prefix: str | None = None, timeout: float = 300,
                   settle: float = 5.0) -> tuple[int, float]:
    """Poll the topics under `prefix` until they hold `target` messages, or nothing was added for
    `settle` s after something arrived, or `timeout`; returns (count, perf_counter time the last
    increase was seen)."""
    from kafka import KafkaConsumer, TopicPartition

    from logwarden.kafka_io import admin, client_options

    prefix = prefix if prefix is not None else cfg.topic_prefix
    with contextlib.closing(admin(cfg)) as client:
        topics = [t for t in client.list_topics() if t.startswith(prefix)]
    consumer = KafkaConsumer(**client_options(cfg))
    try:
        parts = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        count, seen = 0, time.perf_counter()
        deadline = seen + timeout
        while time.perf_counter() < deadline:
            now_count = sum(consumer.end_offsets(parts).values()) if parts else 0
            now = time.perf_counter()
            if now_count != count:
                count, seen = now_count, now
            if count >= target or (count and now - seen >= settle):
                break
            time.sleep(0.05)
        return count, seen
    finally:
        consumer.close()
