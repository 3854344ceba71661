"""`logwarden ship kafka --topic T --source windows`: the documents existing agents (Winlogbeat
8/9, Elastic Agent with Kafka output) write to a SOC's topic, normalised like `ship evtx` and
produced to logwarden's topics (logwarden/shippers/agent_relay.py).

Runs until SIGTERM/SIGINT (the batch in hand is finished and committed), or with `--once` until
the topic is drained. Errors are raised (logwarden/errors.py): exit 1 when any message became a
dead letter (the others were shipped), 2 usage/config error, 3 Kafka not reachable (`--once`).
"""

from __future__ import annotations

import argparse
import json

from logwarden.errors import InputError, UsageError
from logwarden.safe_text import printable
from logwarden.shippers.agent_documents import ADAPTERS
from logwarden.shippers.datasets import DATASETS, DEADLETTER


def register_ship(ship_sub: argparse._SubParsersAction) -> None:
    kp = ship_sub.add_parser("kafka", help="Winlogbeat / Elastic Agent documents from a Kafka topic")
    kp.add_argument("--topic", required=True, help="the agents' topic (on the Kafka logwarden is configured for)")
    kp.add_argument("--source", required=True, choices=sorted(ADAPTERS),
                    help="what the agents collect: %(choices)s")
    kp.add_argument("--group", help="consumer group id (default: <topic prefix>ship-kafka-<source>)")
    kp.add_argument("--once", action="store_true", help="drain the topic and exit")
    kp.add_argument("--max-messages", type=int, metavar="N", help="stop after about N messages (whole batches)")
    kp.add_argument("--json", action="store_true", help="print the counters as JSON")
    kp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Returns 0 once stopped or drained.

    Raises:
        UsageError: the topic is one of logwarden's own (it would feed itself).
        InputError: some messages became dead letters.
        ServerError: with --once, Kafka unreachable.
    """
    from logwarden.config import load
    from logwarden.shippers.agent_relay import run_relay

    cfg = load(args.config)
    own = {cfg.topic(d) for d in (*DATASETS, DEADLETTER)}
    if args.topic in own:
        raise UsageError(f"--topic {printable(args.topic)} is one of logwarden's own topics; "
                         "name the topic the agents write to")
    group = args.group or cfg.group(f"ship-kafka-{args.source}")
    stats = run_relay(cfg, args.topic, ADAPTERS[args.source], group, once=args.once,
                      max_messages=args.max_messages)
    if args.json:
        print(json.dumps(stats.as_dict()), flush=True)
    else:
        print(f"ship kafka: {stats.consumed} messages, {stats.produced} events "
              f"({stats.from_original_xml} from event.original XML), {stats.dead_letters} dead letters, "
              f"{stats.kafka_retries} kafka retries, {stats.uncommitted} left uncommitted", flush=True)
        for reason, n in stats.reasons.most_common():
            print(f"  {n:7d}  {printable(reason)}")
    if stats.dead_letters:
        raise InputError(f"{stats.dead_letters} messages were not agent documents of source {args.source} "
                         f"(sent to {cfg.topic(DEADLETTER)} with the reason); everything else was shipped")
    return 0
