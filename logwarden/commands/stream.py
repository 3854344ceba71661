"""`logwarden stream [--once]`: the Sigma rules on the Kafka topics, alerts to logwarden.alerts.

Same shutdown as `index`: SIGTERM/SIGINT finish the batch in hand, commit it, leave the group
(a static member, `--instance-id`, keeps its partitions for the session timeout instead), print
the counters and exit 0. Run N of them in one group to split the work (docs/scaling.md); correlation
state follows its repartition partition and survives a restart (logwarden/detection/stream_state.py);
correlation hits wait up to `stream_reorder_grace` to be counted in time order, and what still
waits is counted at the end of `--once` and at a stop (logwarden/detection/reorder.py).
Errors are raised to the CLI (logwarden/errors.py).
"""

from __future__ import annotations

import argparse
import gc
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stream", help="evaluate the Kafka topics as events pass; alerts to the alerts topic")
    p.add_argument("--once", action="store_true", help="drain the topics and exit")
    p.add_argument("--rules", action="append", type=Path, help="rule file or folder (default: sigma_rules/)")
    p.add_argument("--group", help="consumer group id (default: <topic prefix>stream, e.g. logwarden.stream)")
    p.add_argument("--instance-id", help="static group member id (group.instance.id): a restarted member gets its "
                                         "partitions back at once")
    p.add_argument("--json", action="store_true", help="print the final counters as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Returns 0 once stopped or drained; raises the errors of `run_stream` and of rule loading."""
    from logwarden.config import load
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.engine import Detector
    from logwarden.detection.stream import run_stream

    cfg = load(args.config)
    detector = Detector(load_ruleset(args.rules))
    # the compiled rules (~370,000 objects with SigmaHQ's) live as long as the process: out of the
    # collector's generations, a full collection no longer walks them (~5 us per event less)
    gc.freeze()
    stats = run_stream(cfg, detector, once=args.once, group_id=args.group, instance_id=args.instance_id)
    if args.json:
        print(json.dumps(stats.as_dict()), flush=True)
    else:
        print(f"stream: {stats.consumed} events, {stats.alerts} alerts, {stats.undecodable} undecodable, "
              f"{stats.unprocessable} unprocessable, {stats.late} correlation hits later than the reorder grace, "
              f"{stats.kafka_retries} kafka retries, {stats.uncommitted} left uncommitted, "
              f"{stats.bad_state_files} bad state files set aside", flush=True)
    return 0
