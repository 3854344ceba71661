"""The consume side with both Kafka clients (logwarden/kafka_clients/): the consumer alone and the
indexer, on the real broker and Elasticsearch started by `logwarden lab up` (the secured lab:
SASL_SSL + SCRAM, HTTPS).

    .venv/bin/python -m bench.bench_consume [--n 50000] [--rounds 2] [--no-index]

1. consumer alone: `make_consumer` of each client reads the N messages (2 partitions) in polls of
   up to 5,000, as the services' loop does; events/s and CPU µs per message (process CPU time from
   the consumer's construction, so librdkafka's threads, TLS and prefetch included, count; the
   group join's CPU too, a few ms).
2. the indexer: `run_indexer(once=True)` of each client drains the same topic into its own
   indices (template installed, every document created); events/s and CPU µs per message of the
   indexer process (Elasticsearch's CPU not counted: it is another process on the same cores).
The two clients alternate within one run (`--rounds`), so the load of the box applies to both;
the load average is printed. Documents: the normalised shared EVTX samples when ../shared is
there (cycled up to N), else our own synthetic 4625 events.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from typing import Any

from bench import _lab
from bench.bench_kafka import SINK_SETTINGS, messages
from logwarden.config import Config

CLIENTS = ("kafka-python", "confluent")


def _client(cfg: Config, client: str) -> Config:
    chosen = copy.copy(cfg)
    chosen.kafka_client = client
    return chosen


def fill(cfg: Config, n: int) -> int:
    """Produce n documents to the namespace's windows topic (confluent: the fastest way to load)."""
    from logwarden.kafka_clients import make_producer
    from logwarden.kafka_io import client_options

    msgs = messages(n)
    producer = make_producer(_client(cfg, "confluent"), {**client_options(cfg), **SINK_SETTINGS})
    for key, value, mid in msgs:
        producer.send(cfg.topic("windows"), key, value, [("id", mid)])
    producer.close()
    return sum(len(v) for _, v, _ in msgs) // n


def consume(cfg: Config, client: str, n: int, group: str) -> tuple[float, float]:
    """Wall seconds for one consumer of `client` to poll n messages (from the first record to the
    last: the group join is not counted) and CPU seconds from its construction on (librdkafka
    fetches in its own threads before the first record is handed over: that counts)."""
    from logwarden.kafka_io import make_consumer

    cpu = time.process_time()
    consumer = make_consumer(_client(cfg, client), [cfg.topic("windows")], group)
    got = 0
    start = 0.0
    try:
        while got < n:
            batch = consumer.poll(timeout_ms=1000, max_records=5000)
            if batch and not start:
                start = time.perf_counter()
            got += sum(len(records) for records in batch.values())
        return time.perf_counter() - start, time.process_time() - cpu
    finally:
        consumer.close(autocommit=False)


def index(cfg: Config, client: str, n: int, tag: str) -> tuple[float, float, Any]:
    """Wall and CPU seconds of `run_indexer(once=True)` with `client` into indices of its own
    (connection, group join and the final refresh included), and its counters."""
    from logwarden.es_io import client as es_client
    from logwarden.es_io import install_templates
    from logwarden.pipelines.indexer import run_indexer

    chosen = _client(cfg, client)
    chosen.index_prefix = f"{cfg.index_prefix}{tag}-"
    install_templates(es_client(chosen), chosen.index_prefix)
    t, cpu = time.perf_counter(), time.process_time()
    stats = run_indexer(chosen, once=True, group_id=chosen.group(f"index-{tag}"))
    return time.perf_counter() - t, time.process_time() - cpu, stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-index", action="store_true", help="the consumer alone (no Elasticsearch work)")
    args = ap.parse_args()
    cfg = _lab.namespace(_lab.lab_config(), "consume")
    templates: list[str] = []
    try:
        from logwarden.kafka_io import ensure_topics

        ensure_topics(cfg, partitions=2)
        size = fill(cfg, args.n)
        n = args.n
        print(f"bench_consume: {n} messages (mean value {size} bytes) on 2 partitions, broker {cfg.kafka} "
              f"({cfg.kafka_security_protocol}), Elasticsearch {cfg.elasticsearch}; load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"{'':34}{'events/s':>10}{'CPU us/msg':>12}")
        for r in range(args.rounds):
            for client in CLIENTS:
                dt, cpu = consume(cfg, client, n, cfg.group(f"c{r}-{client}"))
                print(f"{f'consume, {client}':34}{n / dt:10,.0f}{cpu * 1e6 / n:12.1f}", flush=True)
        for r in range(0 if args.no_index else args.rounds):
            for client in CLIENTS:
                tag = f"i{r}{client.replace('-', '')}"
                templates.append(f"{cfg.index_prefix}{tag}-")
                dt, cpu, stats = index(cfg, client, n, tag)
                ok = stats.created + stats.existing == n and not stats.dead_lettered
                print(f"{f'index --once, {client}':34}{n / dt:10,.0f}{cpu * 1e6 / n:12.1f}"
                      f"  created {stats.created}, already indexed (409) {stats.existing}"
                      f"{'' if ok else '  (NOT all indexed)'}", flush=True)
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        from logwarden.es_io import client as es_client
        from logwarden.schema_template import template_name

        es = es_client(cfg)
        for prefix in templates:
            es.options(ignore_status=404).indices.delete_index_template(name=template_name(prefix))
        _lab.drop(cfg)


if __name__ == "__main__":
    main()
