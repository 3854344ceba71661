"""`ship syslog --workers N`: N receiver processes on one address, each with its own Kafka
producer and its own spool, supervised by the process the command started.

Why processes: parsing is Python code and one process is bound to one core (the GIL); the
receivers share nothing, so N processes scale with the cores. Each binds the UDP and TCP
addresses with SO_REUSEPORT and the kernel spreads new TCP connections and UDP flows (hashed by
source address and port: one sending device stays on one worker) over them.

- Ports: `:0` is resolved once by the supervisor (a socket bound with SO_REUSEPORT and kept
  until every worker is listening), so all workers share the one ephemeral port.
- Spools: worker 0 uses the spool folder itself (what a single receiver left is replayed),
  worker i > 0 `<spool>/worker-<i>`; each gets `--spool-max / N`. A folder of a higher worker
  index left by an earlier run with more workers is named in a warning (run with that many
  workers again to replay it).
- Ids stay unique: each worker is its own `SyslogServer` with its own session id.
- Stop: SIGTERM/SIGINT to the supervisor (or `--max-messages`, counted over all workers through
  shared memory, or `--duration`) sets one shared event; every worker stops as a single receiver
  does (grace, then spool), sends its counters back, and the supervisor prints their sum.
- A worker that dies (killed, out of memory) is logged and started again on its own spool
  (what it accepted and spooled is replayed; what it held only in memory is lost, as for a
  single receiver killed with -9); the restarts are counted.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any

from logwarden.errors import UsageError
from logwarden.safe_text import printable
from logwarden.shippers.receive_queue import DEFAULT_MAX_BYTES as UDP_QUEUE_BYTES

log = logging.getLogger(__name__)

READY_TIMEOUT = 120.0  # seconds a worker may take to connect its producer and bind
SPOOL_SUBDIR = "worker-{}"


@dataclass(frozen=True)
class Plan:
    """What one receiver needs (picklable settings; the sockets and the producer are made in the
    receiver's own process)."""

    cfg: Any
    udp: tuple[str, int] | None
    tcp: tuple[str, int] | None
    tls_cert: str | None
    tls_key: str | None
    max_connections: int
    idle_timeout: float
    spool_dir: Path
    spool_max: int
    grace: float
    reuseport: bool = False
    udp_queue_bytes: int = UDP_QUEUE_BYTES  # logwarden/shippers/receive_queue.py, per receiver
    parse_workers: int = 1  # > 1: the receiver's messages parsed in that many processes (syslog_spread.py)


class ListenError(Exception):
    """The receiver could not bind (the command turns it into a UsageError)."""


def spool_dir_of(base: Path, index: int) -> Path:
    """The spool folder of worker `index` (0: the base folder itself)."""
    return base if index == 0 else base / SPOOL_SUBDIR.format(index)


def plan_for_worker(plan: Plan, index: int, workers: int) -> Plan:
    """`plan` for worker `index` of `workers`: its own spool folder and share of the spool size."""
    return replace(plan, spool_dir=spool_dir_of(plan.spool_dir, index), spool_max=max(1, plan.spool_max // workers),
                   reuseport=True)


def open_sink(cfg: Any, spool_dir: Path, spool_max: int) -> Any:
    """The Kafka-or-spool sink of one receiver (logwarden/shippers/spooling_sink.py).

    Raises:
        UsageError: another receiver holds the spool, or it cannot be created or written.
    """
    from logwarden.shippers.spool import Spool
    from logwarden.shippers.spooling_sink import SpoolingSink

    try:
        spool = Spool(spool_dir, spool_max)
    except OSError as exc:
        raise UsageError(f"cannot use the spool {printable(str(spool_dir))}: {printable(str(exc))}") from exc
    return SpoolingSink(cfg, spool)


def receive(plan: Plan, stop: Any, on_listening: Any = None, max_messages: int | None = None,
            duration: float | None = None, sink: Any = None) -> dict[str, int]:
    """Run one receiver until `stop.is_set()` (or max_messages / duration); returns its counters
    (the server's and the spool's). Calls `on_listening(server)` once bound. `sink`: default
    `open_sink(...)` on the plan's spool.

    Raises:
        UsageError: the spool is in use or not writable.
        ListenError: the addresses cannot be listened on.
    """
    from logwarden.shippers.syslog import SyslogServer, tls_context

    if plan.parse_workers > 1 and sink is None:
        return _receive_spread(plan, stop, on_listening, max_messages, duration)
    if sink is None:
        sink = open_sink(plan.cfg, plan.spool_dir, plan.spool_max)
    try:
        tls = tls_context(plan.tls_cert, plan.tls_key) if plan.tls_cert and plan.tls_key else None
        server = SyslogServer(sink, udp=plan.udp, tcp=plan.tcp, tls=tls, max_connections=plan.max_connections,
                              idle_timeout=plan.idle_timeout, accepting=sink.accepting, reuseport=plan.reuseport,
                              udp_queue_bytes=plan.udp_queue_bytes)
        server.start()
    except (OSError, OverflowError, ValueError) as exc:  # bind refuses what parse_hostport let through
        sink.close()
        raise ListenError(f"cannot listen: {printable(str(exc))}") from exc
    if on_listening is not None:
        on_listening(server)
    try:
        counters = server.serve_until(max_messages, duration, stop)
    finally:
        spooled = sink.close(plan.grace)
    return {**counters.as_dict(), **(spooled.as_dict() if spooled is not None else {})}


def _receive_spread(plan: Plan, stop: Any, on_listening: Any, max_messages: int | None,
                    duration: float | None) -> dict[str, int]:
    """`receive` with the messages parsed by plan.parse_workers processes (syslog_spread.py),
    started before any thread of this process; returns the receiver's counters with the parse
    processes' summed in (`lost`, `parse_died` added)."""
    import uuid

    from logwarden.shippers.syslog import SyslogServer, tls_context
    from logwarden.shippers.syslog_spread import SUMMED, NoSink, ParsePlan, Spreader

    session = uuid.uuid4().hex[:12]
    spreader = Spreader(ParsePlan(plan.cfg, session, plan.spool_dir, plan.spool_max, plan.grace), plan.parse_workers,
                        open_sink)
    try:
        tls = tls_context(plan.tls_cert, plan.tls_key) if plan.tls_cert and plan.tls_key else None
        server = SyslogServer(NoSink(), udp=plan.udp, tcp=plan.tcp, tls=tls, max_connections=plan.max_connections,
                              idle_timeout=plan.idle_timeout, reuseport=plan.reuseport,
                              udp_queue_bytes=plan.udp_queue_bytes, session=session, spread=spreader)
        server.start()
    except (OSError, OverflowError, ValueError) as exc:
        spreader.kill()
        raise ListenError(f"cannot listen: {printable(str(exc))}") from exc
    if on_listening is not None:
        on_listening(server)
    try:
        counts = server.serve_until(max_messages, duration, stop).as_dict()
    finally:
        parsed = spreader.finish(plan.grace)
    for key, value in parsed.items():
        if key in SUMMED:
            counts[key] += value
        elif key not in counts:  # the spools' counters, lost, parse_died (not the receiver's own)
            counts[key] = value
    return counts


class _WorkerStop:
    """A worker's stop request: the supervisor's shared event or the worker's own signal; each
    check also publishes the worker's received count, UDP overflow included (for --max-messages
    over all workers)."""

    def __init__(self, shared: MpEvent, local: Any, received: Any, index: int) -> None:
        self.shared, self.local, self.received, self.index = shared, local, received, index
        self.server: Any = None

    def is_set(self) -> bool:
        if self.server is not None:
            self.received[self.index] = self.server.arrived
        return self.shared.is_set() or self.local.is_set()


def _worker(plan: Plan, index: int, shared_stop: MpEvent, received: Any, results: Any,
            inherited: list[int]) -> None:
    """A worker process's body: one receiver; reports ("ready", index, udp, tcp, rcvbuf),
    then ("done", index, counts) or ("error", index, kind, message) on `results`. `inherited`:
    the supervisor's port-reserving sockets, closed first (a forked copy left open would stay in
    the SO_REUSEPORT group and take its share of the UDP flows, unread)."""
    from logwarden.consume import StopFlag

    for fd in inherited:
        with contextlib.suppress(OSError):
            os.close(fd)

    local = StopFlag()
    stop = _WorkerStop(shared_stop, local, received, index)

    def listening(server: Any) -> None:
        stop.server = server
        results.put(("ready", index, server.udp_address, server.tcp_address, server.udp_rcvbuf))

    with local.on_signals():
        try:
            counts = receive(plan, stop, listening)
        except ListenError as exc:
            results.put(("error", index, "listen", str(exc)))
            return
        except UsageError as exc:
            results.put(("error", index, "usage", str(exc)))
            return
    results.put(("done", index, counts))


@contextlib.contextmanager
def _reserved_ports(plan: Plan, held: list[socket.socket]) -> Iterator[Plan]:
    """`plan` with port 0 replaced by one ephemeral port that every worker can bind with
    SO_REUSEPORT; the reserving sockets (appended to `held`) are closed when the block ends
    (after the workers bound)."""
    try:
        resolved = plan
        for proto, kind in (("udp", socket.SOCK_DGRAM), ("tcp", socket.SOCK_STREAM)):
            address = getattr(plan, proto)
            if address is None or address[1] != 0:
                continue
            sock = socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET, kind)
            held.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            try:
                sock.bind(address)
            except (OSError, OverflowError) as exc:
                raise UsageError(f"cannot listen: {printable(str(exc))}") from exc
            bound = (address[0], int(sock.getsockname()[1]))
            resolved = replace(resolved, udp=bound) if proto == "udp" else replace(resolved, tcp=bound)
        yield resolved
    finally:
        for sock in held:
            sock.close()
        held.clear()


def _leftover_spools(base: Path, pattern: str, count: int) -> list[Path]:
    """Spool folders `pattern` (e.g. worker-{}) of indexes >= `count` that still hold segments."""
    if not base.is_dir():
        return []
    out = []
    for sub in sorted(base.glob(pattern.format("*"))):
        index = sub.name.rpartition("-")[2]
        if index.isdigit() and int(index) >= count and any(sub.glob("*.spool")):
            out.append(sub)
    return out


def warn_leftover_spools(base: Path, workers: int, parse_workers: int) -> list[Path]:
    """Log a warning for each spool folder this run will not replay: one left by a run with more
    receivers (`--workers`) or more parse processes (`--parse-workers`); returns them. Their
    messages are kept, never deleted; the option that replays them is named."""
    from logwarden.shippers.syslog_spread import SPOOL_SUBDIR as PARSE_SUBDIR

    kinds = ((SPOOL_SUBDIR, workers, "--workers"), (PARSE_SUBDIR, parse_workers, "--parse-workers"))
    left = []
    for pattern, count, option in kinds:
        for sub in _leftover_spools(base, pattern, count):
            log.warning("spool %s holds messages of a run with more processes; run with %s %s to "
                        "replay them", sub, option, int(sub.name.rpartition("-")[2]) + 1)
            left.append(sub)
    return left


class Supervisor:
    """Starts and watches `workers` receiver processes (fork: they inherit the loaded parsers)."""

    def __init__(self, plan: Plan, workers: int) -> None:
        self.plan, self.workers = plan, workers
        self.ctx = multiprocessing.get_context("fork")
        self.shared_stop = self.ctx.Event()
        self.received = self.ctx.Array("q", workers, lock=False)
        self.results = self.ctx.Queue()
        self.procs: dict[int, Any] = {}
        self.done: dict[int, dict[str, int]] = {}
        self.restarts = 0
        self._reserving: list[socket.socket] = []  # open while the workers start

    def _spawn(self, plan: Plan, index: int) -> None:
        proc = self.ctx.Process(target=_worker, name=f"syslog-worker-{index}",
                                args=(plan_for_worker(plan, index, self.workers), index, self.shared_stop,
                                      self.received, self.results, [s.fileno() for s in self._reserving]))
        proc.start()
        self.procs[index] = proc

    def start(self) -> tuple[Any, Any, Any]:
        """Start every worker and wait until all listen; returns (udp address, tcp address, UDP
        SO_RCVBUF). Raises UsageError when one cannot listen or use its spool (all are stopped)."""
        with _reserved_ports(self.plan, self._reserving) as plan:
            self.plan = plan
            for index in range(self.workers):
                self._spawn(plan, index)
            ready: dict[int, tuple[Any, Any, Any]] = {}
            deadline = time.monotonic() + READY_TIMEOUT
            while len(ready) < self.workers:
                try:
                    message = self.results.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    self.stop()
                    raise UsageError(f"{self.workers - len(ready)} syslog workers not listening after "
                                     f"{READY_TIMEOUT:.0f} s") from None
                if message[0] == "ready":
                    ready[message[1]] = message[2:]
                elif message[0] == "error":
                    self.stop()
                    raise UsageError(message[3])
        first = ready[0]
        return first[0], first[1], first[2]

    def serve_until(self, max_messages: int | None, duration: float | None, stop: Any) -> dict[str, int]:
        """Watch the workers until a stop; returns the sum of their counters (plus `workers` and
        `worker_restarts`)."""
        deadline = time.monotonic() + duration if duration else None
        while not stop.is_set():
            if max_messages is not None and sum(self.received) >= max_messages:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            self._drain(0.05)
            for index, proc in list(self.procs.items()):
                if not proc.is_alive() and index not in self.done:
                    log.error("syslog worker %d died (exit code %s); starting it again on its spool",
                              index, proc.exitcode)
                    self.restarts += 1
                    self._spawn(self.plan, index)
        self.stop()
        total: dict[str, int] = {}
        for counts in self.done.values():
            for key, value in counts.items():
                total[key] = total.get(key, 0) + value
        return {**total, "workers": self.workers, "worker_restarts": self.restarts}

    def _drain(self, timeout: float) -> None:
        """Take the workers' messages for up to `timeout` seconds (done counters, late errors)."""
        with contextlib.suppress(queue.Empty):
            message = self.results.get(timeout=timeout)
            while True:
                if message[0] == "done":
                    self.done[message[1]] = message[2]
                elif message[0] == "error":
                    log.error("syslog worker %d: %s", message[1], message[3])
                    self.done.setdefault(message[1], {})
                message = self.results.get_nowait()

    def stop(self) -> None:
        """Ask every worker to stop and wait for each (its grace included) to report and exit."""
        self.shared_stop.set()
        limit = time.monotonic() + self.plan.grace + 60
        while any(p.is_alive() for p in self.procs.values()) and time.monotonic() < limit:
            self._drain(0.1)
        self._drain(0.1)
        for index, proc in self.procs.items():
            if proc.is_alive():
                log.error("syslog worker %d did not stop; killing it", index)
                proc.kill()
            proc.join(5)
