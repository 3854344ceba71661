"""One silence pass (logwarden/detection/silence.py) over many sources: the composite
aggregations, the read-back of open episodes and the decisions, no writes.

    .venv/bin/python -m bench.bench_silence [--hosts 2000] [--channels 5] [--per-source 3]

Bulk-loads hosts x channels Windows sources, one AV source per other host and hosts/10 firewalls
(each `--per-source` documents with event.ingested spread over the last hour, a third of them
older than the gap; every firewall document from its syslog sender, a new port each: TCP
reconnects) into a throw-away namespace, then times `SilenceWatch.run_once(write=False)`
three times and prints sources, buckets, silences, composite pages and seconds per pass.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench import _lab
from logwarden.es_io import client, install_templates
from logwarden.shippers.base import dumps


def load(es: Any, prefix: str, hosts: int, channels: int, per_source: int, now: float) -> int:
    from logwarden.detection.alerts import iso

    body = bytearray()
    n = 0

    def add(family: str, doc: dict[str, Any]) -> None:
        nonlocal body, n
        n += 1
        action = {"create": {"_index": f"{prefix}{family}-2020.04.14", "_id": str(n)}}
        body += dumps(action) + b"\n" + dumps(doc) + b"\n"
        if len(body) > 8_000_000:
            assert not es.bulk(body=bytes(body))["errors"]
            body = bytearray()

    for h in range(hosts):
        quiet = h % 3 == 0  # a third of the hosts stopped 40 minutes ago
        for k in range(per_source):
            ingested = iso(now - (2400 if quiet else 0) - 60 * k)
            for c in range(channels):
                add("windows", {"@timestamp": "2020-04-14T00:00:00.000Z", "host": {"name": f"host-{h:05d}"},
                                "winlog": {"channel": f"Channel-{c}"}, "event": {"dataset": f"windows.c{c}",
                                                                                 "ingested": ingested}})
            if h % 2:
                add("av", {"@timestamp": "2020-04-14T00:00:00.000Z", "host": {"name": f"host-{h:05d}"},
                           "event": {"dataset": "av", "ingested": ingested}})
            if h % 10 == 0:
                sender = f"10.{h // 256 % 256}.{h % 256}.1:{514 + k}"  # a syslog sender, a new port per document
                add("firewall", {"@timestamp": "2020-04-14T00:00:00.000Z", "observer": {"name": f"fw-{h:05d}"},
                                 "event": {"dataset": "firewall", "ingested": ingested},
                                 "log": {"source": {"address": sender}}})
    if body:
        assert not es.bulk(body=bytes(body))["errors"]
    es.indices.refresh(index=f"{prefix}*")
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=2000)
    ap.add_argument("--channels", type=int, default=5)
    ap.add_argument("--per-source", type=int, default=3)
    args = ap.parse_args()
    from logwarden.detection import silence

    cfg = _lab.namespace(_lab.lab_config(), "silence")
    es = client(cfg)
    install_templates(es, cfg.index_prefix)
    try:
        now = time.time()
        docs = load(es, cfg.index_prefix, args.hosts, args.channels, args.per_source, now)
        settings = silence.Settings(True, 1800.0, {"av": 86400.0}, 86400.0)
        watch = silence.SilenceWatch(cfg, es, settings)
        pages = 0
        real_search = es.search

        def counting(**kw: Any) -> Any:
            nonlocal pages
            pages += 1
            return real_search(**kw)

        es.search = counting  # type: ignore[method-assign]
        for _ in range(3):
            pages = 0
            t0 = time.perf_counter()
            out = watch.run_once(time.time(), write=False)
            took = time.perf_counter() - t0
            print(f"silence pass: {docs} documents, {watch.stats.sources} sources, {watch.stats.silent} silent, "
                  f"{len(out)} documents to write, {pages} searches, {took:.2f} s")
    finally:
        _lab.drop(cfg)


if __name__ == "__main__":
    main()
