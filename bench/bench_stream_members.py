"""Benchmark: `stream` as 1 vs 2 consumer-group members (issue 12), all SigmaHQ Windows rules + ours.

Real Kafka (the lab must be up), the real CLI: for each member count, a fresh topic prefix
(`--partitions` partitions per topic), the members started as `logwarden stream` processes and
waited for until the group is stable, then:

1. drain: a backlog of `--backlog` events (the shared EVTX-ATTACK-SAMPLES documents, cycled,
   each copy its own id, keyed by host) is produced at once; events/s = backlog / time from the
   first produced message to the group's offsets committed at the end of every input and
   repartition partition;
2. latency: `--rate` events/s paced for `--seconds`; an alert's latency is its Kafka timestamp
   (stamped when the member produced it) minus that of the event it names (`logwarden.source`);
   p50/p99 over the alerts of that phase (correlation alerts that name no event are left out).
   Correlation alerts wait in stream's reorder buffer for up to `stream_reorder_grace` (default
   5 s, docs/scaling.md) before they are raised, so their latency is printed apart: the single-
   event alerts' figure is the pipeline's, the correlations' includes that wait (and, for hits
   still held at the stop, the time until the stop counted them).

Prints one line per member count and the 2/1 ratio; beside the drain rate, the CPU seconds the
members used for it (events per member CPU-second: the figure that holds when other work keeps
the box busy). `--profile FILE` instead runs one member
under cProfile over the backlog (`stream --once`) and prints the top functions.
Run: .venv/bin/python -m bench.bench_stream_members [--backlog 20000] [--rate 1500] [--seconds 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from bench._lab import ROOT, SHARED_DATA, lab_config, namespace
from tests.services.helpers import read_topic
from tests.support.cli import command, env_for, popen

SIGMAHQ_WINDOWS = SHARED_DATA / "sigmahq" / "rules" / "windows"


def _stream_args() -> tuple[str, ...]:
    """`logwarden stream` with our rules and SigmaHQ's Windows rules, counters as JSON at the stop."""
    from logwarden.detection.compiler import DEFAULT_RULES

    return ("stream", "--rules", str(DEFAULT_RULES), "--rules", str(SIGMAHQ_WINDOWS), "--json")


def _payloads() -> list[tuple[bytes, bytes]]:
    """(key, value) of the shared EVTX documents."""
    from logwarden.detection.hunt import HuntStats, iter_docs

    docs = [d for _, d in iter_docs([SHARED_DATA / "evtx" / "EVTX-ATTACK-SAMPLES"], HuntStats())]
    return [(str((d.get("host") or {}).get("name") or "").encode(), json.dumps(d).encode()) for d in docs]


def _produce(cfg: Any, payloads: list[tuple[bytes, bytes]], first: int, n: int, rate: float | None) -> None:
    from kafka import KafkaProducer

    from logwarden.kafka_io import client_options

    producer = KafkaProducer(**client_options(cfg), linger_ms=5, acks=1, batch_size=256 * 1024)
    start = time.perf_counter()
    for i in range(first, first + n):
        if rate:
            delay = start + (i - first) / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        key, value = payloads[i % len(payloads)]
        producer.send(cfg.topic("windows"), key=key, value=value, headers=[("id", f"ev-{i}".encode())])
    producer.flush()
    producer.close()


def _group(cfg: Any) -> tuple[str, int]:
    from logwarden.kafka_io import admin

    client = admin(cfg)
    try:
        info = client.describe_groups([cfg.group("stream")])[cfg.group("stream")]
    finally:
        client.close()
    return info["group_state"], len(info["members"])


def _committed(cfg: Any) -> bool:
    from kafka import KafkaConsumer, TopicPartition

    from logwarden.kafka_io import STREAM_REPARTITION, admin, client_options

    client = admin(cfg)
    probe = KafkaConsumer(**client_options(cfg))
    try:
        done = client.list_group_offsets({cfg.group("stream"): None}).get(cfg.group("stream"), {})
        parts = [TopicPartition(t, p) for t in (cfg.topic("windows"), cfg.topic(STREAM_REPARTITION))
                 for p in probe.partitions_for_topic(t) or ()]
        ends = probe.end_offsets(parts)
    finally:
        probe.close()
        client.close()
    return all(ends[tp] == 0 or (tp in done and done[tp].offset >= ends[tp]) for tp in parts)


def _ends(cfg: Any) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition

    from logwarden.kafka_io import client_options

    probe = KafkaConsumer(**client_options(cfg))
    try:
        parts = [TopicPartition(cfg.topic("windows"), p) for p in probe.partitions_for_topic(cfg.topic("windows"))]
        return {tp.partition: off for tp, off in probe.end_offsets(parts).items()}
    finally:
        probe.close()


