"""Benchmark: Sigma keyword rules on Elasticsearch without and with the keyword catch-all field
(schema_template.ALL_VALUES_FIELD), on the shared EVTX samples.

The same documents (every record of ../shared/data/evtx as the Windows shipper makes it, encoded
as Kafka carries it) go into one index per variant: "before" under the template with no copy_to
and no catch-all (keyword leaves widened to match-all, every document fetched and decided in
process), "after" under the template as generated. Printed per variant: documents, store size
after a force-merge to one segment, and the time `detect` (EsDetector.run_once) takes for
SigmaHQ's Windows rules that hold keywords, with the documents it fetched and the alerts.
Run: .venv/bin/python -m bench.bench_es_keywords [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path
from typing import Any

from bench._lab import SAMPLES, SHARED_DATA, drop, lab_config, namespace

BULK = 2000  # documents per bulk request


def without_catch_all(template: dict[str, Any]) -> dict[str, Any]:
    """The template as it was before the keyword catch-all: no copy_to, no ALL_VALUES_FIELD."""
    from logwarden.schema_template import ALL_VALUES_FIELD

    out = copy.deepcopy(template)

    def strip(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("copy_to", None)
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    strip(out)
    parent, leaf = ALL_VALUES_FIELD.split(".")
    del out["template"]["mappings"]["properties"][parent]["properties"][leaf]
    return out


def sample_docs() -> list[tuple[str, dict[str, Any]]]:
    """(event id, document as Kafka carries it) for every record of the shared samples."""
    from logwarden.detection.hunt import HuntStats, iter_docs
    from logwarden.kafka_io import encode

    return [(eid, json.loads(encode(doc))) for eid, doc in iter_docs([SAMPLES], HuntStats())]


def keyword_rule_files(rules_root: Path) -> list[Path]:
    """The rule files under `rules_root` whose detection holds a Sigma keyword."""
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.es import _walk

    ruleset = load_ruleset([rules_root])
    return sorted({Path(r.path) for r in ruleset.rules if any(n[0] == "kw" for n in _walk(r.ir))})


def load_variant(es: Any, index_prefix: str, template: dict[str, Any], docs: list[tuple[str, dict[str, Any]]],
                 name: str) -> dict[str, Any]:
    """Index `docs` into `<index_prefix>windows-all` under `template`; returns docs and store bytes."""
    es.indices.put_index_template(name=name, index_patterns=[f"{index_prefix}*"], priority=500,
                                  template=template["template"])
    index = f"{index_prefix}windows-all"
    t0 = time.perf_counter()
    for at in range(0, len(docs), BULK):
        batch = docs[at:at + BULK]
        for attempt in range(10):  # a busy shared lab times out dynamic mapping updates: retry those
            operations: list[dict[str, Any]] = []
            for eid, doc in batch:
                operations += [{"create": {"_index": index, "_id": eid}}, doc]
            items = es.bulk(operations=operations)["items"]
            retry = [d for d, i in zip(batch, items, strict=True) if i["create"].get("status") in (429, 500, 503)]
            refused = [i for i in items if "error" in i["create"] and i["create"]["status"] not in (409, 429, 500, 503)]
            if refused:
                raise RuntimeError(f"bulk refused a document: {refused[0]}")
            if not retry:
                break
            batch = retry
            time.sleep(2 * (attempt + 1))
        else:
            raise RuntimeError(f"{len(batch)} documents still not indexed after 10 attempts")
    es.indices.refresh(index=index)
    seconds = time.perf_counter() - t0
    es.indices.forcemerge(index=index, max_num_segments=1)
    stats = es.indices.stats(index=index, metric="store,docs")["indices"][index]["primaries"]
    return {"documents": stats["docs"]["count"], "store_bytes": stats["store"]["size_in_bytes"],
            "index_seconds": round(seconds, 1)}


def time_detect(cfg: Any, es: Any, rule_files: list[Path], repeat: int) -> dict[str, Any]:
    """Median seconds of one detect pass with the keyword rules, documents fetched, alerts."""
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.engine import Detector
    from logwarden.detection.es import EsDetector

    detector = Detector(load_ruleset(rule_files))
    times, hits, alerts = [], 0, 0
    for _ in range(repeat):
        runner = EsDetector(cfg, es, detector)
        t0 = time.perf_counter()
        found = runner.run_once(None, None)
        times.append(time.perf_counter() - t0)
        hits, alerts = runner.stats.hits, len(found)
    return {"seconds_median": round(statistics.median(times), 3), "seconds": [round(t, 3) for t in times],
            "documents_fetched": hits, "alerts": alerts}


def main() -> None:
    from logwarden.es_io import client
    from logwarden.schema_template import index_template

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rules", type=Path, default=SHARED_DATA / "sigmahq" / "rules" / "windows")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    lab = lab_config()
    rule_files = keyword_rule_files(args.rules)
    docs = sample_docs()
    report: dict[str, Any] = {"keyword_rules": len(rule_files), "documents": len(docs)}
    for variant in ("before", "after"):
        cfg = namespace(lab, f"kw{variant}")
        es = client(cfg, request_timeout=600)
        template = index_template(cfg.index_prefix)
        if variant == "before":
            template = without_catch_all(template)
        name = cfg.index_prefix.rstrip("-")
        try:
            report[variant] = {**load_variant(es, cfg.index_prefix, template, docs, name),
                               **time_detect(cfg, es, rule_files, args.repeat)}
        finally:
            drop(cfg)
            es.options(ignore_status=404).indices.delete_index_template(name=name)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{report['documents']} documents, {report['keyword_rules']} keyword rules")
    for variant in ("before", "after"):
        r = report[variant]
        print(f"{variant:6}  store {r['store_bytes'] / 1e6:.1f} MB  detect {r['seconds_median']:.2f} s (median of"
              f" {args.repeat})  fetched {r['documents_fetched']}  alerts {r['alerts']}")


if __name__ == "__main__":
    main()
