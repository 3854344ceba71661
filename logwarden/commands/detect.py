"""`logwarden detect [--once | --interval 60s]`: the Sigma rules as Elasticsearch queries.

With `--interval` it runs until SIGTERM/SIGINT, with the Kafka services' shutdown model
(logwarden/consume.py's StopFlag): the pass in progress is finished and its alerts written, its
counters printed, exit 0; a stop during the wait between passes ends the wait at once.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)


def duration(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 60s, 5m, 24h)")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("detect", help="run the Sigma rules on Elasticsearch; alerts to logwarden-alerts-*")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one pass and exit")
    mode.add_argument("--interval", type=duration, default=60.0, help="seconds between passes (default 60s)")
    p.add_argument("--lookback", type=duration, default=None,
                   help="window length (default: everything with --once, 2x interval otherwise)")
    p.add_argument("--overlap", type=duration, default=120.0, help="extra look-back for late events (default 2m)")
    p.add_argument("--rules", action="append", type=Path, help="rule file or folder (default: sigma_rules/)")
    p.add_argument("--dry-run", action="store_true", help="print alerts as JSON lines, write nothing")
    p.add_argument("--json", action="store_true", help="print counters as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """One pass (--once: exit 0, or ServerError exit 3 when Elasticsearch fails) or passes every
    --interval (a failed pass is logged and the next one tried). Counters go to stderr."""
    from elasticsearch import ApiError, TransportError

    from logwarden.config import load
    from logwarden.consume import StopFlag
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.engine import Detector
    from logwarden.detection.es import EsDetector
    from logwarden.errors import ServerError
    from logwarden.es_io import client
    from logwarden.safe_text import printable, redact_credentials
    from logwarden.shippers.base import dumps

    cfg = load(args.config)  # ConfigError: one line, exit 2 (cli)
    detector = Detector(load_ruleset(args.rules))
    runner = EsDetector(cfg, client(cfg), detector)
    stop = StopFlag()
    with stop.on_signals():  # a stop never interrupts a pass: it ends the wait before the next
        while True:
            now = datetime.now(UTC)
            lookback = args.lookback if args.lookback is not None else (None if args.once else 2 * args.interval)
            start = None if lookback is None else now - timedelta(seconds=lookback + args.overlap)
            try:
                alerts = runner.run_once(start, now)
                if args.dry_run:
                    for a in alerts:
                        print(dumps(a).decode())
                else:
                    runner.write(alerts)
            except (ApiError, TransportError) as exc:
                message = f"Elasticsearch at {cfg.es_shown}: {printable(redact_credentials(str(exc)))}"
                if args.once:
                    raise ServerError(message) from exc
                log.warning("pass failed, next one in %ss: %s", args.interval, message)
            s = runner.stats
            line = {"rules": s.rules, "queries": s.queries, "hits": s.hits, "dropped": s.dropped,
                    "alerts": s.alerts, "created": s.created, "existing": s.existing}
            print(json.dumps(line) if args.json else
                  f"detect: {s.rules} rules, {s.hits} hits, {s.alerts} alerts "
                  f"({s.created} new, {s.existing} already there)", file=sys.stderr, flush=True)
            if args.once or stop.is_set() or stop.wait(args.interval):
                break
    if stop.is_set():
        log.info("%s received: stopped", stop.reason)
    return 0
