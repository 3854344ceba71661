"""kafka-python (the design card's client) vs confluent-kafka, produce and consume, on the real
broker started by `logwarden lab up`; and the shipper's rate (parse + normalise + produce).

    .venv/bin/python -m bench.bench_kafka [--n 100000]

Documents: the normalised shared EVTX samples when ../shared is there (cycled up to --n), else
our own synthetic 4625 events. Prints events/s and the ratios measured in this one run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench import _lab
from logwarden.shippers.base import dumps


def messages(n: int) -> list[tuple[bytes, bytes, bytes]]:
    paths = _lab.sample_paths()
    if not paths:
        tmp = Path(tempfile.mkdtemp()) / "synth.xml"
        paths = [_lab.synth_xml(tmp, min(n, 50_000))]
    base = [(e.key.encode(), dumps({**e.doc, "event": {**e.doc["event"], "id": e.id}}), e.id.encode())
            for e in _lab.events(paths)]
    return [base[i % len(base)] for i in range(n)]


def produce_kafka_python(cfg, topic: str, msgs) -> float:
    from kafka import KafkaProducer

    from logwarden.kafka_io import client_options

    p = KafkaProducer(**client_options(cfg), acks="all", linger_ms=20, batch_size=512 * 1024,
                      max_request_size=10 * 1024 * 1024)
    t = time.perf_counter()
    for key, value, mid in msgs:
        p.send(topic, key=key, value=value, headers=[("id", mid)])
    p.flush()
    dt = time.perf_counter() - t
    p.close()
    return dt


def produce_confluent(cfg, topic: str, msgs) -> float:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": cfg.kafka, "acks": "all", "linger.ms": 20, "batch.size": 512 * 1024,
                  "queue.buffering.max.messages": 1_000_000})
    t = time.perf_counter()
    for key, value, mid in msgs:
        while True:
            try:
                p.produce(topic, key=key, value=value, headers=[("id", mid)])
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    p.flush()
    return time.perf_counter() - t


def consume_kafka_python(cfg, topic: str, n: int) -> float:
    from kafka import KafkaConsumer

    from logwarden.kafka_io import client_options

    c = KafkaConsumer(topic, **client_options(cfg), group_id=f"b-{time.time()}", auto_offset_reset="earliest",
                      enable_auto_commit=False, max_poll_records=5000, fetch_max_bytes=64 * 1024 * 1024,
                      max_partition_fetch_bytes=16 * 1024 * 1024)
    got = 0
    t = None
    while got < n:
        batch = c.poll(timeout_ms=1000)
        if batch and t is None:
            t = time.perf_counter()
        got += sum(len(v) for v in batch.values())
    dt = time.perf_counter() - (t or time.perf_counter())
    c.close()
    return dt


def consume_confluent(cfg, topic: str, n: int) -> float:
    from confluent_kafka import Consumer

    c = Consumer({"bootstrap.servers": cfg.kafka, "group.id": f"b-{time.time()}", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    got = 0
    t = None
    while got < n:
        batch = c.consume(num_messages=5000, timeout=1.0)
        if batch and t is None:
            t = time.perf_counter()
        got += sum(1 for m in batch if m.error() is None)
    dt = time.perf_counter() - (t or time.perf_counter())
    c.close()
    return dt


def ship_rate(cfg, n_files_limit: int | None = None) -> tuple[int, float]:
    """The real shipper loop (parse + normalise + KafkaSink), no checkpoint file."""
    from logwarden.kafka_io import KafkaSink
    from logwarden.shippers.ship import ship_files
    from logwarden.shippers.windows import iter_file

    paths = _lab.sample_paths()
    if not paths:
        paths = [_lab.synth_xml(Path(tempfile.mkdtemp()) / "synth.xml", 50_000)]
    sink = KafkaSink(cfg)
    t = time.perf_counter()
    summary = ship_files(paths, lambda p, skip: iter_file(p, skip=skip), sink, None, progress=False)
    sink.flush()
    dt = time.perf_counter() - t
    sink.producer.close()
    return summary.records, dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    cfg = _lab.namespace(_lab.lab_config(), "kafka")
    try:
        from logwarden.kafka_io import ensure_topics

        ensure_topics(cfg, ("kp", "ck", "windows"), partitions=2)
        msgs = messages(args.n)
        size = sum(len(v) for _, v, _ in msgs) / len(msgs)
        print(f"bench_kafka: {len(msgs)} messages, mean value {size:.0f} bytes, broker {cfg.kafka}")
        kp = produce_kafka_python(cfg, cfg.topic("kp"), msgs)
        ck = produce_confluent(cfg, cfg.topic("ck"), msgs)
        kc = consume_kafka_python(cfg, cfg.topic("kp"), len(msgs))
        cc = consume_confluent(cfg, cfg.topic("ck"), len(msgs))
        n = len(msgs)
        print(f"{'':22}{'kafka-python':>16}{'confluent-kafka':>18}{'ratio kp/ck':>14}")
        print(f"{'produce, events/s':22}{n / kp:16,.0f}{n / ck:18,.0f}{ck / kp:14.2f}")
        print(f"{'consume, events/s':22}{n / kc:16,.0f}{n / cc:18,.0f}{cc / kc:14.2f}")
        records, dt = ship_rate(cfg)
        print(f"ship (parse + normalise + produce with kafka-python): {records} events in {dt:.2f} s = "
              f"{records / dt:,.0f} events/s (target 25,000)")
    finally:
        _lab.drop(cfg)


if __name__ == "__main__":
    main()
