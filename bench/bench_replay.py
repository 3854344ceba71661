"""`lab replay phobos --scale K` through the whole path, timed: events/s and alert latency.

    .venv/bin/python -m bench.bench_replay [--scale 1 --scale 10 ...] [--seed 1]

Per scale, in a throw-away namespace on the running lab: generate + write the native files, ship
them (each through its source's reader, `ship_files`, Kafka acks), index them (the indexer until
the topics are drained), run `detect` once over the replay's two days and write the alerts
(refreshed). Events/s = events / (ship + index + detect) wall time. Alert latency = the time the
alert was in Elasticsearch (after the write and refresh) minus the time the last of its
contributing events was handed to the Kafka producer: the batch path (`detect` after the
indexer), so it is bounded below by index + detect time, not by a polling interval. Not a test:
figures go to docs/benchmarks.md. Needs `logwarden lab up`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._lab import drop, lab_config, namespace
from logwarden.kafka_io import KafkaSink
from logwarden.shippers.base import DeadLetter, Event


class TimingSink:
    """A sink that remembers when each event was handed to the real sink."""

    def __init__(self, sink: KafkaSink) -> None:
        self.sink = sink
        self.sent_at: dict[str, float] = {}

    def send(self, item: Event | DeadLetter) -> None:
        if isinstance(item, Event):
            self.sent_at[item.id] = time.perf_counter()
        self.sink.send(item)

    def flush(self) -> None:
        self.sink.flush()

    def close(self) -> None:
        self.sink.close()


def one(scale: int, seed: int) -> dict[str, Any]:
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.engine import Detector
    from logwarden.detection.es import EsDetector
    from logwarden.es_io import client, install_templates
    from logwarden.kafka_io import ensure_topics
    from logwarden.replay import path, run

    cfg = namespace(lab_config(), f"replay{scale}")
    es = client(cfg)
    install_templates(es)
    ensure_topics(cfg)
    detector = Detector(load_ruleset(None))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            files = run.generate(Path(tmp), seed=seed, scale=scale)
            t1 = time.perf_counter()
            sink = TimingSink(KafkaSink(cfg))
            try:
                shipped = path.ship(files, sink)
            finally:
                sink.close()
            t2 = time.perf_counter()
            indexed = path.index(cfg)
            t3 = time.perf_counter()
            runner = EsDetector(cfg, es, detector)
            alerts = runner.run_once(datetime(2020, 4, 13, tzinfo=UTC), datetime(2020, 4, 15, tzinfo=UTC))
            runner.write(alerts)
            es.indices.refresh(index=cfg.index_pattern("alerts"))
            t4 = time.perf_counter()
        latencies = sorted(t4 - max(sink.sent_at[e] for e in a["sigma"]["events"] if e in sink.sent_at)
                           for a in alerts if any(e in sink.sent_at for e in a["sigma"]["events"]))
        return {"scale": scale, "events": shipped.produced, "indexed": indexed.created, "alerts": len(alerts),
                "generate_s": t1 - t0, "ship_s": t2 - t1, "index_s": t3 - t2, "detect_s": t4 - t3,
                "events_per_s": shipped.produced / (t4 - t1),
                "latency_median_s": statistics.median(latencies), "latency_max_s": latencies[-1]}
    finally:
        drop(cfg)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=int, action="append", help="background multiplier (repeatable; default 1, 10)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"{'scale':>5} {'events':>7} {'alerts':>6} {'gen s':>6} {'ship s':>7} {'index s':>7} {'detect s':>8} "
          f"{'events/s':>9} {'latency median s':>16} {'max s':>6}")
    for scale in args.scale or [1, 10]:
        r = one(scale, args.seed)
        print(f"{r['scale']:>5} {r['events']:>7} {r['alerts']:>6} {r['generate_s']:>6.1f} {r['ship_s']:>7.1f} "
              f"{r['index_s']:>7.1f} {r['detect_s']:>8.1f} {r['events_per_s']:>9.0f} {r['latency_median_s']:>16.1f} "
              f"{r['latency_max_s']:>6.1f}", flush=True)


if __name__ == "__main__":
    main()
