"""Benchmark: stream engine event-to-alert latency (p50/p99) at a paced 5,000 events/s.

Real Kafka (the lab must be up): a producer paces the shared EVTX-ATTACK-SAMPLES documents into
a fresh topic prefix at --rate events/s, stamping each message with its send time; the stream
engine (all SigmaHQ Windows rules + ours) consumes them in the same process and, for every alert,
records now - send time of the event that caused it. Prints p50/p99 and the achieved rate.
Run: .venv/bin/python -m bench.bench_stream [--rate 5000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import threading
import time
import uuid

from bench._lab import SHARED_DATA


def main() -> int:
    from kafka import KafkaProducer

    from logwarden.config import load
    from logwarden.detection.compiler import DEFAULT_RULES, load_ruleset
    from logwarden.detection.engine import Detector
    from logwarden.detection.hunt import HuntStats, iter_docs
    from logwarden.kafka_io import client_options, ensure_topics, make_consumer

    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=5000.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    tag = f"lwbench{uuid.uuid4().hex[:6]}"
    cfg = dataclasses.replace(load(), topic_prefix=f"{tag}.")
    ensure_topics(cfg, datasets=("windows",), partitions=1)
    detector = Detector(load_ruleset([DEFAULT_RULES, SHARED_DATA / "sigmahq" / "rules" / "windows"]))
    docs = [d for _, d in iter_docs([SHARED_DATA / "evtx" / "EVTX-ATTACK-SAMPLES"], HuntStats())]
    payloads = [json.dumps(d).encode() for d in docs]
    total = int(args.rate * args.seconds)
    producer = KafkaProducer(**client_options(cfg), linger_ms=5, acks=1)
    consumer = make_consumer(cfg, [cfg.topic("windows")], f"{tag}-stream", auto_offset_reset="latest")
    while not consumer.assignment():
        consumer.poll(timeout_ms=200)
    latencies: list[float] = []
    done = threading.Event()

    def produce() -> None:
        start = time.perf_counter()
        for i in range(total):
            target = start + i / args.rate
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            producer.send(cfg.topic("windows"), value=payloads[i % len(payloads)],
                          headers=[("sent", repr(time.time()).encode()), ("id", f"{tag}-{i}".encode())])
        producer.flush()
        done.set()

    t = threading.Thread(target=produce, daemon=True)
    t0 = time.perf_counter()
    t.start()
    consumed = alerts = 0
    idle = 0.0
    while True:
        recs = consumer.poll(timeout_ms=100, max_records=2000)
        if not recs:
            if done.is_set():
                idle += 0.1
                if idle > 3 or consumed >= total:
                    break
            continue
        idle = 0.0
        for msgs in recs.values():
            for m in msgs:
                consumed += 1
                sent = float(dict(m.headers)["sent"])
                doc = json.loads(m.value)
                out = detector.process(doc, dict(m.headers)["id"].decode())
                if out:
                    now = time.time()
                    alerts += len(out)
                    latencies.extend([now - sent] * len(out))
    elapsed = time.perf_counter() - t0
    consumer.close()
    producer.close()
    from logwarden.kafka_io import admin as kafka_admin

    admin = kafka_admin(cfg)  # the lab is shared: drop our topics
    try:
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(cfg.topic_prefix)])
    finally:
        admin.close()
    if not latencies:
        print("no alerts", file=sys.stderr)
        return 1
    qs = statistics.quantiles(latencies, n=100)
    print(f"stream: {consumed} events in {elapsed:.1f}s ({consumed / elapsed:.0f}/s, target {args.rate:.0f}/s), "
          f"{alerts} alerts, {len(detector.ruleset.rules)} rules; "
          f"latency p50 {qs[49] * 1000:.0f} ms, p99 {qs[98] * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
