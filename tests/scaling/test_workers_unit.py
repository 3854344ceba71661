"""The worker machinery without servers: `ship evtx --workers` checkpoints (one writer, every
file complete, summaries summed), the spool folders of `ship syslog --workers`, and the SO_REUSEPORT
receivers sharing one port and both receiving."""

from __future__ import annotations

import json
import logging
import socket
import time
from pathlib import Path

import pytest

from logwarden.errors import ServerError
from logwarden.shippers.base import DeadLetter, Event, ListSink
from logwarden.shippers.checkpoint import Checkpoints
from logwarden.shippers.parallel_ship import WorkerFailed, ship_files_parallel
from logwarden.shippers.syslog import SyslogServer
from logwarden.shippers.syslog_workers import plan_for_worker, spool_dir_of, warn_leftover_spools
from tests.support.ports import shared_port


def _lines(path: Path, skip: int):
    for n, line in enumerate(path.read_bytes().splitlines(), 1):
        if n <= skip:
            continue
        if line.startswith(b"bad"):
            yield DeadLetter(str(path), line, "bad line", "unknown", n)
        else:
            yield Event(f"{path.name}-{n}", "windows", "h", {"message": line.decode()}, n)


def test_parallel_ship_checkpoints_every_file_and_sums(tmp_path: Path) -> None:
    files = []
    for k in range(5):
        path = tmp_path / f"f{k}.log"
        path.write_bytes(b"".join(b"bad\n" if i % 10 == 0 else b"ok %d\n" % i for i in range(1, 1 + 300 * (k + 1))))
        files.append(path)
    checkpoints = Checkpoints(tmp_path / "state.json")
    summary = ship_files_parallel(files, _lines, ListSink, lambda sink: None, checkpoints, 3)
    total = sum(300 * (k + 1) for k in range(5))
    assert summary.files == 5 and summary.records == total
    assert summary.dead_letters == total // 10 and summary.produced == total - total // 10
    saved = json.loads((tmp_path / "state.json").read_text())
    assert {Path(p).name: (e["records"], e["complete"]) for p, e in saved.items()} == {
        f"f{k}.log": (300 * (k + 1), True) for k in range(5)}
    again = ship_files_parallel(files, _lines, ListSink, lambda sink: None, Checkpoints(tmp_path / "state.json"), 3)
    assert again.records == 0 and again.already_shipped == total


def _unreachable_sink() -> ListSink:
    raise ServerError("Kafka at 127.0.0.1:9 not reachable: connection refused")


def test_a_worker_whose_sink_finds_kafka_unreachable_is_a_server_failure(tmp_path: Path) -> None:
    """What `ship evtx --workers N` turns into exit 3: the worker's ServerError (its producer found
    Kafka down or the login refused) is a "server" failure, not a bug, and nothing is checkpointed."""
    path = tmp_path / "f.log"
    path.write_bytes(b"ok 1\n")
    checkpoints = Checkpoints(tmp_path / "state.json")
    with pytest.raises(WorkerFailed, match="127.0.0.1:9 not reachable") as failed:
        ship_files_parallel([path], _lines, _unreachable_sink, lambda sink: None, checkpoints, 2)
    assert failed.value.kind == "server"
    assert not (tmp_path / "state.json").exists()


def test_spool_folders_per_worker(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert spool_dir_of(tmp_path, 0) == tmp_path  # what a single receiver left is replayed by worker 0
    assert spool_dir_of(tmp_path, 2) == tmp_path / "worker-2"
    for name in ("worker-3", "worker-1", "parse-2", "parse-1"):
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / "00000000000000000001.spool").write_bytes(b"x")
    (tmp_path / "parse-5").mkdir()  # empty: nothing to replay, no warning
    with caplog.at_level(logging.WARNING, logger="logwarden.shippers.syslog_workers"):
        left = warn_leftover_spools(tmp_path, 2, 2)
    assert left == [tmp_path / "worker-3", tmp_path / "parse-2"]
    assert "--workers 4" in caplog.text and "--parse-workers 3" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="logwarden.shippers.syslog_workers"):
        assert warn_leftover_spools(tmp_path, 1, 1) == [tmp_path / "worker-1", tmp_path / "worker-3",
                                                         tmp_path / "parse-1", tmp_path / "parse-2"]
    assert caplog.text.count("holds messages of a run with more processes") == 4
    from logwarden.shippers.syslog_workers import Plan

    plan = Plan(None, ("127.0.0.1", 0), None, None, None, 1, 1.0, tmp_path, 1000, 1.0)
    worker = plan_for_worker(plan, 1, 4)
    assert worker.spool_dir == tmp_path / "worker-1" and worker.spool_max == 250 and worker.reuseport


def test_reuseport_receivers_share_a_port_and_both_receive() -> None:
    servers: list[SyslogServer] = []
    try:
        with shared_port() as port:  # free on UDP and TCP both (each receiver binds the two)
            for _ in range(2):
                servers.append(SyslogServer(ListSink(), udp=("127.0.0.1", port), tcp=("127.0.0.1", port),
                                            reuseport=True).start())
        for i in range(32):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:  # a flow of its own
                sender.sendto(b"<4>Apr 14 00:22:01 fw01 kernel: IN=eth0 SRC=203.0.113.%d DST=10.0.0.2" % i,
                              ("127.0.0.1", port))
        deadline = time.monotonic() + 60
        while sum(s.counters.udp for s in servers) < 32:
            assert time.monotonic() < deadline, f"not 32 datagrams parsed after 60 s: {[s.counters for s in servers]}"
            time.sleep(0.05)
    finally:
        for server in servers:
            server.stop()
    assert [s.counters.udp for s in servers].count(0) == 0, "32 flows: both receivers get some"
    assert sum(s.counters.udp for s in servers) == 32
