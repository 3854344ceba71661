"""The UDP receive queue's accounting with the real Kafka (the lab's, secured): a parser slowed
down and a small queue make it overflow; every datagram sent is then an event or a dead letter
in Kafka, exactly once, or counted as dropped (`udp_overflow`, or the kernel's `udp_kernel_dropped`).
Sent = events + dead letters + counted drops; the same through the CLI (`--udp-queue`)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from logwarden.config import Config
from logwarden.shippers import autodetect
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.spooling_sink import SpoolingSink
from logwarden.shippers.syslog import SyslogServer, kernel_drops
from logwarden.shippers.syslog_workers import open_sink
from tests.support.cli import cli
from tests.support.kafka_ids import id_headers
from tests.textlogs.corpus import mixed
from tests.textlogs.test_syslog_servers import start_receiver

pytestmark = pytest.mark.servers


class Recording:
    """The real sink, with the id of every item handed to it."""

    def __init__(self, sink: SpoolingSink) -> None:
        self.sink = sink
        self.ids: Counter[bytes] = Counter()

    def send(self, item: Event | DeadLetter) -> bool | None:
        self.ids[item.id.encode()] += 1
        return self.sink.send(item)

    def flush(self) -> None:
        self.sink.flush()


def _ids_in_kafka(cfg: Config, expected: int, timeout: float = 120) -> Counter[bytes]:
    """The `id` header of every message in the namespace's event and dead-letter topics, once
    `expected` are there (or what there is after `timeout`), plus what comes in 3 s more."""
    return Counter(id_headers(cfg, ("firewall", "av", "deadletter"), lambda ids: len(ids) >= expected, timeout))


def test_overflow_is_counted_and_the_rest_reaches_kafka_once(ns: Config, tmp_path: Path) -> None:
    def slow_parse(raw: bytes, source: str, seq: int) -> Event | DeadLetter:
        time.sleep(0.002)  # ~500 messages/s: far below what is sent
        return autodetect.parse_line(raw, source, seq)

    messages = mixed(3_000)
    sink = open_sink(ns, tmp_path / "spool", 64 * 1024 * 1024)
    recording = Recording(sink)
    server = SyslogServer(recording, udp=("127.0.0.1", 0), parse=slow_parse, udp_queue_bytes=64 * 1024).start()
    assert server.udp_address is not None and server.udp_sock is not None
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for k, message in enumerate(messages):
                sender.sendto(message, server.udp_address)
                if k % 100 == 99:
                    time.sleep(0.01)  # ~10,000 msg/s: the kernel's buffer is not what overflows
        end = time.monotonic() + 60
        while server.arrived + (kernel_drops(server.udp_sock) or 0) < len(messages) and time.monotonic() < end:
            time.sleep(0.05)
    finally:
        server.stop()
        spooled = sink.close(10)
    counters = server.counters
    kept = counters.parsed + counters.dead
    assert counters.udp_overflow > 0, "the small queue must have overflowed"
    assert kept + counters.udp_overflow + counters.udp_kernel_dropped == len(messages)
    assert counters.dropped == 0 and spooled.left_in_spool == 0
    assert recording.ids.total() == kept and max(recording.ids.values()) == 1
    in_kafka = _ids_in_kafka(ns, kept)
    assert in_kafka == recording.ids, "every kept message in Kafka exactly once, nothing else"


def test_the_cli_counts_what_its_udp_queue_could_not_hold(ns: Config) -> None:
    """`ship syslog --udp-queue 1K` (about three datagrams) under a burst: the overflow is in the
    counters printed at the stop and in the log, and sent = udp + udp_overflow + udp_kernel_dropped."""
    messages = mixed(3_000)
    proc, udp_address, _ = start_receiver(ns, "--udp-queue", "1K", "--max-messages", str(len(messages)))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for message in messages:  # as fast as the socket takes them: far faster than parsing
            sender.sendto(message, udp_address)
    try:
        out, err = proc.communicate(timeout=60)  # exits once every datagram was parsed or dropped
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the kernel dropped some: they never arrive
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    counts = json.loads(out.strip().splitlines()[-1])
    assert counts["udp_overflow"] > 0
    assert counts["udp"] + counts["udp_overflow"] + counts["udp_kernel_dropped"] == len(messages)
    assert counts["received"] == counts["parsed"] + counts["dead"] == counts["udp"]
    assert "receive queue full" in err and "parsing is slower than the input" in err


def test_a_udp_queue_size_that_is_not_a_size_is_a_usage_error(ns: Config) -> None:
    for bad in ("0", "lots"):
        proc = cli(ns, "ship", "syslog", "--udp", "127.0.0.1:0", "--udp-queue", bad)
        assert proc.returncode == 2 and "not a positive size" in proc.stderr, proc.stderr
