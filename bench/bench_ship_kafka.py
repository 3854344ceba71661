"""`ship kafka` rates: agent documents converted per second (no servers), and an agents' topic
relayed to logwarden's topics on the real lab (not a timed test).

    .venv/bin/python -m bench.bench_ship_kafka [--messages 20000]

Conversion: the six sample events of tests/ship_kafka as Winlogbeat writes them, with and without
event.original XML, through `windows_document` in process. Relay: `--messages` such documents
(half of each shape, record ids varied) produced to a topic of a throw-away namespace, then
`logwarden ship kafka --once --json` (the real CLI, a subprocess) timed from start to exit, which
includes its start-up and the group join. Topics are deleted afterwards. Needs `logwarden lab up`.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import subprocess
import sys
import time

from bench._lab import ROOT, lab_config, namespace
from logwarden.kafka_io import KafkaSink, delete_topics, ensure_topics
from logwarden.shippers.agent_documents import windows_document
from tests.ship_kafka.samples import NAMES, encoded, winlogbeat

RECORD_ID = re.compile(r"<EventRecordID>\d+</EventRecordID>")


def documents(n: int) -> list[bytes]:
    """`n` distinct agent documents: the samples, alternately with and without event.original."""
    out = []
    for i in range(n):
        doc = copy.deepcopy(winlogbeat(NAMES[i % len(NAMES)], include_xml=bool(i % 2)))
        doc["winlog"]["record_id"] = 1_000_000 + i
        if "original" in doc["event"]:
            doc["event"]["original"] = RECORD_ID.sub(f"<EventRecordID>{1_000_000 + i}</EventRecordID>",
                                                     doc["event"]["original"])
        out.append(encoded(doc))
    return out


def conversion_rate(values: list[bytes]) -> float:
    start = time.perf_counter()
    for i, value in enumerate(values):
        windows_document(value, f"kafka:bench/0@{i}")
    return len(values) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()

    xml_only = [encoded(winlogbeat(n, include_xml=True)) for n in NAMES] * 500
    winlog_only = [encoded(winlogbeat(n)) for n in NAMES] * 500
    with_xml, without = conversion_rate(xml_only), conversion_rate(winlog_only)
    print(f"convert, event.original XML: {with_xml:9.0f} docs/s")
    print(f"convert, winlog.* only:      {without:9.0f} docs/s   (XML route costs {without / with_xml:.1f}x)")

    cfg = namespace(lab_config(), "shipkafka")
    ensure_topics(cfg, ("agents",))
    ensure_topics(cfg)
    try:
        values = documents(args.messages)
        sink = KafkaSink(cfg)
        for value in values:
            sink.producer.send(cfg.topic("agents"), key=b"tax-prod", value=value)
        sink.producer.flush()
        sink.producer.close()
        env = {"LOGWARDEN_KAFKA": cfg.kafka, "LOGWARDEN_TOPIC_PREFIX": cfg.topic_prefix,
               "LOGWARDEN_INDEX_PREFIX": cfg.index_prefix, "PATH": "/usr/bin:/bin"}
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "logwarden.cli", "ship", "kafka", "--topic", cfg.topic("agents"),
                               "--source", "windows", "--once", "--json"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=1800)
        elapsed = time.perf_counter() - start
        stats = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"relay {stats['consumed']} messages -> {stats['produced']} events "
              f"({stats['from_original_xml']} via XML, {stats['dead_letters']} dead letters): "
              f"{elapsed:.1f} s, {stats['consumed'] / elapsed:.0f} msg/s including start-up (exit {proc.returncode})")
    finally:
        delete_topics(cfg, cfg.topic_prefix)


if __name__ == "__main__":
    main()
