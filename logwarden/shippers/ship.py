"""Ship files to a sink with checkpoints: the loop behind `logwarden ship evtx`.

Per file: skip the records a previous run already delivered (checkpoint), send the rest,
flush and checkpoint every `every` records, mark the file complete at the end. A crash or a
SIGKILL loses at most the records since the last checkpoint, which the next run sends again
(same deterministic ids: Elasticsearch keeps one copy).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from logwarden.shippers.base import DeadLetter, Event, Sink
from logwarden.shippers.checkpoint import Checkpoints, fingerprint

IterFile = Callable[[Path, int], Iterator[Event | DeadLetter]]


@dataclass
class ShipSummary:
    files: int = 0
    records: int = 0  # records read this run (events + dead letters)
    produced: int = 0  # events acknowledged by Kafka
    dead_letters: int = 0
    already_shipped: int = 0  # records skipped thanks to the checkpoint
    unreadable_files: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    per_file: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reasons"] = dict(self.reasons.most_common())
        return d


_NO_LOG: dict[str, Any] = {}


def _reason_key(reason: str) -> str:
    return reason.split(":", 1)[0][:80]


def ship_files(paths: Iterable[Path], iter_file: IterFile, sink: Sink, checkpoints: Checkpoints | None,
               every: int = 5000, progress: bool = True) -> ShipSummary:
    """Ship every file; flush + checkpoint every `every` records (not per file: a flush waits for
    the broker, and per-file flushes dominated the run time on folders of small files)."""
    from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs installed

    summary = ShipSummary()
    pending: dict[Path, tuple[str, int, bool]] = {}  # progress not yet acknowledged by Kafka
    unflushed = 0

    def commit() -> None:
        nonlocal unflushed
        sink.flush()
        if checkpoints and pending:
            for p, (fp, last, complete) in pending.items():
                checkpoints.update(p, fp, last, complete=complete, save=False)
            checkpoints.save()
        pending.clear()
        unflushed = 0

    bar = tqdm(unit=" rec", disable=not (progress and sys.stderr.isatty()), file=sys.stderr)
    counting = not bar.disable  # a disabled bar's update() is still a call per record
    try:
        for path in paths:
            summary.files += 1
            try:
                fp = fingerprint(path)
            except OSError as exc:
                summary.unreadable_files += 1
                summary.reasons[f"unreadable file: {exc.strerror}"] += 1
                continue
            skip = checkpoints.done(path, fp) if checkpoints else 0
            summary.already_shipped += skip
            stats = {"events": 0, "dead_letters": 0, "skipped": skip}
            last = skip
            bar.set_description(path.name[:40])
            path_text = str(path)
            events = dead_letters = 0  # counted in locals: the per-record path of every worker
            for item in iter_file(path, skip):
                if isinstance(item, DeadLetter):
                    dead_letters += 1
                    summary.reasons[_reason_key(item.reason)] += 1
                else:
                    log_file = item.doc.get("log", _NO_LOG).get("file")
                    if log_file is None or "path" not in log_file:  # the Windows reader sets it already
                        item.doc.setdefault("log", {}).setdefault("file", {}).setdefault("path", path_text)
                    events += 1
                sink.send(item)
                if item.position > last:
                    last = item.position
                if counting:
                    bar.update()
                unflushed += 1
                if unflushed >= every:
                    pending[path] = (fp, last, False)
                    commit()
            stats["events"], stats["dead_letters"] = events, dead_letters
            pending[path] = (fp, last, True)
            summary.records += events + dead_letters
            summary.produced += events
            summary.dead_letters += dead_letters
            summary.per_file[path_text] = stats
        commit()
    finally:
        bar.close()
    return summary
