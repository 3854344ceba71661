"""`ship evtx --workers 2` on the real Kafka: killed with SIGKILL in the middle of a run and run
again, every record of every file is in Kafka (events and dead letters, by id) and the rerun
skipped what the checkpoint says was delivered: the one checkpoint file, written by the
supervisor after Kafka acknowledged the workers' batches, repeats records but skips none."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from logwarden.kafka_io import client_options
from tests.reconcile import corpus
from tests.support.cli import cli, popen

pytestmark = pytest.mark.servers

FILES = 6
PER_FILE = 7_000  # more than one checkpoint batch (5,000 records) per file


def _expected_ids(cfg, folder: Path) -> set[bytes]:
    """The ids of every record of the folder's files, as one process reads them (Windows events
    have ids from their content, so identical events of two files are one id)."""
    from logwarden.kafka_io import to_message
    from logwarden.shippers.windows import iter_file

    return {to_message(cfg, item).id.encode() for path in sorted(folder.iterdir()) for item in iter_file(path, skip=0)}


def _ids(cfg, wanted: set[bytes], timeout: float = 180) -> set[bytes]:
    """The distinct `id` headers in the namespace's Windows and dead-letter topics, read until
    `wanted` are all there (or `timeout`), plus anything a few seconds later."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(cfg.topic("windows"), cfg.topic("deadletter"), **client_options(cfg),
                             auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
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


def test_sigkill_and_rerun_with_two_workers_reconcile(ns, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    total = 0
    for k in range(FILES):
        body, records = corpus.windows_json_lines(500 + k, PER_FILE)
        first = json.dumps(corpus._evtx_dump(0, "bob")).encode() + b"\n"  # the format is told by line 1
        (folder / f"host{k}.json").write_bytes(first + body)
        total += records + 1
    state = tmp_path / "ship.json"
    proc = popen(ns, "ship", "evtx", str(folder), "--workers", "2", "--state", str(state), "--json", "--no-progress")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:  # the first acknowledged batch
        if state.exists() and json.loads(state.read_text() or "{}"):
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()[1][-2000:]}"
    children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    assert len(children) >= 2, "two worker processes"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    checkpoint = json.loads(state.read_text())
    delivered = sum(int(entry["records"]) for entry in checkpoint.values())
    assert 0 < delivered < total
    for _ in range(100):  # the workers die with the supervisor (no orphan keeps producing)
        if not any(_alive(c) for c in children):
            break
        time.sleep(0.1)
    assert not any(_alive(c) for c in children), "orphan workers"

    rerun = cli(ns, "ship", "evtx", str(folder), "--workers", "2", "--state", str(state), "--json", "--no-progress")
    assert "Traceback" not in rerun.stderr, rerun.stderr[-3000:]
    assert rerun.returncode == 1, rerun.stderr[-3000:]  # the corpus holds dead letters
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert summary["already_shipped"] >= delivered, "the rerun skips every record the checkpoint counts"
    assert summary["records"] + summary["already_shipped"] == total
    assert summary["files"] == FILES and summary["unreadable_files"] == 0
    wanted = _expected_ids(ns, folder)
    assert _ids(ns, wanted) == wanted, "every record in Kafka, nothing else"

    again = cli(ns, "ship", "evtx", str(folder), "--workers", "2", "--state", str(state), "--json", "--no-progress")
    assert json.loads(again.stdout.strip().splitlines()[-1])["already_shipped"] == total
