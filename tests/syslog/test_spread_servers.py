"""`ship syslog --parse-workers K` (logwarden/shippers/syslog_spread.py): one TCP connection's
messages parsed by K processes, against the real Kafka (the lab's, secured). Sent = events +
dead letters in Kafka, each exactly once, every process having parsed a share; the ids are
those one receiver gives (the receiver numbers the messages, not the parse process)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from logwarden.config import Config
from logwarden.kafka_io import Message
from logwarden.shippers.base import ListSink
from logwarden.shippers.spool import Spool
from logwarden.shippers.syslog import SyslogServer
from logwarden.shippers.syslog_spread import NoSink, ParsePlan, Spreader
from logwarden.shippers.syslog_workers import open_sink
from tests.support.cli import cli
from tests.support.kafka_ids import id_headers
from tests.textlogs.corpus import mixed
from tests.textlogs.test_syslog_servers import start_receiver

SHARE = re.compile(r"syslog parse process (\d): (\d+) message\(s\) parsed, (\d+) dead letter")


@pytest.mark.servers
def test_one_connection_parsed_by_two_processes_reaches_kafka_once(ns: Config) -> None:
    messages = mixed(6_000)
    messages.append(b"\x00\x01 not syslog at all")  # a dead letter too
    proc, _, tcp_address = start_receiver(ns, "--parse-workers", "2", "--max-messages", str(len(messages)))
    with socket.create_connection(tcp_address) as conn:
        conn.sendall(b"".join(m + b"\n" for m in messages))
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    counts = json.loads(out.strip().splitlines()[-1])
    assert counts["received"] == counts["tcp"] == len(messages) == counts["parsed"] + counts["dead"]
    assert counts["dead"] >= 1 and counts["connections"] == 1
    assert counts["dropped"] == counts["lost"] == counts["parse_died"] == counts["left_in_spool"] == 0
    shares = {int(k): int(p) + int(d) for k, p, d in SHARE.findall(err)}
    assert sorted(shares) == [0, 1] and min(shares.values()) > 0 and sum(shares.values()) == len(messages), err[-2000:]
    in_kafka = Counter(id_headers(ns, ("firewall", "av", "deadletter"), lambda ids: len(ids) >= len(messages)))
    assert in_kafka.total() == len(messages) and max(in_kafka.values()) == 1, "each message exactly once"


def test_a_parse_process_gives_the_ids_the_receiver_would() -> None:
    """The receiver numbers a batch; the parse process's `handle_frames(first=...)` gives the
    same ids and sequence numbers as one receiver parsing the reads in order."""
    reads = [mixed(40)[:25], mixed(40)[25:]]
    alone_sink = ListSink()
    alone = SyslogServer(alone_sink, tcp=("127.0.0.1", 0), session="s1")
    for frames in reads:
        alone.handle_frames(frames, "tcp", "10.0.0.1:514")
    spread_sink = ListSink()
    parser = SyslogServer(spread_sink, tcp=("127.0.0.1", 0), session="s1")
    parser.handle_frames(reads[1], "tcp", "10.0.0.1:514", first=26)  # the second read first
    parser.handle_frames(reads[0], "tcp", "10.0.0.1:514", first=1)
    ids = _ids(alone_sink)
    assert ids == _ids(spread_sink) and len(set(ids)) == 40


def _ids(sink: ListSink) -> list[str]:
    return sorted([e.id for e in sink.events] + [d.id for d in sink.dead])


def test_parse_workers_go_with_one_receiver() -> None:
    cfg = Config(topic_prefix="lw.")
    for bad in (["--parse-workers", "2", "--workers", "2"], ["--parse-workers", "0"]):
        proc = cli(cfg, "ship", "syslog", "--tcp", "127.0.0.1:0", *bad)
        assert proc.returncode == 2 and "--parse-workers" in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    proc = cli(cfg, "ship", "syslog", "--tcp", "127.0.0.1:0", "--parse-workers", "2", "--workers", "2")
    assert "--parse-workers needs --workers 1" in proc.stderr and "not supported" in proc.stderr, proc.stderr


def test_what_was_read_before_a_stop_is_handed_even_through_full_queues(tmp_path: Path,
                                                                         refused_port: Callable[[], int]) -> None:
    """Queues of one batch, 2 parse processes, Kafka unreachable (everything to their spools):
    a stop request while the receiver still hands batches over drops nothing; received = parsed
    + dead, all of it in the spools. No servers (the producers never connect)."""
    cfg = Config(topic_prefix="lw.", kafka=f"127.0.0.1:{refused_port()}")
    spreader = Spreader(ParsePlan(cfg, "s1", tmp_path / "spool", 1 << 30, 0.5), 2, open_sink, queue_batches=1)
    server = SyslogServer(NoSink(), tcp=("127.0.0.1", 0), session="s1", spread=spreader)
    reads = [mixed(400)[k:k + 10] for k in range(0, 400, 10)]
    server.stop_event.set()  # as --max-messages does once the count is reached
    for frames in reads:
        server.handle_frames(frames, "tcp", "10.0.0.1:514")
    totals = spreader.finish(0.5)
    assert server.counters.received == 400 and server.counters.dropped == 0
    assert totals["parsed"] + totals["dead"] == 400 and totals["lost"] == totals["parse_died"] == 0
    assert totals["left_in_spool"] == 400 and totals["dropped"] == 0
    assert (tmp_path / "spool" / "parse-1").is_dir()


@pytest.mark.servers
def test_a_parse_spool_left_by_more_processes_is_named_then_replayed(ns: Config, tmp_path: Path) -> None:
    """Messages spooled by parse process 1 of an earlier run: a run with one parse process leaves
    them alone and names the option that replays them; a run with two sends them to Kafka, once."""
    spool_dir = tmp_path / "spool"
    spool = Spool(spool_dir / "parse-1", max_bytes=1 << 20)
    left = [Message(ns.topic("firewall"), b"fw01", b'{"message":"spooled"}', f"left-{k}") for k in range(3)]
    assert spool.append_many(left) == len(left)
    spool.close()
    for parse_workers in ("1", "2"):
        proc = cli(ns, "ship", "syslog", "--tcp", "127.0.0.1:0", "--spool-dir", str(spool_dir),
                   "--parse-workers", parse_workers, "--duration", "4")
        err = proc.stderr
        assert proc.returncode == 0, err[-2000:]
        named = "parse-1 holds messages of a run with more processes; run with --parse-workers 2" in err
        assert named is (parse_workers == "1"), err[-2000:]
        if parse_workers == "1":
            assert any((spool_dir / "parse-1").glob("*.spool")), "left alone, never deleted"
    ids = Counter(id_headers(ns, ("firewall",), lambda ids: len(ids) >= len(left)))
    assert ids == Counter(m.id.encode() for m in left), "replayed by the run with two parse processes, once each"
