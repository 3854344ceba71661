"""`logwarden lab up|down|status|demo`: the local Kafka + Elasticsearch runtime.

The status table (or `--json`) is the only thing on stdout; progress goes to the log (stderr).
The lab is secured (HTTPS, SASL_SSL, users; logwarden/runtime/lab.py) unless `--insecure`.
Errors follow logwarden/errors.py: a server that cannot be started raises `ServerError` (exit 3),
and `up`/`status` exit 3 as well when a server is not healthy, after printing the statuses.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict
from typing import Any

from logwarden.config import load
from logwarden.errors import ServerError, UsageError

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lab", help="start/stop the local Kafka + Elasticsearch (loopback only)")
    p.add_argument("action", choices=["up", "down", "status", "demo", "replay"],
                   help="up/down/status the servers; demo: replay the incident and show its alerts; "
                        "replay: re-enact a scenario through shippers, Kafka and the indexer")
    p.add_argument("scenario", nargs="?", choices=["phobos"], help="replay: the scenario (INCIDENT.md)")
    p.add_argument("--seed", type=int, default=1, help="replay: generator seed (same seed, same events)")
    p.add_argument("--scale", type=int, default=1, help="replay: multiply the benign background by K")
    p.add_argument("--out", help="replay: folder for the generated logs (default <home>/replay)")
    p.add_argument("--json", action="store_true", help="machine-readable status")
    p.add_argument("--insecure", action="store_true",
                   help="up/status/demo: the plaintext lab without TLS or authentication (debugging only)")
    p.add_argument("--external", action="store_true",
                   help="demo/replay: use the configured servers (e.g. docker-compose.yml) instead of starting the lab")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Returns 0; raises ServerError when a server is not healthy after `up` or in `status`."""
    from logwarden.runtime.lab import Lab

    cfg = load(args.config)
    if args.action == "demo":
        from logwarden import demo

        return demo.run(cfg, start_lab=not args.external, insecure=args.insecure)
    if args.action == "replay":
        # the lab's own servers, with the secured lab's client settings once it made them
        return _replay(cfg if args.external else Lab(cfg, insecure=args.insecure).cfg, args)
    lab = Lab(cfg, insecure=args.insecure)
    if args.action == "down":
        stopped = lab.down()
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        return 0
    if args.action == "up":
        log.info("starting Kafka and Elasticsearch (the first run downloads them from Maven Central)")
        statuses = lab.up()
        if lab.secure:
            log.info("secured lab: its client settings are in %s (export LOGWARDEN_CONFIG=%s)",
                     lab.client_file, lab.client_file)
    else:
        statuses = lab.status()
    if args.json:
        print(json.dumps([asdict(s) for s in statuses]))
    else:
        for s in statuses:
            state = "healthy" if s.healthy else ("running, not healthy" if s.running else "down")
            print(f"{s.name:14} {s.address:26} {state:22} pid={s.pid or '-'} {s.detail}")
    unhealthy = [s.name for s in statuses if not s.healthy]
    if unhealthy:
        raise ServerError(f"not healthy: {', '.join(unhealthy)}")
    return 0


def _replay(cfg: Any, args: argparse.Namespace) -> int:
    """Returns 0; UsageError for a missing scenario or a scale below 1."""
    from pathlib import Path

    from logwarden.replay.run import replay

    if args.scenario is None:
        raise UsageError("lab replay: name the scenario (phobos)")
    if args.scale < 1:
        raise UsageError("lab replay: --scale must be 1 or more")
    folder = Path(args.out) if args.out else cfg.home_path / "replay"
    done = replay(cfg, folder, seed=args.seed, scale=args.scale)
    line = {"folder": str(done.folder), "files": len(done.files), "records": done.records,
            "produced": done.produced, "indexed": done.indexed, "already_indexed": done.already_indexed,
            "seconds": round(done.seconds, 2)}
    print(json.dumps(line) if args.json else
          f"replay {args.scenario} (seed {args.seed}, scale {args.scale}): {done.records} records in "
          f"{len(done.files)} files under {done.folder}; produced {done.produced}, indexed {done.indexed} "
          f"new ({done.already_indexed} already there) in {done.seconds:.1f}s")
    return 0
