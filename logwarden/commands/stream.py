"""`logwarden stream [--once]`: the Sigma rules on the Kafka topics, alerts to logwarden.alerts."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stream", help="evaluate the Kafka topics as events pass; alerts to the alerts topic")
    p.add_argument("--once", action="store_true", help="drain the topics and exit")
    p.add_argument("--rules", action="append", type=Path, help="rule file or folder (default: sigma_rules/)")
    p.add_argument("--group", default="logwarden-stream", help="consumer group id")
    p.add_argument("--json", action="store_true", help="print the final counters as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kafka.errors import KafkaError

    from logwarden.config import ConfigError, load
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.engine import Detector
    from logwarden.detection.stream import run_stream

    try:
        cfg = load(args.config)
    except ConfigError as exc:
        print(f"stream: {exc}", file=sys.stderr)
        return 2
    detector = Detector(load_ruleset(args.rules))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        stats = run_stream(cfg, detector, once=args.once, group_id=args.group)
    except (KafkaError, RuntimeError) as exc:
        print(f"stream: Kafka at {cfg.kafka}: {exc}", file=sys.stderr)
        return 3
    print(json.dumps(stats.as_dict()) if args.json else
          f"stream: {stats.consumed} events, {stats.alerts} alerts, {stats.undecodable} undecodable", file=sys.stderr)
    return 0
