"""`logwarden ship evtx PATH...` (Windows event logs); `ship syslog` / `ship file` come from
logwarden.commands.ship_text when present. Errors are raised (logwarden/errors.py): a missing
path is a usage error (2), Kafka unreachable or not acknowledging a server error (3); exit 1
when files could not be read."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from logwarden.config import load
from logwarden.errors import InputError, ServerError, UsageError
from logwarden.safe_text import printable
from logwarden.shippers.datasets import DEADLETTER


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ship", help="read logs, normalise to ECS, produce to Kafka")
    ship_sub = p.add_subparsers(dest="ship_source", metavar="SOURCE")
    ev = ship_sub.add_parser("evtx", help=".evtx files, Windows event XML, JSON lines (files or folders)")
    ev.add_argument("paths", nargs="+", help="files or folders (recursive)")
    ev.add_argument("--from-start", action="store_true", help="ignore the checkpoint, ship everything again")
    ev.add_argument("--state", help="checkpoint file (default: <state>/ship-evtx.json)")
    ev.add_argument("--no-progress", action="store_true")
    ev.add_argument("--workers", type=int, default=1, metavar="N",
                    help="ship the files with N processes, each with its own Kafka producer; one checkpoint "
                         "file, written after Kafka acknowledged (default 1)")
    ev.add_argument("--json", action="store_true", help="print the summary as JSON")
    ev.set_defaults(func=run_evtx)
    try:
        from logwarden.commands.ship_text import register_ship
    except ModuleNotFoundError as exc:
        if exc.name != "logwarden.commands.ship_text":
            raise
    else:
        register_ship(ship_sub)
    from logwarden.commands.ship_kafka import register_ship as register_ship_kafka

    register_ship_kafka(ship_sub)


# Files are shipped in bulk, so a message may wait longer for its batch than a live stream's: 50 ms
# and 1 MiB instead of KafkaSink's 20 ms and 512 KiB took ~1.4 us less CPU per message with the
# confluent client (kafka-python: no change), docs/kafka-client.md "Batching for `ship evtx`".
EVTX_BATCHING = {"linger_ms": 50, "batch_size": 1024 * 1024}


def run_evtx(args: argparse.Namespace) -> int:
    from logwarden.kafka_io import DeliveryError, KafkaError, KafkaSink
    from logwarden.shippers.checkpoint import Checkpoints
    from logwarden.shippers.ship import ship_files
    from logwarden.shippers.windows import iter_file, iter_paths

    if args.workers < 1:
        raise UsageError("--workers must be positive")
    cfg = load(args.config)
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise UsageError(f"no such file or folder: {printable(', '.join(missing))}")
    state = Path(args.state) if args.state else cfg.state_path / "ship-evtx.json"
    checkpoints = Checkpoints(state)
    if args.from_start:
        checkpoints.data = {}
    def make_sink() -> KafkaSink:
        try:
            return KafkaSink(cfg, **EVTX_BATCHING)
        except KafkaError as exc:
            raise ServerError(f"Kafka at {cfg.kafka} not reachable: {exc}") from exc

    def close_sink(sink: KafkaSink) -> None:
        sink.producer.close(timeout=10)

    if args.workers > 1:
        from logwarden import kafka_preflight
        from logwarden.kafka_io import client_options
        from logwarden.shippers.parallel_ship import WorkerFailed, ship_files_parallel

        try:  # once here (a port or a login refused: exit 3 before any worker); the workers inherit it
            kafka_preflight.check(cfg, client_options(cfg))
        except KafkaError as exc:
            raise ServerError(f"Kafka at {cfg.kafka} not reachable: {exc}") from exc
        try:
            summary = ship_files_parallel(iter_paths(args.paths), lambda p, skip: iter_file(p, skip=skip),
                                          make_sink, close_sink, checkpoints, args.workers)
        except WorkerFailed as exc:
            if exc.kind == "server":
                raise ServerError(f"{exc} (checkpoint not advanced; rerun to resume)") from exc
            raise RuntimeError(f"a ship worker failed: {exc}") from exc
    else:
        sink = make_sink()
        try:
            summary = ship_files(iter_paths(args.paths), lambda p, skip: iter_file(p, skip=skip), sink, checkpoints,
                                 progress=not args.no_progress)
        except (DeliveryError, KafkaError) as exc:
            raise ServerError(f"{exc} (checkpoint not advanced; rerun to resume)") from exc
        finally:
            close_sink(sink)
    if args.json:
        print(json.dumps(summary.as_dict()))
    else:
        print(f"files: {summary.files}  records: {summary.records}  produced: {summary.produced}  "
              f"dead letters: {summary.dead_letters}  already shipped (skipped): {summary.already_shipped}  "
              f"unreadable files: {summary.unreadable_files}")
        for reason, n in summary.reasons.most_common():
            print(f"  {n:7d}  {printable(reason)}")
    if summary.dead_letters or summary.unreadable_files:  # README: 1 = problems in the input
        raise InputError(f"{summary.dead_letters} dead letters (sent to {cfg.topic(DEADLETTER)}) and "
                         f"{summary.unreadable_files} unreadable files; everything else was shipped")
    return 0
