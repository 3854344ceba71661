"""`ship syslog --parse-workers K`: one receiver's messages parsed by K processes, so that a
single TCP connection (one device) is no longer bound to one core.

Why: SO_REUSEPORT (`--workers N`, logwarden/shippers/syslog_workers.py) spreads connections and
UDP flows, never one connection; parsing is ~80 % of a message's cost (docs/benchmarks.md).

- The receiving process keeps the sockets, the framer and the sequence numbers (ids do not
  depend on which process parsed a message) and counts `received`. Each read's frames (each
  UDP datagram's) go as one batch, (first sequence number, proto, sender, raw frames), to the
  parse processes in turn, through one bounded queue each (QUEUE_BATCHES reads of at most 256 KiB).
  A full queue makes the connection's thread wait: it reads nothing, TCP pushes back on the sender.
- A parse process is a `SyslogServer` that listens on nothing: it turns frames into events or
  dead letters exactly as a receiver does and hands them to its own `SpoolingSink` (its own
  producer, its own spool: worker 0 the spool folder itself, worker i `<spool>/parse-<i>`).
- Stop: the receiver stops reading; what it read is handed over (a full queue is waited for,
  the parse processes go on draining); then it sets the shared stop (a parse process waiting for
  spool room then drops and counts, as a receiver does at a stop) and sends an end marker to each
  queue; each process drains its queue, closes its sink (grace, then the spool) and reports.
- Accounting: received = parsed + dead + dropped + lost, where `lost` counts the messages handed
  to a parse process that died before handling them (what it held in memory, as for a receiver
  killed with -9; logged). Its spool is replayed at the next start. What it handled but Kafka
  had not acknowledged is lost with it, uncounted, as for a receiver killed with -9. A parse
  process is not started again (the receiver hands its share to the others); one whose
  receiver died closes its sink (pending messages to its spool) and exits.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any

from logwarden.errors import UsageError

log = logging.getLogger(__name__)

QUEUE_BATCHES = 32  # batches (one TCP read of at most 256 KiB, or one datagram) waiting per parse process
READY_TIMEOUT = 120.0  # seconds a parse process may take to open its spool and connect its producer
PRODUCER_WAIT = 5.0  # seconds a parse process waits for its producer before it says it is ready
PUT_WAIT = 0.1  # seconds between two looks at `finish` and at the process's life while its queue is full
SPOOL_SUBDIR = "parse-{}"
SUMMED = ("parsed", "dead", "udp", "tcp", "dropped")  # the parse processes' counters that add up

Batch = tuple[int, str, str, list[bytes]]  # first sequence number, proto, sender, frames
OpenSink = Callable[[Any, Path, int], Any]  # (cfg, spool folder, spool size) -> a SpoolingSink


@dataclass(frozen=True)
class ParsePlan:
    """What a parse process needs (picklable; the sink is made in the process)."""

    cfg: Any
    session: str
    spool_dir: Path
    spool_max: int
    grace: float


def spool_dir_of(base: Path, index: int) -> Path:
    """The spool folder of parse process `index` (0: the base folder itself)."""
    return base if index == 0 else base / SPOOL_SUBDIR.format(index)


class NoSink:
    """The receiving process's sink in spread mode: every message goes to a parse process."""

    def send(self, item: object) -> bool:
        raise AssertionError("a spreading receiver parses nothing itself")

    def flush(self) -> None:
        pass


def _parse_process(plan: ParsePlan, open_sink: OpenSink, index: int, batches: Any, results: Any, stopping: MpEvent,
                   done: Any) -> None:
    """A parse process's body: reports ("ready", index) or ("error", index, message), then
    ("done", index, counts) after the end marker. `done[index]`: messages handled so far."""
    import signal

    from logwarden.shippers.syslog import SyslogServer

    parent = os.getppid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the receiver stops it, after its queue is drained
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        sink = open_sink(plan.cfg, plan.spool_dir, plan.spool_max)
    except UsageError as exc:
        results.put(("error", index, str(exc)))
        return
    # never started: it listens on nothing, the address only satisfies the constructor
    server = SyslogServer(sink, tcp=("127.0.0.1", 0), accepting=sink.accepting, session=plan.session)
    server.stop_event = stopping  # type: ignore[assignment]  # same is_set/wait, shared with the receiver
    deadline = time.monotonic() + PRODUCER_WAIT
    while sink.spooling and time.monotonic() < deadline:  # Kafka away: spooled from the first message
        time.sleep(0.02)
    results.put(("ready", index))
    last_flush = time.monotonic()
    while True:
        try:
            batch = batches.get(timeout=1.0)
        except queue.Empty:
            batch = ()
            if os.getppid() != parent:  # the receiver died (killed): nothing more comes
                log.warning("syslog parse process %d: the receiver is gone; closing", index)
                break
        if batch is None:
            break
        if batch:
            first, proto, peer, frames = batch
            server.handle_frames(frames, proto, peer, first=first)
            done[index] += len(frames)
        if time.monotonic() - last_flush >= 1.0:
            sink.flush()
            last_flush = time.monotonic()
    sink.flush()
    spooled = sink.close(plan.grace)
    counters = server.counters
    log.info("syslog parse process %d: %d message(s) parsed, %d dead letter(s), %d dropped", index,
             counters.parsed, counters.dead, counters.dropped)
    results.put(("done", index, {**counters.as_dict(), **spooled.as_dict()}))


