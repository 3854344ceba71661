"""`ship evtx --workers N` and `ship file --workers N`: files shipped by N worker processes.

Why processes: parsing a Windows event is Python code bound to one core; files are independent,
so N processes, each with its own Kafka producer, scale with the cores.

- Work list: the files, largest first, in a shared queue; each worker takes the next file when it
  has finished one (a folder of one huge and many small files still keeps every worker busy).
- Checkpoints unchanged: each worker runs the same loop as one process (logwarden/shippers/ship.py)
  and, after Kafka acknowledged a batch, sends the checkpoint entries of that batch to the
  supervisor, the only writer of the checkpoint file (atomic, as before). A checkpoint therefore
  never counts a record Kafka has not acknowledged; a SIGKILL repeats records (same ids: one
  document in Elasticsearch) and skips none.
- `ship file` (`run_workers` with logwarden/shippers/filetail.py's FileTail per file): each file has
  its own state file, written by the one worker that reads the file, after its batch was flushed,
  exactly as one process does; the supervisor only hands out files and sums the counts.
- A worker dies with the supervisor (PR_SET_PDEATHSIG), so a killed run leaves no orphan producing.
- Summaries are summed; a worker's Kafka error stops the others and is raised as one error (a
  Kafka that does not answer too: each worker's first act is to connect its producer, so no probe
  connection of the supervisor's delays the start).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import queue
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from logwarden.shippers.base import Sink
from logwarden.shippers.checkpoint import Checkpoints
from logwarden.shippers.ship import IterFile, ShipSummary, ship_files

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


class WorkerFailed(Exception):
    """A worker stopped on an error; `kind` is "server" (Kafka) or "bug"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _ForwardedCheckpoints(Checkpoints):
    """A worker's view of the checkpoints: reads the state loaded at start, and `save()` sends
    the entries updated since the last save to the supervisor instead of writing the file."""

    def __init__(self, file: Path, data: dict[str, dict[str, Any]], send: Callable[[Any], None]) -> None:
        self.file = file
        self.data = dict(data)
        self.send = send
        self._changed: dict[str, dict[str, Any]] = {}

    def update(self, path: Path, fp: str, records: int, complete: bool = False, save: bool = True) -> None:
        super().update(path, fp, records, complete=complete, save=False)
        key = str(path.resolve())
        self._changed[key] = self.data[key]
        if save:
            self.save()

    def save(self) -> None:
        if self._changed:
            self.send(dict(self._changed))
            self._changed.clear()


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; elsewhere a no-op)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


# what a worker runs: (its share of the work items, its sink, send-to-supervisor) -> its result
Work = Callable[[Iterator[Any], Sink, Callable[[Any], None]], Any]


def _worker(work_items: Any, results: Any, work: Work, make_sink: Callable[[], Sink],
            close_sink: Callable[[Any], None]) -> None:
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides; Ctrl-C reaches the whole group
    from logwarden.errors import ServerError
    from logwarden.kafka_io import DeliveryError, KafkaError

    def send(message: Any) -> None:
        results.put(("message", message))

    try:
        sink = make_sink()
        try:
            result = work(iter(work_items.get, None), sink, send)
        finally:
            close_sink(sink)
    except (DeliveryError, KafkaError, ServerError) as exc:  # ServerError: make_sink found Kafka unreachable
        results.put(("error", "server", str(exc)))
        return
    except Exception as exc:  # noqa: BLE001 - reported to the supervisor, which raises it as a bug
        results.put(("error", "bug", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        return
    results.put(("done", result))


def by_size(paths: Iterable[Path]) -> list[Path]:
    """The paths, largest file first (an unreadable one last: its worker counts it)."""
    def size(p: Path) -> int:
        try:
            return p.stat().st_size
        except OSError:
            return 0  # unreadable: the worker counts it
    return sorted(paths, key=size, reverse=True)


def merge(summaries: list[ShipSummary]) -> ShipSummary:
    """The sum of the workers' summaries."""
    total = ShipSummary()
    for s in summaries:
        total.files += s.files
        total.records += s.records
        total.produced += s.produced
        total.dead_letters += s.dead_letters
        total.already_shipped += s.already_shipped
        total.unreadable_files += s.unreadable_files
        total.reasons.update(s.reasons)
        total.per_file.update(s.per_file)
    return total


def ship_files_parallel(paths: Iterable[Path], iter_file: IterFile, make_sink: Callable[[], Sink],
                        close_sink: Callable[[Any], None], checkpoints: Checkpoints | None,
                        workers: int) -> ShipSummary:
    """Ship every file with `workers` processes (fork: they share the loaded parsers); returns the
    summed summary. Checkpoints are written here only (see the module docstring).

    Raises:
        WorkerFailed: a worker met a Kafka error ("server") or a bug; the others were stopped.
        OutputError: the checkpoint file cannot be written.
    """
    file = checkpoints.file if checkpoints else None
    data = checkpoints.data if checkpoints else None

    def work(items: Iterator[Path], sink: Sink, send: Callable[[Any], None]) -> ShipSummary:
        forwarded = _ForwardedCheckpoints(file, data or {}, send) if file is not None else None
        return ship_files(items, iter_file, sink, forwarded, progress=False)

    def checkpointed(entries: dict[str, dict[str, Any]]) -> None:
        if checkpoints is not None:
            checkpoints.data.update(entries)
            checkpoints.save()

    return merge(run_workers(by_size(paths), work, make_sink, close_sink, workers, checkpointed))


def run_workers(items: Iterable[Any], work: Work, make_sink: Callable[[], Sink], close_sink: Callable[[Any], None],
                workers: int, on_message: Callable[[Any], None] | None = None) -> list[Any]:
    """Hand `items` (in this order) to `workers` forked processes, each running `work` over the
    items it takes with its own sink; `on_message` receives what a worker sends, in this process.
    Returns the workers' results (one per worker started: at most one per item).

    Raises:
        WorkerFailed: a worker met a Kafka error ("server"), a bug, or died; the others were stopped.
    """
    ctx = multiprocessing.get_context("fork")
    work_items = ctx.Queue()
    results = ctx.Queue()
    todo = list(items)
    for item in todo:
        work_items.put(item)
    for _ in range(workers):
        work_items.put(None)
    procs = [ctx.Process(target=_worker, name=f"ship-worker-{i}",
                         args=(work_items, results, work, make_sink, close_sink))
             for i in range(min(workers, max(1, len(todo))))]
    for proc in procs:
        proc.start()
    done: list[Any] = []
    failure: WorkerFailed | None = None
    try:
        while len(done) < len(procs) and failure is None:
            try:
                message = results.get(timeout=1.0)
            except queue.Empty:
                dead = [p for p in procs if not p.is_alive() and p.exitcode != 0]
                if dead and results.empty():
                    failure = WorkerFailed("bug", f"{dead[0].name} died (exit code {dead[0].exitcode})")
                continue
            if message[0] == "message":
                if on_message is not None:
                    on_message(message[1])
            elif message[0] == "done":
                done.append(message[1])
            elif message[0] == "error":
                failure = WorkerFailed(message[1], message[2])
    finally:
        if failure is not None or len(done) < len(procs):
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
    if failure is not None:
        raise failure
    return done