def _wait(check: Any, what: str, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.25)


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def run(cfg: Any, members: int, payloads: list[tuple[bytes, bytes]], args: argparse.Namespace) -> dict[str, Any]:
    from logwarden.kafka_io import delete_topics, ensure_topics

    ensure_topics(cfg, partitions=args.partitions)
    procs = [popen(cfg, *_stream_args(), stderr=subprocess.DEVNULL) for _ in range(members)]
    try:
        _wait(lambda: _group(cfg) == ("Stable", members), "the group")
        cpu0, t0 = _cpu_seconds([p.pid for p in procs]), time.perf_counter()
        _produce(cfg, payloads, 0, args.backlog, None)
        _wait(lambda: _committed(cfg), "the backlog")
        drain = args.backlog / (time.perf_counter() - t0)
        drain_cpu = _cpu_seconds([p.pid for p in procs]) - cpu0
        backlog_end = _ends(cfg)
        paced = int(args.rate * args.seconds)
        t1 = time.perf_counter()
        _produce(cfg, payloads, args.backlog, paced, args.rate)
        _wait(lambda: _committed(cfg), "the paced events")
        paced_rate = paced / (time.perf_counter() - t1)
        counters = []
        for p in procs:
            p.terminate()
            out, _ = p.communicate(timeout=120)
            counters.append(json.loads(out) if out.strip() else {})
        produced = read_topic(cfg, cfg.topic("windows"), max_poll_records=10_000)
        sent = {(m.partition, m.offset): m.timestamp for m in produced}
        latencies: list[float] = []
        correlated: list[float] = []
        for m in read_topic(cfg, cfg.topic("alerts"), max_poll_records=10_000):
            alert = json.loads(m.value)
            src = (alert.get("logwarden") or {}).get("source") or {}
            key = (src.get("partition"), src.get("offset"))
            if src.get("topic") == cfg.topic("windows") and key in sent and key[1] >= backlog_end.get(key[0], 0):
                is_rule = (alert.get("sigma") or {}).get("type") == "rule"
                (latencies if is_rule else correlated).append(m.timestamp - sent[key])
        return {"members": members, "drain_eps": drain, "drain_cpu": drain_cpu, "paced_eps": paced_rate,
                "counters": counters,
                "latencies": sorted(latencies), "correlated": sorted(correlated)}
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        delete_topics(cfg, cfg.topic_prefix)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backlog", type=int, default=20_000)
    ap.add_argument("--rate", type=float, default=1500.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--members", default="1,2")
    ap.add_argument("--profile", help="cProfile one member draining the backlog into this file")
    args = ap.parse_args()
    import logwarden

    print(f"logwarden from {logwarden.__file__}; load average {os.getloadavg()[0]:.1f}", flush=True)
    base = lab_config()
    payloads = _payloads()
    if args.profile:
        return profile(namespace(base, "prof"), payloads, args)
    results = []
    for n in (int(x) for x in args.members.split(",")):
        r = run(namespace(base, f"m{n}"), n, payloads, args)
        results.append(r)
        lat, corr = r["latencies"], r["correlated"]
        qs = statistics.quantiles(lat, n=100) if len(lat) > 1 else [float("nan")] * 99
        qc = statistics.quantiles(corr, n=100) if len(corr) > 1 else [float("nan")] * 99
        print(f"stream x{n}: drain {r['drain_eps']:.0f} events/s, members' CPU {r['drain_cpu']:.1f} s "
              f"({args.backlog / r['drain_cpu']:.0f} events per member CPU-second); paced {args.rate:.0f}/s achieved "
              f"{r['paced_eps']:.0f}/s, alert latency p50 {qs[49]:.0f} ms p99 {qs[98]:.0f} ms "
              f"({len(lat)} single-event alerts); correlation alerts p50 {qc[49]:.0f} ms p99 {qc[98]:.0f} ms "
              f"({len(corr)}, reorder grace included)", flush=True)
    if len(results) > 1:
        print(f"ratio drain x{results[-1]['members']}/x{results[0]['members']}: "
              f"{results[-1]['drain_eps'] / results[0]['drain_eps']:.2f}")
    return 0


def profile(cfg: Any, payloads: list[tuple[bytes, bytes]], args: argparse.Namespace) -> int:
    import pstats

    from logwarden.kafka_io import delete_topics, ensure_topics

    ensure_topics(cfg, partitions=args.partitions)
    try:
        _produce(cfg, payloads, 0, args.backlog, None)
        t0 = time.perf_counter()
        subprocess.run(command(*_stream_args(), "--once", python=("-m", "cProfile", "-o", args.profile)),
                       env=env_for(cfg), cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        print(f"one member, --once over {args.backlog} events: {time.perf_counter() - t0:.1f}s (rule loading "
              "included)")
    finally:
        delete_topics(cfg, cfg.topic_prefix)
    pstats.Stats(args.profile).sort_stats("cumulative").print_stats(25)
    pstats.Stats(args.profile).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