class Spreader:
    """The receiver's side: starts the parse processes (before any thread of the receiver), then
    hands them batches in turn (`put`) and collects their counters (`finish`)."""

    def __init__(self, plan: ParsePlan, processes: int, open_sink: OpenSink,
                 queue_batches: int = QUEUE_BATCHES) -> None:
        """`open_sink(cfg, spool_dir, spool_max)`: a parse process's sink (syslog_workers.open_sink;
        raises UsageError when its spool is in use)."""
        ctx = multiprocessing.get_context("fork")
        self.processes = processes
        self.queues = [ctx.Queue(queue_batches) for _ in range(processes)]
        self.results: Any = ctx.Queue()
        self.stopping = ctx.Event()
        self.done: Any = ctx.Array("q", processes, lock=False)  # each written by its own process only
        self.handed = [0] * processes
        self._lock = threading.Lock()
        self._next = 0
        self._putting = 0  # put calls under way (finish waits for them before the end markers)
        self.procs = [ctx.Process(target=_parse_process, name=f"syslog-parse-{i}",
                                  args=(plan_for(plan, i, processes), open_sink, i, self.queues[i], self.results,
                                        self.stopping, self.done), daemon=True)
                      for i in range(processes)]
        for proc in self.procs:
            proc.start()
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Raises UsageError (the processes stopped) when one could not open its spool."""
        ready: set[int] = set()
        deadline = time.monotonic() + READY_TIMEOUT
        while len(ready) < self.processes:
            try:
                message = self.results.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise UsageError(f"parse processes not ready after {READY_TIMEOUT:.0f} s") from None
            if message[0] == "error":
                self.kill()
                raise UsageError(message[2])
            ready.add(message[1])

    def put(self, batch: Batch) -> bool:
        """Hand one batch to the next live parse process, waiting while its queue is full (a
        receiver's stop request does not end the wait: what it read is handed, the parse
        processes drain their queues until `finish`); False (not handed) once `finish` began or
        when no parse process is alive."""
        with self._lock:
            index = self._next
            self._next = (index + 1) % self.processes
            self._putting += 1
        try:
            tried = 0
            while tried < self.processes:
                if self.stopping.is_set():
                    return False
                if self.procs[index].is_alive():
                    try:
                        self.queues[index].put(batch, timeout=PUT_WAIT)
                    except queue.Full:
                        continue
                    with self._lock:
                        self.handed[index] += len(batch[3])
                    return True
                tried += 1
                index = (index + 1) % self.processes
            return False
        finally:
            with self._lock:
                self._putting -= 1

    def finish(self, grace: float) -> dict[str, int]:
        """Stop the parse processes once they drained their queues; returns their counters summed,
        with `lost` (handed to a process that died before handling them) and `parse_died`."""
        self.stopping.set()  # a parse process waiting for spool room drops (counted) instead
        deadline = time.monotonic() + 2 * PUT_WAIT + 1
        while self._putting and time.monotonic() < deadline:  # no batch may follow an end marker
            time.sleep(PUT_WAIT / 10)
        for index, batches in enumerate(self.queues):
            if self.procs[index].is_alive():
                with contextlib.suppress(queue.Full):
                    batches.put(None, timeout=grace + 30)
        totals: dict[str, int] = {}
        reported: set[int] = set()
        deadline = time.monotonic() + grace + 60
        while len(reported) < self.processes and time.monotonic() < deadline:
            if all(i in reported or not p.is_alive() for i, p in enumerate(self.procs)) and self.results.empty():
                break
            try:
                message = self.results.get(timeout=0.5)
            except queue.Empty:
                continue
            if message[0] == "done":
                reported.add(message[1])
                for key, value in message[2].items():
                    if key != "received":
                        totals[key] = totals.get(key, 0) + value
        lost = died = 0
        for index, proc in enumerate(self.procs):
            proc.join(5)
            if index not in reported:
                died += 1
                lost += self.handed[index] - self.done[index]
                log.error("syslog parse process %d ended without reporting (exit code %s): %d message(s) handed "
                          "to it were not handled", index, proc.exitcode, self.handed[index] - self.done[index])
        totals["lost"], totals["parse_died"] = lost, died
        return totals

    def kill(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.kill()
            proc.join(5)


def plan_for(plan: ParsePlan, index: int, processes: int) -> ParsePlan:
    """`plan` for parse process `index` of `processes`: its own spool folder and share of the size."""
    return ParsePlan(plan.cfg, plan.session, spool_dir_of(plan.spool_dir, index),
                     max(1, plan.spool_max // processes), plan.grace)
