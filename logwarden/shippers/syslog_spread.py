"""`ship syslog --parse-workers K`: one receiver's messages parsed by K processes, so that a
single TCP connection (one device) is no longer bound to one core.

Why: SO_REUSEPORT (`--workers N`, logwarden/shippers/syslog_workers.py) spreads connections and
UDP flows, never one connection; parsing is ~80 % of a message's cost (docs/benchmarks.md).

- The receiving process keeps the sockets, the framer and the sequence numbers (ids do not
  depend on which process parsed a message) and counts `received`. Each read's frames (over UDP,
  one sender's datagrams of one take of the receive queue) go as one batch, (first sequence
  number, proto, sender, raw frames), to the parse processes in turn, through one bounded queue
  each (QUEUE_BATCHES reads of at most 256 KiB). A full queue is passed over; when all are full
  the connection's thread waits: it reads nothing, TCP pushes back on the sender.
- A parse process (logwarden/shippers/syslog_parse_process.py) is a `SyslogServer` that listens
  on nothing: it turns frames into events or dead letters exactly as a receiver does and hands
  them to its own `SpoolingSink` (its own producer, its own spool: slot 0 the spool folder
  itself, slot i `<spool>/parse-<i>`).
- Nothing is forgotten before it is settled. The receiver keeps every batch it handed to a
  process (numbered per process: its queue's order) until that process says the batch is
  settled: each of its messages acknowledged by Kafka or appended to the spool
  (`SpoolingSink.settled_below`; a spool survives its process and is replayed by the next one).
- A process that dies (SIGKILL, the kernel's OOM killer, an exception that escapes) is logged
  once with the reason, and started again on the same spool after a back-off (RESTART_BACKOFF,
  doubling up to RESTART_BACKOFF_MAX; back to the first step once a process lived
  STEADY_SECONDS). The batches it held and had not settled are re-handed to its successor, ahead
  of anything new; meanwhile the other processes take the new batches. Counted: `rehanded`
  (messages), `parse_restarts`. A batch that was being handled by PARSE_DEATHS processes that died
  is no longer parsed: its messages become dead letters saying so (no crash loop on one line).
- Guarantee: at least once. A re-handed message may already be in Kafka (acknowledged after the
  last report, or the process died between the two); the copy has the same id (the source names
  the receiver's session, the position is the receiver's sequence number, the raw bytes are the
  same: `base.event_id`), so the indexer keeps one document.
- Stop: the receiver stops reading; what it read is handed over (a full queue is waited for,
  the parse processes go on draining); then it sets the shared stop (a parse process waiting for
  spool room then drops and counts, as a receiver does at a stop) and sends an end marker to each
  queue; each process drains its queue, closes its sink (grace, then the spool) and reports. One
  that dies meanwhile is started again with its batches and an end marker.
- Accounting: received = parsed + dead + lost + what the receiver could not hand once the stop
  began (its `dropped`; a parse process's `dropped`, refused by a full spool at the stop, are
  among parsed + dead, as in a single receiver). `parsed` and `dead` count settled messages
  (shared memory, written by each process as its batches settle, so a process that dies keeps
  what it settled counted and its re-handed messages are not counted twice); `lost` counts what
  could not be re-handed before the stop's deadline (logged). Memory: the receiver
  holds what is not settled, normally the reads of the last ~0.1 s; while Kafka stalls, those
  taken in the 5 s before the sink starts spooling (its STALL_SECONDS), until their delivery fails (30 s)
  and they are spooled. A receiver killed with -9 loses what it held, as a single one does. Order: batches of one
  connection are parsed by different processes, so they reach Kafka out of arrival order (the
  sequence numbers, and so the ids, keep the order).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import queue
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logwarden.errors import UsageError
from logwarden.shippers.syslog_parse_process import (
    DEAD,
    FIELDS,
    HANDLING,
    PARSE_DEATHS,
    PARSED,
    SETTLED,
    Batch,
    OpenSink,
    ParsePlan,
    parse_process,
)

log = logging.getLogger(__name__)

QUEUE_BATCHES = 32  # batches (a TCP read, or a sender's datagrams of one take: <= 256 KiB) per parse process
READY_TIMEOUT = 120.0  # seconds a parse process may take to open its spool and connect its producer
RESTART_PRODUCER_WAIT = 1.0  # a restarted process's wait for its producer (first start: PRODUCER_WAIT)
PUT_WAIT = 0.1  # seconds between two looks at `finish` and at the process's life while its queue is full
WATCH_EVERY = 0.05  # seconds between two looks of the receiver at its parse processes
RESTART_BACKOFF = 0.5  # seconds before the first restart of a dead parse process
RESTART_BACKOFF_MAX = 10.0  # the back-off doubles per death up to this
STEADY_SECONDS = 60.0  # a process that lived this long died "for the first time" again (back-off reset)
SPOOL_SUBDIR = "parse-{}"
SUMMED = ("parsed", "dead", "udp", "tcp", "dropped")  # the parse processes' counters that add up



def spool_dir_of(base: Path, index: int) -> Path:
    """The spool folder of parse process `index` (0: the base folder itself)."""
    return base if index == 0 else base / SPOOL_SUBDIR.format(index)


class NoSink:
    """The receiving process's sink in spread mode: every message goes to a parse process."""

    def send(self, item: object) -> bool:
        raise AssertionError("a spreading receiver parses nothing itself")

    def flush(self) -> None:
        pass


