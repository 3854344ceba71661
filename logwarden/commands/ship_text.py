"""`logwarden ship syslog` and `logwarden ship file`: firewall and antivirus text logs to Kafka.

    logwarden ship syslog --udp 0.0.0.0:5514 --tcp 0.0.0.0:5514 [--tls-cert F --tls-key F] [--workers N]
                          [--spool-dir D] [--spool-max BYTES] [--grace S]
                          [--max-messages N] [--duration S] [--json]
    logwarden ship file PATH... --source NAME|auto [--follow] [--state FILE] [--host NAME] [--workers N] [--json]

Which sources `ship file` reads (and follows) is what their declarations say (the registry).
`ship file` over several files keeps one checkpoint per file, as for one file; `--workers N` reads
them in N processes (logwarden/shippers/parallel_ship.py), each file by one of them.
Errors are raised (logwarden/errors.py): exit 1 when `ship file` met dead letters (the good
records are shipped all the same), 2 usage/config error, 3 Kafka not reachable or delivery failed
(`ship file`; `ship syslog` spools instead, see logwarden/shippers/spooling_sink.py).
SIGTERM/SIGINT stop `ship syslog` as they stop the Kafka services (logwarden/consume.py's
StopFlag): the listeners close, what was accepted reaches Kafka within `--grace` or the spool,
the counters are printed, exit 0.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import socket
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from logwarden.errors import InputError, ServerError, UsageError
from logwarden.safe_text import printable
from logwarden.shippers.base import DEADLETTER
from logwarden.shippers.receive_queue import DEFAULT_MAX_BYTES as UDP_QUEUE_BYTES
from logwarden.timezones import log_tz

log = logging.getLogger(__name__)

DEFAULT_SPOOL_MAX = 1024 ** 3
_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}


def byte_size(text: str) -> int:
    """`500M`, `2G`, `1048576` as bytes (binary units; a trailing `B`/`iB` is allowed)."""
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(?:I?B)?\s*", text.upper())
    if not m or int(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a positive size: {printable(text)!r} (e.g. 500M, 2G)")
    return int(m.group(1)) * _UNITS[m.group(2)]


def register_ship(ship_sub: argparse._SubParsersAction) -> None:
    from logwarden.shippers.registry import Names

    sp = ship_sub.add_parser("syslog", help="receive syslog (RFC 3164/5424, UDP/TCP/TLS), firewall and AV formats")
    sp.add_argument("--udp", metavar="HOST:PORT", help="UDP listen address, e.g. 0.0.0.0:5514")
    sp.add_argument("--tcp", metavar="HOST:PORT", help="TCP listen address (newline or octet-counted framing)")
    sp.add_argument("--tls-cert", help="PEM certificate: TCP becomes TLS (RFC 5425)")
    sp.add_argument("--tls-key", help="PEM private key for --tls-cert")
    sp.add_argument("--max-connections", type=int, default=512, metavar="N",
                    help="concurrent TCP connections; more are closed at once, logged (default 512)")
    sp.add_argument("--idle-timeout", type=float, default=300.0, metavar="S",
                    help="close a TCP connection after S seconds without data, logged (default 300)")
    sp.add_argument("--spool-dir", type=Path, metavar="DIR",
                    help="where accepted messages wait while Kafka is down (default: <state>/syslog-spool)")
    sp.add_argument("--spool-max", type=byte_size, default=DEFAULT_SPOOL_MAX, metavar="BYTES",
                    help="spool size limit, e.g. 500M, 2G (default 1G); when full, TCP senders wait and "
                         "UDP messages are dropped, both counted")
    sp.add_argument("--udp-queue", type=byte_size, default=UDP_QUEUE_BYTES, metavar="BYTES",
                    help="bound of the in-process queue where received UDP datagrams wait to be parsed, per "
                         "worker (default 64M); a datagram that finds it full is dropped and counted "
                         "(udp_overflow), with a warning")
    sp.add_argument("--grace", type=float, default=10.0, metavar="S",
                    help="at a stop, seconds Kafka gets to acknowledge what is in flight before it is "
                         "spooled (default 10)")
    sp.add_argument("--workers", type=int, default=1, metavar="N",
                    help="receiver processes sharing the addresses (SO_REUSEPORT), each with its own Kafka "
                         "producer and spool (<spool-dir>/worker-<i>, --spool-max split between them); "
                         "UDP flows are spread by source address and port (default 1)")
    sp.add_argument("--parse-workers", type=int, default=1, metavar="K",
                    help="parse in K processes, each with its own Kafka producer and spool (<spool-dir>/parse-<i>): "
                         "one TCP connection is no longer bound to one core; one that dies is started again and "
                         "gets back what it had not settled (at least once); only with --workers 1 (default 1)")
    sp.add_argument("--max-messages", type=int, help="stop after N messages")
    sp.add_argument("--duration", type=float, help="stop after S seconds")
    sp.add_argument("--json", action="store_true", help="print the counts as JSON")
    sp.set_defaults(func=run_syslog)
    fp = ship_sub.add_parser("file", help="a firewall/AV log file (or Huorong log.db), optionally followed")
    fp.add_argument("paths", nargs="+", metavar="PATH",
                    help="files (each with its own checkpoint), or one FIFO or - for standard input (read once, "
                         "no checkpoint)")
    source = fp.add_argument("--source", required=True, metavar="NAME", help="the log source: %(known)s")
    source.known = Names(lambda s: s.tailable, auto=True)  # type: ignore[attr-defined]  # listed when shown
    fp.add_argument("--follow", action="store_true",
                    help="keep reading; follow rotation (sources that can: %(followable)s)")
    fp.add_argument("--state", help="checkpoint file, with one PATH (default: <state>/ship-file-<source>-<path>.json)")
    fp.add_argument("--workers", type=int, default=1, metavar="N",
                    help="read the files in N processes, each with its own Kafka producer (default 1)")
    fp.add_argument("--host", help="host.name for sources without one (default: this host)")
    fp.add_argument("--json", action="store_true", help="print the counts as JSON")
    fp.set_defaults(func=run_file)
    follow = next(a for a in fp._actions if a.dest == "follow")
    follow.followable = Names(lambda s: s.follow, auto=True)  # type: ignore[attr-defined]


def _sink(cfg: Any) -> Any:
    """The Kafka sink. Raises ServerError when Kafka cannot be reached."""
    from logwarden.kafka_io import KafkaError, KafkaSink

    try:
        return KafkaSink(cfg)
    except KafkaError as exc:
        raise ServerError(f"Kafka at {cfg.kafka} not reachable: {exc}") from exc


def _stop_on_signals(stop: threading.Event) -> None:
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())


def _report(counts: dict[str, Any], as_json: bool) -> None:
    print(json.dumps(counts) if as_json else " ".join(f"{k}={v}" for k, v in counts.items()))


def _syslog_sink(cfg: Any, args: argparse.Namespace) -> Any:
    """Kafka-or-spool sink of a single `ship syslog` receiver (UsageError when another receiver
    holds the spool)."""
    from logwarden.shippers.syslog_workers import open_sink

    return open_sink(cfg, args.spool_dir or cfg.state_path / "syslog-spool", args.spool_max)


def run_syslog(args: argparse.Namespace) -> int:
    """Receive until a stop (or --max-messages / --duration); returns 0. Raises UsageError for
    bad arguments, an address that cannot be listened on, or a spool in use or not writable.
    `--workers N` > 1: N receiver processes on the same addresses (logwarden/shippers/syslog_workers.py)."""
    from logwarden.config import load
    from logwarden.consume import StopFlag
    from logwarden.shippers import autodetect, textlog
    from logwarden.shippers.syslog import parse_hostport
    from logwarden.shippers.syslog_workers import ListenError, Plan, Supervisor, receive, warn_leftover_spools

    if not args.udp and not args.tcp:
        raise UsageError("give --udp and/or --tcp")
    if args.max_connections < 1 or not args.idle_timeout > 0 or args.grace < 0 or args.workers < 1 \
            or args.parse_workers < 1:
        raise UsageError("--max-connections, --idle-timeout, --workers and --parse-workers must be positive, "
                         "--grace not negative")
    if args.parse_workers > 1 and args.workers > 1:
        raise UsageError("--parse-workers needs --workers 1: --workers spreads many senders over receivers, "
                         "--parse-workers one receiver's messages over parse processes; both at once is not "
                         "supported (each receiver's restart would race its parse processes for their spools)")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    cfg = load(args.config)
    textlog.CONFIG.tz = log_tz()  # ConfigError (exit 2) for a bad LOGWARDEN_LOG_TZ, before any message
    try:
        udp = parse_hostport(args.udp) if args.udp else None
        tcp = parse_hostport(args.tcp) if args.tcp else None
        if args.tls_cert:
            from logwarden.shippers.syslog import tls_context

            tls_context(args.tls_cert, args.tls_key)  # refused here, before any worker starts
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    autodetect.load()
    plan = Plan(cfg, udp, tcp, args.tls_cert, args.tls_key, args.max_connections, args.idle_timeout,
                args.spool_dir or cfg.state_path / "syslog-spool", args.spool_max, args.grace,
                udp_queue_bytes=args.udp_queue, parse_workers=args.parse_workers)
    warn_leftover_spools(plan.spool_dir, args.workers, args.parse_workers)
    stop = StopFlag()
    with stop.on_signals():
        if args.workers == 1:
            def listening(server: Any) -> None:
                log.info("listening udp=%s tcp=%s (udp SO_RCVBUF=%s)", server.udp_address, server.tcp_address,
                         server.udp_rcvbuf)
            try:
                sink = _syslog_sink(cfg, args) if args.parse_workers == 1 else None  # else each parse process's
                counts = receive(plan, stop, listening, args.max_messages, args.duration, sink)
            except ListenError as exc:
                raise UsageError(str(exc)) from exc
        else:
            supervisor = Supervisor(plan, args.workers)
            udp_address, tcp_address, rcvbuf = supervisor.start()
            log.info("listening udp=%s tcp=%s (udp SO_RCVBUF=%s) workers=%d", udp_address, tcp_address, rcvbuf,
                     args.workers)
            counts = supervisor.serve_until(args.max_messages, args.duration, stop)
        if stop.is_set():
            log.info("%s received: stopped", stop.reason)
    _report(counts, args.json)
    return 0


def _state_file(cfg: Any, source: str, path: str) -> Path:
    """The default checkpoint of one file: named after the source and the file's absolute path."""
    safe = "".join(c if c.isalnum() else "_" for c in str(Path(path).resolve()))[-120:]
    return cfg.state_path / f"ship-file-{source}-{safe}.json"


