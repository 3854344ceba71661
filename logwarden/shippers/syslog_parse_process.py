"""The parse process of `ship syslog --parse-workers K` (its receiver's side:
logwarden/shippers/syslog_spread.py): it takes batches of raw frames from its queue, turns them
into events or dead letters as a receiver does, hands them to its own `SpoolingSink`, and tells
the receiver, through shared memory, which batches are settled (each message acknowledged by
Kafka or appended to the spool) and the verdicts of those, so that nothing the receiver forgets
was only in this process's memory.

Shared memory: FIELDS integers per slot (the process's position), written by its process only:
SETTLED (the last ticket whose batch and all before it are settled), HANDLING (the ticket being
handled now: a death blames that batch), PARSED and DEAD (settled verdicts, summed over the
slot's processes).

Log: every line a parse process logs starts with "syslog parse process N: " (`name_log_lines`):
its lines go to the receiver's stderr through the handlers it inherited at the fork, and its
sink says what a single receiver's would (Kafka refused, the spool replayed) about its own
producer and spool, so the K processes' lines must say whose they are (docs/architecture.md, 61).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any

from logwarden.errors import UsageError
from logwarden.safe_text import printable

log = logging.getLogger(__name__)

PRODUCER_WAIT = 5.0  # seconds a parse process waits for its producer before it says it is ready
TAKE_WAIT = 0.05  # seconds a parse process waits for a batch before it reports what settled meanwhile
PUBLISH_EVERY = 0.02  # seconds between two reports of what settled (each looks at every pending message)
PARSE_DEATHS = 3  # processes that died handling one batch before its messages become dead letters
# per slot, in shared memory: the last settled ticket, the ticket being handled, settled verdicts
SETTLED, HANDLING, PARSED, DEAD = range(4)
FIELDS = 4
Batch = tuple[int, str, str, list[bytes]]  # first sequence number, proto, sender, frames
OpenSink = Callable[[Any, Path, int], Any]  # (cfg, spool folder, spool size) -> a SpoolingSink


class _NamesItsProcess(logging.Filter):
    """Puts "syslog parse process N: " before the message of each record (once, whatever the
    number of handlers; the record's arguments are kept for the formatter)."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.prefix = f"syslog parse process {index}: "

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if not message.startswith(self.prefix):  # another handler's filter named it already
            record.msg = self.prefix + message  # no "%" in the prefix: record.args still apply
        return True


def name_log_lines(index: int, root: logging.Logger | None = None) -> None:
    """Have every log line of this process (the handlers of `root`, default the `logwarden`
    logger the CLI configured) name parse process `index`. Called in the forked process only."""
    for handler in (root or logging.getLogger("logwarden")).handlers:
        handler.addFilter(_NamesItsProcess(index))


@dataclass(frozen=True)
class ParsePlan:
    """What a parse process needs (picklable; the sink is made in the process)."""

    cfg: Any
    session: str
    spool_dir: Path
    spool_max: int
    grace: float
    producer_wait: float = PRODUCER_WAIT


class _Settling:
    """A parse process's side of the settlement: the ticket and verdicts of each batch handed to
    the sink, published (shared memory, `FIELDS` per slot) once the sink settled them."""

    def __init__(self, shared: Any, index: int, sink: Any) -> None:
        self.shared, self.base, self.sink = shared, index * FIELDS, sink
        self.waiting: deque[tuple[int, int, int, int]] = deque()  # ticket, sink mark, parsed, dead

    def handled(self, ticket: int, parsed: int, dead: int) -> None:
        self.waiting.append((ticket, self.sink.mark(), parsed, dead))

    def publish(self) -> None:
        """Report every batch whose messages are all settled (verdicts first, then the ticket: a
        death in between counts a re-handed batch twice, never loses one)."""
        if not self.waiting:
            return
        below = self.sink.settled_below()
        shared, base, waiting = self.shared, self.base, self.waiting
        while waiting and waiting[0][1] < below:
            ticket, _, parsed, dead = waiting.popleft()
            shared[base + PARSED] += parsed
            shared[base + DEAD] += dead
            shared[base + SETTLED] = ticket


def parse_process(plan: ParsePlan, open_sink: OpenSink, index: int, batches: Any, results: Any, stopping: MpEvent,
                   shared: Any) -> None:
    """A parse process's body: reports ("ready", index) or ("error", index, message), then
    ("done", index, counts) after the end marker, or ("crashed", index, reason) when an
    exception escapes (then exits 1). A batch on the queue is (ticket, poisoned, Batch)."""
    parent = os.getppid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the receiver stops it, after its queue is drained
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    name_log_lines(index)
    try:
        sink = open_sink(plan.cfg, plan.spool_dir, plan.spool_max)
    except UsageError as exc:
        results.put(("error", index, str(exc)))
        return
    try:
        _parse_loop(plan, sink, index, batches, results, stopping, shared, parent)
    except Exception as exc:  # noqa: BLE001 - a bug or MemoryError: the receiver re-hands what was not settled
        results.put(("crashed", index, f"{type(exc).__name__}: {printable(str(exc))[:300]}"))
        results.close()
        results.join_thread()
        os._exit(1)


def _parse_loop(plan: ParsePlan, sink: Any, index: int, batches: Any, results: Any, stopping: MpEvent,
                shared: Any, parent: int) -> None:
    from logwarden.shippers.syslog import SyslogServer

    # never started: it listens on nothing, the address only satisfies the constructor
    server = SyslogServer(sink, tcp=("127.0.0.1", 0), accepting=sink.accepting, session=plan.session)
    server.stop_event = stopping  # type: ignore[assignment]  # same is_set/wait, shared with the receiver
    settling = _Settling(shared, index, sink)
    deadline = time.monotonic() + plan.producer_wait
    while sink.spooling and time.monotonic() < deadline:  # Kafka away: spooled from the first message
        time.sleep(0.02)
    results.put(("ready", index))
    last_flush = last_publish = time.monotonic()
    counters = server.counters
    while True:
        try:
            item = batches.get(timeout=TAKE_WAIT)
        except queue.Empty:
            item = ()
            if os.getppid() != parent:  # the receiver died (killed): nothing more comes
                log.warning("the receiver is gone; closing")
                break
        if item is None:
            break
        if item:
            ticket, poisoned, (first, proto, peer, frames) = item
            shared[index * FIELDS + HANDLING] = ticket
            parsed, dead = counters.parsed, counters.dead
            if poisoned:
                _handle_as_dead_letters(server, frames, proto, peer, first)
            else:
                server.handle_frames(frames, proto, peer, first=first)
            shared[index * FIELDS + HANDLING] = 0
            settling.handled(ticket, counters.parsed - parsed, counters.dead - dead)
        now = time.monotonic()
        if now - last_publish >= PUBLISH_EVERY:
            settling.publish()
            last_publish = now
        if now - last_flush >= 1.0:
            sink.flush()
            last_flush = now
    sink.flush()
    spooled = sink.close(plan.grace)
    settling.publish()  # closed: every message acknowledged or spooled
    log.info("%d message(s) parsed, %d dead letter(s), %d dropped", counters.parsed, counters.dead,
             counters.dropped)
    results.put(("done", index, {**counters.as_dict(), **spooled.as_dict()}))


def _handle_as_dead_letters(server: Any, frames: list[bytes], proto: str, peer: str, first: int) -> None:
    """The batch PARSE_DEATHS processes died on: each frame a dead letter saying so, unparsed."""
    from logwarden.shippers.base import DeadLetter

    reason = f"{PARSE_DEATHS} parse processes died while handling the read this message came in; not parsed"
    parse = server.parse
    server.parse = lambda body, source, seq: DeadLetter(source, body, reason, "unknown", seq)
    try:
        server.handle_frames(frames, proto, peer, first=first)
    finally:
        server.parse = parse
