"""`logwarden index [--once]`: Kafka topics -> Elasticsearch."""

from __future__ import annotations

import argparse
import json

from logwarden.config import load


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="consume the logwarden topics and bulk-index them into Elasticsearch")
    p.add_argument("--once", action="store_true", help="drain what is in Kafka now, then exit")
    p.add_argument("--group", default="logwarden-indexer", help="consumer group id")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from logwarden.pipelines.indexer import run_indexer

    cfg = load(args.config)
    try:
        stats = run_indexer(cfg, once=args.once, group_id=args.group)
    except InterruptedError as exc:
        print(f"index: {exc}")
        return 130
    if args.json:
        print(json.dumps(stats.as_dict()))
    else:
        print(f"consumed: {stats.consumed}  created: {stats.created}  already indexed: {stats.existing}  "
              f"dead letters: {stats.dead_lettered}  retries: {stats.retries}")
    return 0