def death_reason(exitcode: int | None, crash: str | None) -> str:
    """Why a parse process ended, for the log: the exception it reported, or its exit code."""
    if crash:
        return crash
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else str(-exitcode)
        extra = " (also what the kernel's OOM killer sends)" if exitcode == -signal.SIGKILL else ""
        return f"killed by {name}{extra}"
    return f"exit code {exitcode}"


@dataclass
class _Held:
    """A batch handed to a parse process and not yet settled; `deaths`: processes that died while
    handling it."""

    batch: Batch
    deaths: int = 0


@dataclass
class _Slot:
    """One parse process position: its current process and queue, and what it holds."""

    index: int
    proc: Any = None  # None while it waits for its restart
    queue: Any = None
    results: Any = None  # what the current process reports (its own: a process killed while
    # writing to a shared queue would leave that queue's lock held for every other process)
    tickets: int = 0  # batches put on the current queue
    unsettled: deque[tuple[int, _Held]] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: float = 0.0
    backoff: float = RESTART_BACKOFF
    restart_at: float = 0.0
    orphans: list[_Held] = field(default_factory=list)  # what its successor gets first
    crash: str | None = None  # the reason the current process sent before it exited
    ended: bool = False  # the end marker is on its queue
    report: dict[str, int] | None = None


