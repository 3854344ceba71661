"""`ship file --workers 2` over several firewall/AV log files on the real Kafka: killed with
SIGKILL in the middle of a run and run again, every record of every file is in Kafka (an event or
a dead letter, by id, nothing else), records in = events + dead letters, and the rerun sent
exactly the records after each file's checkpoint (each file's own state file, written after Kafka
acknowledged its batch): repeated records are possible in principle, skipped ones never."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from logwarden.kafka_io import client_options
from logwarden.shippers.base import DeadLetter, ListSink
from tests.reconcile import corpus
from tests.support.cli import cli, popen, shipped

pytestmark = pytest.mark.servers

FILES = 5
PER_FILE = 6_000  # six FileTail batches (1,000 lines) per file


def _items(path: Path) -> list:
    """What one process reads from the file (FileTail, no checkpoint): events, then dead letters."""
    from logwarden.shippers.filetail import FileTail

    sink = ListSink()
    FileTail(str(path), "auto", sink, None).run()
    return [*sink.events, *sink.dead]


def _ids(cfg, wanted: set[bytes], timeout: float = 180) -> set[bytes]:
    """The distinct `id` headers in the namespace's topics, read until `wanted` are all there (or
    `timeout`), plus anything a few seconds later."""
    from kafka import KafkaConsumer

    topics = [cfg.topic(t) for t in ("windows", "firewall", "av", "deadletter")]
    consumer = KafkaConsumer(*topics, **client_options(cfg), auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None)
    ids: set[bytes] = set()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not wanted <= ids:
            for msgs in consumer.poll(timeout_ms=1000).values():
                ids.update(dict(m.headers)["id"] for m in msgs)
        for msgs in consumer.poll(timeout_ms=3000).values():
            ids.update(dict(m.headers)["id"] for m in msgs)
    finally:
        consumer.close()
    return ids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


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
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:  # a first acknowledged batch
        if any(_checkpoints(state_dir).values()):
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()[1][-2000:]}"
    children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    assert len(children) == 2, "two worker processes"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    for _ in range(100):  # the workers die with the supervisor (no orphan keeps producing)
        if not any(_alive(c) for c in children):
            break
        time.sleep(0.1)
    assert not any(_alive(c) for c in children), "orphan workers"
    offsets = _checkpoints(state_dir)
    delivered = sum(1 for p, v in items.items() for i in v if i.position < offsets.get(p, 0))
    assert 0 < delivered < records_in

    summary = shipped(cli(ns, "ship", "file", *paths, "--source", "auto", "--workers", "2", "--json"))
    assert summary["files"] == FILES
    assert summary["sent"] == records_in - delivered, "the rerun resumes at every file's checkpoint"
    assert summary["sent"] == summary["parsed"] + summary["dead"]
    wanted = {to_message(ns, i).id.encode() for v in items.values() for i in v}
    assert _ids(ns, wanted) == wanted, "every record in Kafka, nothing else"

    again = shipped(cli(ns, "ship", "file", *paths, "--source", "auto", "--workers", "2", "--json"))
    assert again == {"files": FILES, "sent": 0, "parsed": 0, "dead": 0}
