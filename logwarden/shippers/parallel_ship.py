"""`ship evtx --workers N`: the files shipped by N worker processes, one checkpoint file.

Why processes: parsing a Windows event is Python code bound to one core; files are independent,
so N processes, each with its own Kafka producer, scale with the cores.

- Work list: the files, largest first, in a shared queue; each worker takes the next file when it
  has finished one (a folder of one huge and many small files still keeps every worker busy).
- Checkpoints unchanged: each worker runs the same loop as one process (logwarden/shippers/ship.py)
  and, after Kafka acknowledged a batch, sends the checkpoint entries of that batch to the
  supervisor, the only writer of the checkpoint file (atomic, as before). A checkpoint therefore
  never counts a record Kafka has not acknowledged; a SIGKILL repeats records (same ids: one
  document in Elasticsearch) and skips none.
- A worker dies with the supervisor (PR_SET_PDEATHSIG), so a killed run leaves no orphan producing.
- Summaries are summed; a worker's Kafka error stops the others and is raised as one error.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import queue
import signal
import traceback
from collections.abc import Callable, Iterable
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

    def __init__(self, file: Path, data: dict[str, dict[str, Any]], results: Any) -> None:
        self.file = file
        self.data = dict(data)
        self.results = results
        self._changed: dict[str, dict[str, Any]] = {}

    def update(self, path: Path, fp: str, records: int, complete: bool = False, save: bool = True) -> None:
        super().update(path, fp, records, complete=complete, save=False)
        key = str(path.resolve())
        self._changed[key] = self.data[key]
        if save:
            self.save()

    def save(self) -> None:
        if self._changed:
            self.results.put(("checkpoint", dict(self._changed)))
            self._changed.clear()


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _worker(work: Any, results: Any, iter_file: IterFile, make_sink: Callable[[], Sink],
            close_sink: Callable[[Any], None], checkpoint_file: Path | None,
            checkpoint_data: dict[str, dict[str, Any]] | None) -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides; Ctrl-C reaches the whole group
    from logwarden.kafka_io import DeliveryError, KafkaError

    checkpoints = (_ForwardedCheckpoints(checkpoint_file, checkpoint_data or {}, results)
                   if checkpoint_file is not None else None)
    try:
        sink = make_sink()
        try:
            summary = ship_files(iter(work.get, None), iter_file, sink, checkpoints, progress=False)
        finally:
            close_sink(sink)
    except (DeliveryError, KafkaError) as exc:
        results.put(("error", "server", str(exc)))
        return
    except Exception as exc:  # noqa: BLE001 - reported to the supervisor, which raises it as a bug
        results.put(("error", "bug", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        return
    results.put(("done", summary))


def _by_size(paths: Iterable[Path]) -> list[Path]:
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
    ctx = multiprocessing.get_context("fork")
    work = ctx.Queue()
    results = ctx.Queue()
    files = _by_size(paths)
    for path in files:
        work.put(path)
    for _ in range(workers):
        work.put(None)
    procs = [ctx.Process(target=_worker, name=f"ship-worker-{i}",
                         args=(work, results, iter_file, make_sink, close_sink,
                               checkpoints.file if checkpoints else None, checkpoints.data if checkpoints else None))
             for i in range(min(workers, max(1, len(files))))]
    for proc in procs:
        proc.start()
    summaries: list[ShipSummary] = []
    failure: WorkerFailed | None = None
    try:
        while len(summaries) < len(procs) and failure is None:
            try:
                message = results.get(timeout=1.0)
            except queue.Empty:
                dead = [p for p in procs if not p.is_alive() and p.exitcode != 0]
                if dead and results.empty():
                    failure = WorkerFailed("bug", f"{dead[0].name} died (exit code {dead[0].exitcode})")
                continue
            if message[0] == "checkpoint" and checkpoints is not None:
                checkpoints.data.update(message[1])
                checkpoints.save()
            elif message[0] == "done":
                summaries.append(message[1])
            elif message[0] == "error":
                failure = WorkerFailed(message[1], message[2])
    finally:
        if failure is not None or len(summaries) < len(procs):
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
    return merge(summaries)
