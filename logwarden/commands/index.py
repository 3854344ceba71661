"""`logwarden index [--once]`: Kafka topics -> Elasticsearch.

Runs until SIGTERM/SIGINT (the batch in hand is finished and committed, the consumer leaves its
group) or, with `--once`, until the topics are drained; then prints the counters and exits 0.
Errors are raised to the CLI (logwarden/errors.py): Kafka or Elasticsearch unreachable for
`--once`'s patience, or refusing the requests, is exit 3. Elasticsearch is asked once before
anything is consumed (logwarden/es_preflight.py): a refusal (credentials, permission, TLS) is
exit 3 at once in both modes, and so is, with `--once`, a port that does not take the connection.
A refusal that starts later, in the middle of a run (a certificate replaced, a password changed, a
role edited on the server), is exit 3 at once with `--once`; a service logs it as an ERROR with
its reason (once per change), keeps the batch uncommitted and retries it with backoff until the
cause is removed on the server (logwarden/refusals.py).
"""

from __future__ import annotations

import argparse
import json

from logwarden.config import load


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="consume the logwarden topics and bulk-index them into Elasticsearch")
    p.add_argument("--once", action="store_true", help="drain what is in Kafka now, then exit")
    p.add_argument("--group", help="consumer group id (default: <topic prefix>indexer, e.g. logwarden.indexer)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Returns 0 once stopped or drained; raises the errors of `run_indexer`."""
    from logwarden import es_io, es_preflight
    from logwarden.pipelines.indexer import run_indexer

    cfg = load(args.config)
    es_preflight.check(cfg, es_io.client(cfg), drain=args.once)
    stats = run_indexer(cfg, once=args.once, group_id=args.group)
    if args.json:
        print(json.dumps(stats.as_dict()), flush=True)
    else:
        print(f"consumed: {stats.consumed}  created: {stats.created}  already indexed: {stats.existing}  "
              f"dead letters: {stats.dead_lettered}  retries: {stats.retries}  refused: {stats.refused}  "
              f"kafka retries: {stats.kafka_retries}  "
              f"left uncommitted: {stats.uncommitted}", flush=True)
    return 0
