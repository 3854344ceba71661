"""End to end: files -> shipper -> Kafka -> indexer -> searchable documents in Elasticsearch,
against a raw `_bulk` load of the same documents into the same Elasticsearch.

    .venv/bin/python -m bench.bench_end_to_end [--n 100000]

Two inputs: our own synthetic event XML (n events, one day: the steady state of a live SOC,
one daily index) and, when ../shared is there, all the shared EVTX samples (their events span
~390 days, so ~390 daily indices are created: index creation dominates both sides).
The shipper runs in this process, the indexer (`logwarden index`) beside it as a subprocess,
as in production; the clock stops when Elasticsearch counts every document (refreshed).
The raw side is given the parsed documents for free and only pays for `_bulk` (5,000 per
request, op_type create, the same ids) and the final refresh. A third run times the indexer
stage alone (`index --once` over topics already filled), to separate its cost from the CPU
the shipper takes from Elasticsearch on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import _lab
from bench._lab import ROOT
from logwarden.config import Config
from logwarden.shippers.base import dumps


def count(es, cfg: Config) -> int:
    es.indices.refresh(index=f"{cfg.index_prefix}windows-*", allow_no_indices=True, ignore_unavailable=True)
    return int(es.count(index=f"{cfg.index_prefix}windows-*", allow_no_indices=True,
                        ignore_unavailable=True)["count"])


def raw_bulk(cfg: Config, paths: list[Path]) -> tuple[int, float]:
    import json

    from logwarden.es_io import client, install_templates

    es = client(cfg)
    install_templates(es)
    docs = []
    for e in _lab.events(paths):
        e.doc.setdefault("event", {})["id"] = e.id
        day = e.doc["@timestamp"][:10].replace("-", ".")
        docs.append((f"{cfg.index_prefix}windows-{day}", e.id, dumps(e.doc)))
    distinct = len({d[1] for d in docs})
    t = time.perf_counter()
    for i in range(0, len(docs), 5000):
        body = bytearray()
        for index, doc_id, value in docs[i:i + 5000]:
            body += json.dumps({"create": {"_index": index, "_id": doc_id}}).encode() + b"\n" + value + b"\n"
        # the client sends bytes as they are; its annotation names only the parsed form
        es.bulk(operations=bytes(body), filter_path="errors")  # type: ignore[arg-type]
    es.indices.refresh(index=f"{cfg.index_prefix}windows-*")
    dt = time.perf_counter() - t
    assert count(es, cfg) == distinct, "raw bulk lost documents"
    return distinct, dt


def ours(cfg: Config, paths: list[Path], expected: int) -> float:
    from logwarden.es_io import client, install_templates
    from logwarden.kafka_io import KafkaSink, ensure_topics
    from logwarden.shippers.ship import ship_files
    from logwarden.shippers.windows import iter_file

    es = client(cfg)
    install_templates(es)
    ensure_topics(cfg)
    env = {**os.environ, "LOGWARDEN_TOPIC_PREFIX": cfg.topic_prefix, "LOGWARDEN_INDEX_PREFIX": cfg.index_prefix,
           "LOGWARDEN_KAFKA": cfg.kafka, "LOGWARDEN_ES": cfg.elasticsearch}
    indexer = subprocess.Popen([sys.executable, "-m", "logwarden.cli", "index"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3)  # the indexer joins its consumer group before the clock starts
    t = time.perf_counter()
    sink = KafkaSink(cfg)
    ship_files(paths, lambda p, skip: iter_file(p, skip=skip), sink, None, progress=False)
    sink.close()
    while count(es, cfg) < expected:
        time.sleep(0.25)
    dt = time.perf_counter() - t
    indexer.send_signal(signal.SIGTERM)
    indexer.wait(timeout=60)
    return dt


def index_only(cfg: Config, paths: list[Path], expected: int) -> float:
    """The indexer stage alone: everything is in Kafka first (untimed), then `index --once`."""
    from logwarden.es_io import client, install_templates
    from logwarden.kafka_io import KafkaSink, ensure_topics
    from logwarden.shippers.ship import ship_files
    from logwarden.shippers.windows import iter_file

    es = client(cfg)
    install_templates(es)
    ensure_topics(cfg)
    sink = KafkaSink(cfg)
    ship_files(paths, lambda p, skip: iter_file(p, skip=skip), sink, None, progress=False)
    sink.close()
    env = {**os.environ, "LOGWARDEN_TOPIC_PREFIX": cfg.topic_prefix, "LOGWARDEN_INDEX_PREFIX": cfg.index_prefix,
           "LOGWARDEN_KAFKA": cfg.kafka, "LOGWARDEN_ES": cfg.elasticsearch}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "logwarden.cli", "index", "--once"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dt = time.perf_counter() - t
    assert count(es, cfg) == expected
    return dt


def run(name: str, cfg: Config, paths: list[Path]) -> None:
    a, b, c = _lab.namespace(cfg, "raw"), _lab.namespace(cfg, "e2e"), _lab.namespace(cfg, "idx")
    try:
        n, raw = raw_bulk(a, paths)
        ours_t = ours(b, paths, n)
        idx_t = index_only(c, paths, n)
        print(f"{name:34}{n:9d}{n / raw:14,.0f}{n / ours_t:14,.0f}{raw / ours_t:10.2f}"
              f"{n / idx_t:14,.0f}{raw / idx_t:10.2f}")
    finally:
        for ns in (a, b, c):
            _lab.drop(ns)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    cfg = _lab.lab_config()
    print(f"bench_end_to_end: Kafka {cfg.kafka}, Elasticsearch {cfg.elasticsearch}")
    print(f"{'input':34}{'docs':>9}{'raw _bulk/s':>14}{'ours/s':>14}{'ratio':>10}{'index only/s':>14}"
          f"{'ratio':>10}  (target ratio 0.8)")
    with tempfile.TemporaryDirectory() as tmp:
        run(f"synthetic, 1 day ({args.n} events)", cfg, [_lab.synth_xml(Path(tmp) / "s.xml", args.n)])
    samples = _lab.sample_paths()
    if samples:
        run("shared EVTX samples (~390 days)", cfg, samples)
    else:
        print("shared EVTX samples: ../shared/data/evtx not found, skipped")


if __name__ == "__main__":
    main()