class Spreader:
    """The receiver's side: starts the parse processes (before any thread of the receiver), hands
    them batches in turn (`put`), watches them (a thread: settled batches forgotten, dead
    processes restarted) and collects their counters (`finish`)."""

    def __init__(self, plan: ParsePlan, processes: int, open_sink: OpenSink,
                 queue_batches: int = QUEUE_BATCHES) -> None:
        """`open_sink(cfg, spool_dir, spool_max)`: a parse process's sink (syslog_workers.open_sink;
        raises UsageError when its spool is in use)."""
        self.ctx = multiprocessing.get_context("fork")
        self.plan, self.open_sink, self.processes, self.queue_batches = plan, open_sink, processes, queue_batches
        self.stopping = self.ctx.Event()
        # each slot's part is written by its process only (no lock)
        self.shared: Any = self.ctx.Array("q", processes * FIELDS, lock=False)
        self.slots = [_Slot(i) for i in range(processes)]
        self.rehanded = 0  # messages handed again after their process died
        self.restarts = 0
        self.lost = 0  # messages held by a dead process that no successor settled before the deadline
        self.settled_by_proto = {"udp": 0, "tcp": 0}
        self._lock = threading.Lock()
        self._next = 0
        self._putting = 0  # put calls under way (finish waits for them before the end markers)
        self._closed = False  # finish began: the receiver's batches are no longer taken
        self._watching = threading.Event()
        for slot in self.slots:
            self._spawn(slot)
        self._wait_ready()
        self._watcher = threading.Thread(target=self._watch, name="syslog-parse-watch", daemon=True)
        self._watching.set()
        self._watcher.start()

    # ------------------------------------------------------------------ processes
    def _spawn(self, slot: _Slot) -> None:
        """Start slot's next process on a new queue, its predecessor's unsettled batches first
        (and the end marker when the stop already sent one). Slot lock held, or no thread yet."""
        orphans, slot.orphans = slot.orphans, []
        slot.queue = self.ctx.Queue(self.queue_batches + len(orphans) + 1)  # the re-handed never wait
        slot.results = self.ctx.Queue()
        slot.tickets, slot.crash, slot.report = 0, None, None
        base = slot.index * FIELDS
        self.shared[base + SETTLED] = self.shared[base + HANDLING] = 0
        for held in orphans:
            self._enqueue(slot, held)
        if slot.ended:
            slot.queue.put_nowait(None)
        plan = plan_for(self.plan, slot.index, self.processes)
        if slot.started:  # a restart
            plan = dataclasses.replace(plan, producer_wait=RESTART_PRODUCER_WAIT)
        slot.proc = self.ctx.Process(target=parse_process, name=f"syslog-parse-{slot.index}",
                                     args=(plan, self.open_sink, slot.index, slot.queue, slot.results, self.stopping,
                                           self.shared), daemon=True)
        slot.proc.start()
        slot.started = time.monotonic()

    def _enqueue(self, slot: _Slot, held: _Held, timeout: float | None = None) -> None:
        """Put `held` on slot's queue with the next ticket (raises queue.Full). Slot lock held."""
        ticket = slot.tickets + 1
        slot.queue.put((ticket, held.deaths >= PARSE_DEATHS, held.batch), timeout=timeout)
        slot.tickets = ticket
        slot.unsettled.append((ticket, held))

    def _wait_ready(self) -> None:
        """Raises UsageError (the processes stopped) when one could not open its spool."""
        deadline = time.monotonic() + READY_TIMEOUT
        for slot in self.slots:
            try:
                message = slot.results.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise UsageError(f"parse processes not ready after {READY_TIMEOUT:.0f} s") from None
            if message[0] == "error":
                self.kill()
                raise UsageError(message[2])

    @staticmethod
    def _read_results(slot: _Slot) -> None:
        """Take what slot's process said: final counters, crash reason, a start error."""
        with contextlib.suppress(queue.Empty):
            while True:
                message = slot.results.get_nowait()
                if message[0] == "done":
                    slot.report = message[2]
                elif message[0] in ("crashed", "error"):
                    slot.crash = message[2]

    def _watch(self) -> None:
        """The watcher thread: forget settled batches, restart dead processes, until `finish` ends."""
        while self._watching.is_set():
            self.look()
            time.sleep(WATCH_EVERY)

    def look(self) -> None:
        """One look at every slot (the watcher's step; `finish` calls it too)."""
        now = time.monotonic()
        for slot in self.slots:
            with slot.lock:
                if slot.proc is not None:
                    self._read_results(slot)
                self._forget_settled(slot)
                proc = slot.proc
                if proc is not None and not proc.is_alive():
                    self._read_results(slot)  # what it said before it exited
                    if slot.report is None:
                        self._died(slot, now)
                    else:
                        slot.proc = None  # finished: reported, nothing left to hold
                if slot.proc is None and slot.report is None and now >= slot.restart_at:
                    self.restarts += 1
                    self._spawn(slot)
                    log.info("syslog parse process %d started again (pid %s), %d read(s) handed to it first",
                             slot.index, getattr(slot.proc, "pid", None), len(slot.unsettled))

    def _forget_settled(self, slot: _Slot) -> None:
        settled = self.shared[slot.index * FIELDS + SETTLED]
        unsettled = slot.unsettled
        while unsettled and unsettled[0][0] <= settled:
            batch = unsettled.popleft()[1].batch
            self.settled_by_proto["udp" if batch[1] == "udp" else "tcp"] += len(batch[3])

    def _died(self, slot: _Slot, now: float) -> None:
        """Slot's process died: its unsettled batches kept for its successor, a restart planned."""
        proc, base = slot.proc, slot.index * FIELDS
        handling = self.shared[base + HANDLING]
        held = [h for _, h in slot.unsettled]
        for ticket, entry in slot.unsettled:
            if ticket == handling:
                entry.deaths += 1
        messages = sum(len(h.batch[3]) for h in held)
        self.rehanded += messages
        slot.unsettled.clear()
        slot.orphans = held + slot.orphans
        if now - slot.started >= STEADY_SECONDS:
            slot.backoff = RESTART_BACKOFF
        slot.restart_at = now + slot.backoff
        log.error("syslog parse process %d (pid %s) died: %s; %d message(s) it held not yet settled in Kafka or "
                  "its spool go to the process that replaces it in %.1f s", slot.index, proc.pid,
                  death_reason(proc.exitcode, slot.crash), messages, slot.backoff)
        slot.backoff = min(slot.backoff * 2, RESTART_BACKOFF_MAX)
        slot.proc = None
        with contextlib.suppress(Exception):
            slot.queue.cancel_join_thread()  # its feeder may block on a pipe nobody reads: never waited for
        proc.join(0)

    # ------------------------------------------------------------------ the receiver's side
    def put(self, batch: Batch) -> bool:
        """Hand one batch to the next live parse process whose queue has room, waiting while
        every queue is full or no process is alive (a receiver's stop request does not end the
        wait: what it read is handed, the parse processes drain their queues until `finish`);
        False (not handed) once `finish` began."""
        with self._lock:
            index = self._next
            self._next = (index + 1) % self.processes
            self._putting += 1
        held = _Held(batch)
        wait = PUT_WAIT / self.processes
        down = 0  # processes in a row found being restarted
        try:
            while not self._closed:
                slot = self.slots[index]
                with slot.lock:
                    running = slot.proc is not None and not slot.ended
                    if running:
                        try:
                            self._enqueue(slot, held, wait)
                        except queue.Full:  # that one is behind (or stopped): the next one
                            pass
                        else:
                            return True
                down = 0 if running else down + 1
                if down >= self.processes:  # every one is being restarted
                    time.sleep(PUT_WAIT)
                    down = 0
                index = (index + 1) % self.processes
            return False
        finally:
            with self._lock:
                self._putting -= 1

    def finish(self, grace: float) -> dict[str, int]:
        """Stop the parse processes once they drained their queues (one that dies meanwhile is
        started again with what it held); returns their counters summed, with `rehanded`,
        `parse_restarts`, `lost` and `parse_died` (processes that never reported)."""
        self._closed = True
        deadline = time.monotonic() + 2 * PUT_WAIT + 1
        while self._putting and time.monotonic() < deadline:  # no batch may follow an end marker
            time.sleep(PUT_WAIT / 10)
        self.stopping.set()  # a parse process waiting for spool room drops (counted) instead
        deadline = time.monotonic() + grace + 60
        unmarked = list(self.slots)
        while unmarked and time.monotonic() < deadline:  # a full queue: its process drains it
            for slot in list(unmarked):
                with slot.lock:
                    if slot.proc is not None:
                        try:
                            slot.queue.put(None, timeout=PUT_WAIT)
                        except queue.Full:
                            continue
                    slot.ended = True  # a slot being restarted: its next process gets the marker
                    unmarked.remove(slot)
        while time.monotonic() < deadline and any(s.report is None for s in self.slots):
            time.sleep(WATCH_EVERY)
            if not self._watcher.is_alive():
                self.look()
        self._watching.clear()
        self._watcher.join(5)
        self.look()
        return self._totals()

    def _totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        died = 0
        for slot in self.slots:
            if slot.report is None:
                died += 1
                left = [h for _, h in slot.unsettled] + slot.orphans
                lost = sum(len(h.batch[3]) for h in left)
                self.lost += lost
                log.error("syslog parse process %d did not finish before the deadline: %d message(s) it held were "
                          "not settled", slot.index, lost)
                if slot.proc is not None and slot.proc.is_alive():
                    slot.proc.kill()
                continue
            for key, value in slot.report.items():
                if key not in ("received", "parsed", "dead", "udp", "tcp"):
                    totals[key] = totals.get(key, 0) + value
            if slot.proc is not None:
                slot.proc.join(5)
        for slot in self.slots:  # settled verdicts, those of processes that died included
            base = slot.index * FIELDS
            totals["parsed"] = totals.get("parsed", 0) + self.shared[base + PARSED]
            totals["dead"] = totals.get("dead", 0) + self.shared[base + DEAD]
        totals.update(self.settled_by_proto)
        totals.update(rehanded=self.rehanded, parse_restarts=self.restarts, lost=self.lost, parse_died=died)
        return totals

    def kill(self) -> None:
        self._watching.clear()
        for slot in self.slots:
            proc = slot.proc
            if proc is not None:
                if proc.is_alive():
                    proc.kill()
                proc.join(5)


def plan_for(plan: ParsePlan, index: int, processes: int) -> ParsePlan:
    """`plan` for parse process `index` of `processes`: its own spool folder and share of the size."""
    return dataclasses.replace(plan, spool_dir=spool_dir_of(plan.spool_dir, index),
                               spool_max=max(1, plan.spool_max // processes))
