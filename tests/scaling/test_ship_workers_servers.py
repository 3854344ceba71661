"""`ship evtx --workers 2` on the real Kafka: killed with SIGKILL in the middle of a run and run
again, every record of every file is in Kafka (events and dead letters, by id) and the rerun
skipped what the checkpoint says was delivered: the one checkpoint file, written by the
supervisor after Kafka acknowledged the workers' batches, repeats records but skips none."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reconcile import corpus
from tests.support.cli import cli, popen
from tests.support.sigkill import ids_in_kafka, sigkill_when

pytestmark = pytest.mark.servers

FILES = 6
PER_FILE = 7_000  # more than one checkpoint batch (5,000 records) per file


def _expected_ids(cfg, folder: Path) -> set[bytes]:
    """The ids of every record of the folder's files, as one process reads them (Windows events
    have ids from their content, so identical events of two files are one id)."""
    from logwarden.kafka_io import to_message
    from logwarden.shippers.windows import iter_file

    return {to_message(cfg, item).id.encode() for path in sorted(folder.iterdir()) for item in iter_file(path, skip=0)}


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
    workers = sigkill_when(proc, lambda: state.exists() and bool(json.loads(state.read_text() or "{}")))
    assert len(workers) >= 2, "two worker processes"
    checkpoint = json.loads(state.read_text())
    delivered = sum(int(entry["records"]) for entry in checkpoint.values())
    assert 0 < delivered < total

    rerun = cli(ns, "ship", "evtx", str(folder), "--workers", "2", "--state", str(state), "--json", "--no-progress")
    assert "Traceback" not in rerun.stderr, rerun.stderr[-3000:]
    assert rerun.returncode == 1, rerun.stderr[-3000:]  # the corpus holds dead letters
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert summary["already_shipped"] >= delivered, "the rerun skips every record the checkpoint counts"
    assert summary["records"] + summary["already_shipped"] == total
    assert summary["files"] == FILES and summary["unreadable_files"] == 0
    wanted = _expected_ids(ns, folder)
    assert ids_in_kafka(ns, ("windows", "deadletter"), wanted) == wanted, "every record in Kafka, nothing else"

    again = cli(ns, "ship", "evtx", str(folder), "--workers", "2", "--state", str(state), "--json", "--no-progress")
    assert json.loads(again.stdout.strip().splitlines()[-1])["already_shipped"] == total


def _small_folder(folder: Path) -> Path:
    """Two small JSON-lines files: something for each of two workers to take."""
    folder.mkdir()
    for k in range(2):
        body, _records = corpus.windows_json_lines(900 + k, 10)
        first = json.dumps(corpus._evtx_dump(0, "bob")).encode() + b"\n"
        (folder / f"host{k}.json").write_bytes(first + body)
    return folder


def _one_error_line(proc, *needles: str) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert lines and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    for needle in needles:
        assert needle in lines[-1], lines[-1]
    return lines[-1]


def test_two_workers_and_kafka_not_listening_is_exit_3(ns, tmp_path: Path, refused_port: Callable[[], int]) -> None:
    """Kafka down with workers: one line and exit 3 (a server), not a worker's bug (70), whether the
    supervisor's start-up check or a worker's own producer finds it; nothing is checkpointed."""
    import copy

    folder = _small_folder(tmp_path / "in")
    port = refused_port()
    cfg = copy.copy(ns)
    cfg.kafka = f"127.0.0.1:{port}"
    state = tmp_path / "state.json"
    proc = cli(cfg, "ship", "evtx", str(folder), "--workers", "2", "--no-progress", "--state", str(state))
    _one_error_line(proc, f"Kafka at 127.0.0.1:{port} not reachable")
    assert not state.exists()


def test_two_workers_and_a_refused_login_is_exit_3(ns, tmp_path: Path) -> None:
    import copy

    folder = _small_folder(tmp_path / "in")
    cfg = copy.copy(ns)
    cfg.kafka_password = "not-the-password"  # noqa: S105 - a wrong one, on purpose
    state = tmp_path / "state.json"
    proc = cli(cfg, "ship", "evtx", str(folder), "--workers", "2", "--no-progress", "--state", str(state))
    _one_error_line(proc, f"Kafka at {cfg.kafka}")
    assert "not-the-password" not in proc.stderr
    assert not state.exists()