def _tail_files(paths: Iterable[str], source: str, sink: Any, state: Path | None, cfg: Any) -> dict[str, int]:
    """Read each file to its end with its own checkpoint, taking the next path only when one is
    done (a worker's share comes from a shared queue); returns the summed counts (and `files`)."""
    from logwarden.shippers.filetail import FileTail

    counts = {"files": 0, "sent": 0, "parsed": 0, "dead": 0}
    for path in paths:
        tail = FileTail(path, source, sink, state or _state_file(cfg, source, path))
        for key, value in tail.run().items():
            counts[key] += value
        counts["files"] += 1
    return counts


def run_file(args: argparse.Namespace) -> int:
    """Ship the files (or follow one); returns 0, raises InputError when some records were dead
    letters, UsageError for bad arguments, ServerError when Kafka failed (checkpoints not advanced)."""
    from logwarden.config import load
    from logwarden.kafka_io import DeliveryError, KafkaError
    from logwarden.shippers import capabilities, registry, textlog
    from logwarden.shippers.filetail import FileTail

    if not capabilities.can_tail(args.source):  # UnknownSource (exit 2) for a name nobody declares
        raise UsageError(f"source {args.source!r} is not read by `ship file`; sources that are: "
                         f"{registry.Names(lambda s: s.tailable, auto=True)}")
    paths: list[str] = args.paths
    if args.workers < 1:
        raise UsageError("--workers must be positive")
    if len(paths) > 1 and (args.follow or args.state or "-" in paths):
        raise UsageError("--follow, --state and - (standard input) take one PATH")
    missing = [p for p in paths if p != "-" and not Path(p).exists()]
    if missing and not args.follow:
        raise UsageError(f"no such file: {printable(', '.join(missing))}")
    cfg = load(args.config)
    textlog.CONFIG.tz = log_tz()  # ConfigError (exit 2) for a bad LOGWARDEN_LOG_TZ, before any line
    textlog.CONFIG.hostname = args.host or textlog.CONFIG.hostname or socket.gethostname()
    state = Path(args.state) if args.state else None
    if args.follow and not capabilities.can_follow(args.source):
        raise UsageError(f"source {args.source!r} cannot be followed; sources that can: "
                         f"{registry.Names(lambda s: s.follow, auto=True)}")
    if args.workers > 1 and len(paths) > 1:
        counts = _tail_in_workers(paths, args.source, state, cfg, args.workers)
    else:
        sink = _sink(cfg)
        try:
            if len(paths) == 1:
                tail = FileTail(paths[0], args.source, sink, state or _state_file(cfg, args.source, paths[0]),
                                follow=args.follow)
                _stop_on_signals(tail.stop_event)
                counts = tail.run()
            else:
                counts = _tail_files(paths, args.source, sink, state, cfg)
        except (DeliveryError, KafkaError) as exc:
            raise ServerError(f"{exc} (checkpoint not advanced; rerun to resume)") from exc
        finally:
            sink.close()
    _report(counts, args.json)
    if counts["dead"]:
        raise InputError(f"{counts['dead']} of {counts['sent']} records were dead letters "
                         f"(sent to {cfg.topic(DEADLETTER)}); the others were shipped")
    return 0


def _tail_in_workers(paths: list[str], source: str, state: Path | None, cfg: Any, workers: int) -> dict[str, int]:
    """The files read by `workers` processes (largest first), each file by one of them with its
    own checkpoint; returns the summed counts. Raises ServerError for Kafka, RuntimeError for a bug."""
    from logwarden.shippers.parallel_ship import WorkerFailed, by_size, run_workers

    _sink(cfg).close()  # an unreachable Kafka: exit 3 here, before any worker starts

    def work(items: Any, sink: Any, send: Any) -> dict[str, int]:
        return _tail_files(items, source, sink, state, cfg)

    try:
        results = run_workers([str(p) for p in by_size(Path(p) for p in paths)], work, lambda: _sink(cfg),
                              lambda sink: sink.close(), workers)
    except WorkerFailed as exc:
        if exc.kind == "server":
            raise ServerError(f"{exc} (checkpoint not advanced; rerun to resume)") from exc
        raise RuntimeError(f"a ship worker failed: {exc}") from exc
    counts = {"files": 0, "sent": 0, "parsed": 0, "dead": 0}
    for result in results:
        for key, value in result.items():
            counts[key] += value
    return counts
