"""`logwarden ship syslog` and `logwarden ship file`: firewall and antivirus text logs to Kafka.

    logwarden ship syslog --udp 0.0.0.0:5514 --tcp 0.0.0.0:5514 [--tls-cert F --tls-key F]
                          [--max-messages N] [--duration S] [--json]
    logwarden ship file PATH --source NAME|auto [--follow] [--state FILE] [--host NAME] [--json]

Exit codes: 0 ok, 2 usage/config error, 3 Kafka not reachable or delivery failed.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any


def register_ship(ship_sub: argparse._SubParsersAction) -> None:
    sp = ship_sub.add_parser("syslog", help="receive syslog (RFC 3164/5424, UDP/TCP/TLS), firewall and AV formats")
    sp.add_argument("--udp", metavar="HOST:PORT", help="UDP listen address, e.g. 0.0.0.0:5514")
    sp.add_argument("--tcp", metavar="HOST:PORT", help="TCP listen address (newline or octet-counted framing)")
    sp.add_argument("--tls-cert", help="PEM certificate: TCP becomes TLS (RFC 5425)")
    sp.add_argument("--tls-key", help="PEM private key for --tls-cert")
    sp.add_argument("--max-messages", type=int, help="stop after N messages")
    sp.add_argument("--duration", type=float, help="stop after S seconds")
    sp.add_argument("--json", action="store_true", help="print the counts as JSON")
    sp.set_defaults(func=run_syslog)
    fp = ship_sub.add_parser("file", help="a firewall/AV log file (or Huorong log.db), optionally followed")
    fp.add_argument("path")
    fp.add_argument("--source", required=True, help="parser name (see `logwarden parse --help`) or auto")
    fp.add_argument("--follow", action="store_true", help="keep reading; follow rotation")
    fp.add_argument("--state", help="checkpoint file (default: <state>/ship-file-<name>.json)")
    fp.add_argument("--host", help="host.name for sources without one (default: this host)")
    fp.add_argument("--json", action="store_true", help="print the counts as JSON")
    fp.set_defaults(func=run_file)


def _sink(cfg: Any) -> Any:
    from logwarden.kafka_io import KafkaSink

    return KafkaSink(cfg)


def _stop_on_signals(stop: threading.Event) -> None:
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())


def _report(counts: dict[str, Any], as_json: bool) -> None:
    print(json.dumps(counts) if as_json else " ".join(f"{k}={v}" for k, v in counts.items()))


def run_syslog(args: argparse.Namespace) -> int:
    from logwarden.config import ConfigError, load
    from logwarden.shippers.syslog import SyslogServer, parse_hostport, tls_context

    if not args.udp and not args.tcp:
        print("ship syslog: give --udp and/or --tcp", file=sys.stderr)
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        print("ship syslog: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    try:
        cfg = load(args.config)
        udp = parse_hostport(args.udp) if args.udp else None
        tcp = parse_hostport(args.tcp) if args.tcp else None
        tls = tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    except (ConfigError, ValueError, OSError) as exc:
        print(f"ship syslog: {exc}", file=sys.stderr)
        return 2
    try:
        sink = _sink(cfg)
    except Exception as exc:  # noqa: BLE001 - any client error here means Kafka is unreachable
        print(f"ship syslog: Kafka at {cfg.kafka} not reachable: {exc}", file=sys.stderr)
        return 3
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        server = SyslogServer(sink, udp=udp, tcp=tcp, tls=tls).start()
    except OSError as exc:
        print(f"ship syslog: cannot listen: {exc}", file=sys.stderr)
        sink.close()
        return 2
    print(f"ship syslog: listening udp={server.udp_address} tcp={server.tcp_address} "
          f"(udp SO_RCVBUF={server.udp_rcvbuf})", file=sys.stderr)
    try:
        counters = server.serve_until(args.max_messages, args.duration, stop)
    except Exception as exc:  # noqa: BLE001 - delivery failure
        print(f"ship syslog: {exc}", file=sys.stderr)
        return 3
    finally:
        sink.close()
    _report(counters.as_dict(), args.json)
    return 0


def run_file(args: argparse.Namespace) -> int:
    from logwarden.config import ConfigError, load
    from logwarden.shippers import registry, textlog
    from logwarden.shippers.filetail import FileTail

    if args.source not in registry.PARSERS or args.source == "windows":
        print(f"ship file: unknown source {args.source!r}; known: "
              f"{', '.join(sorted(set(registry.PARSERS) - {'windows'}))}", file=sys.stderr)
        return 2
    if not Path(args.path).exists() and not args.follow:
        print(f"ship file: no such file: {args.path}", file=sys.stderr)
        return 2
    try:
        cfg = load(args.config)
    except ConfigError as exc:
        print(f"ship file: {exc}", file=sys.stderr)
        return 2
    textlog.CONFIG.hostname = args.host or textlog.CONFIG.hostname or socket.gethostname()
    safe = "".join(c if c.isalnum() else "_" for c in str(Path(args.path).resolve()))[-120:]
    state = Path(args.state) if args.state else cfg.state_path / f"ship-file-{args.source}-{safe}.json"
    try:
        sink = _sink(cfg)
    except Exception as exc:  # noqa: BLE001
        print(f"ship file: Kafka at {cfg.kafka} not reachable: {exc}", file=sys.stderr)
        return 3
    tail = FileTail(args.path, args.source, sink, state, follow=args.follow)
    _stop_on_signals(tail.stop_event)
    try:
        counts = tail.run()
    except Exception as exc:  # noqa: BLE001 - delivery failure: checkpoint not advanced
        print(f"ship file: {exc} (checkpoint not advanced; rerun to resume)", file=sys.stderr)
        return 3
    finally:
        sink.close()
    _report(counts, args.json)
    return 0
