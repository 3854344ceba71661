"""JSON encoding of the shippers' documents: the standard library (the reference, as before)
against orjson (logwarden/shippers/base.py `dumps`), in one run, on the same documents.

    .venv/bin/python -m bench.bench_encode [--repeat 3]

Documents: every event of the shared EVTX samples (../shared/data/evtx, when present) and
20,000 lines of the mixed firewall/AV corpus (tests/textlogs/corpus.py). Also checks the two give
the same bytes for every document (the reason orjson could replace it without a format change).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from bench._lab import SHARED_DATA
from logwarden.shippers import autodetect
from logwarden.shippers.base import Event, dumps
from logwarden.shippers.windows import iter_file, iter_paths
from tests.textlogs.corpus import mixed


def stdlib(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    if (SHARED_DATA / "evtx").is_dir():
        for path in iter_paths([str(SHARED_DATA / "evtx")]):
            docs += [item.doc for item in iter_file(path, skip=0) if isinstance(item, Event)]
    autodetect.load()
    for k, line in enumerate(mixed(20_000)):
        item = autodetect.parse_line(line, "bench", k)
        if isinstance(item, Event):
            docs.append(item.doc)
    return docs


def best(fn: Any, docs: list[dict[str, Any]], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for doc in docs:
            fn(doc)
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    docs = documents()
    differ = sum(1 for doc in docs if stdlib(doc) != dumps(doc))
    ref, new = best(stdlib, docs, args.repeat), best(dumps, docs, args.repeat)
    print(f"{len(docs)} documents, {differ} encode differently")
    print(f"json (stdlib, reference)  {len(docs) / ref:>10,.0f} docs/s  {ref * 1e6 / len(docs):6.1f} us/doc")
    print(f"dumps (orjson)            {len(docs) / new:>10,.0f} docs/s  {new * 1e6 / len(docs):6.1f} us/doc  "
          f"ratio {ref / new:.2f}x")
    print(f"python {sys.version.split()[0]}, best of {args.repeat}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
