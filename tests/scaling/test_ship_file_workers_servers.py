"""`ship file --workers 2` over several firewall/AV log files on the real Kafka: killed with
SIGKILL in the middle of a run and run again, every record of every file is in Kafka (an event or
a dead letter, by id, nothing else), records in = events + dead letters, and the rerun sent
exactly the records after each file's checkpoint (each file's own state file, written after Kafka
acknowledged its batch): repeated records are possible in principle, skipped ones never."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logwarden.shippers.base import DeadLetter, ListSink
from tests.reconcile import corpus
from tests.support.cli import cli, popen, shipped
from tests.support.sigkill import ids_in_kafka, sigkill_when

pytestmark = pytest.mark.servers

FILES = 5
PER_FILE = 6_000  # six FileTail batches (1,000 lines) per file


def _items(path: Path) -> list:
    """What one process reads from the file (FileTail, no checkpoint): events, then dead letters."""
    from logwarden.shippers.filetail import FileTail

    sink = ListSink()
    FileTail(str(path), "auto", sink, None).run()
    return [*sink.events, *sink.dead]


def _checkpoints(state_dir: Path) -> dict[str, int]:
    """path -> checkpointed offset, from the per-file state files written so far."""
    out: dict[str, int] = {}
    for f in state_dir.glob("ship-file-auto-*.json"):
        try:
            data = json.loads(f.read_text() or "{}")
        except ValueError:  # never: the state is written atomically
            raise AssertionError(f"a torn state file: {f}") from None
        if data.get("path"):
            out[data["path"]] = int(data.get("offset") or 0)
    return out


def test_sigkill_and_rerun_with_two_workers_reconcile(ns, tmp_path: Path) -> None:
    from logwarden.kafka_io import to_message

    folder = tmp_path / "logs"
    folder.mkdir()
    records_in = 0
    paths = []
    for k in range(FILES):
        records = corpus.text_records(900 + k, PER_FILE, long_line=0)
        path = folder / f"fw{k}.log"
        path.write_bytes(corpus.text_file(records, 900 + k))
        records_in += len(records)
        paths.append(str(path))
    items = {p: _items(Path(p)) for p in paths}
    assert sum(len(v) for v in items.values()) == records_in, "one item per record"
    dead_in = sum(isinstance(i, DeadLetter) for v in items.values() for i in v)
    assert 0 < dead_in < records_in
    state_dir = Path(ns.state_path)

    proc = popen(ns, "ship", "file", *paths, "--source", "auto", "--workers", "2", "--json")
    workers = sigkill_when(proc, lambda: any(_checkpoints(state_dir).values()))  # a first acknowledged batch
    assert len(workers) == 2, "two worker processes"
    offsets = _checkpoints(state_dir)
    delivered = sum(1 for p, v in items.items() for i in v if i.position < offsets.get(p, 0))
    assert 0 < delivered < records_in

    summary = shipped(cli(ns, "ship", "file", *paths, "--source", "auto", "--workers", "2", "--json"))
    assert summary["files"] == FILES
    assert summary["sent"] == records_in - delivered, "the rerun resumes at every file's checkpoint"
    assert summary["sent"] == summary["parsed"] + summary["dead"]
    wanted = {to_message(ns, i).id.encode() for v in items.values() for i in v}
    in_kafka = ids_in_kafka(ns, ("windows", "firewall", "av", "deadletter"), wanted)
    assert in_kafka == wanted, "every record in Kafka, nothing else"

    again = shipped(cli(ns, "ship", "file", *paths, "--source", "auto", "--workers", "2", "--json"))
    assert again == {"files": FILES, "sent": 0, "parsed": 0, "dead": 0}
