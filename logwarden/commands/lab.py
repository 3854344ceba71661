"""`logwarden lab up|down|status`: the local Kafka + Elasticsearch runtime."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from logwarden.config import load


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lab", help="start/stop the local Kafka + Elasticsearch (loopback only)")
    p.add_argument("action", choices=["up", "down", "status", "demo"],
                   help="up/down/status the servers; demo: ship and index a small incident sample")
    p.add_argument("--json", action="store_true", help="machine-readable status")
    p.add_argument("--external", action="store_true",
                   help="demo: use the configured servers (e.g. docker-compose.yml) instead of starting the lab")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from logwarden.runtime.lab import Lab

    cfg = load(args.config)
    if args.action == "demo":
        from logwarden import demo

        return demo.run(cfg, start_lab=not args.external)
    lab = Lab(cfg)
    if args.action == "down":
        stopped = lab.down()
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        return 0
    if args.action == "up":
        print("starting Kafka and Elasticsearch (first run downloads them from Maven Central)...", flush=True)
        try:
            statuses = lab.up()
        except Exception as exc:  # noqa: BLE001 - report the reason, exit 3
            print(f"lab up failed: {exc}")
            return 3
    else:
        statuses = lab.status()
    if args.json:
        print(json.dumps([asdict(s) for s in statuses]))
    else:
        for s in statuses:
            state = "healthy" if s.healthy else ("running, not healthy" if s.running else "down")
            print(f"{s.name:14} {s.address:26} {state:22} pid={s.pid or '-'} {s.detail}")
    return 0 if all(s.healthy for s in statuses) else 3
