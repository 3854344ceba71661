"""`ship syslog` with Kafka down, on a broker of the test's own that it stops and starts
(tests/services/private_broker.py): every line accepted over TCP reaches Kafka, through the
on-disk spool while the broker is away, across a SIGTERM in the middle of the outage and a
restart of the receiver. Reconciled by the sequence number each line carries.

A first, short outage is ridden out by the same receiver (before the producer was made
non-idempotent, its replays failed for minutes after the broker was back).
Before: `KafkaTimeoutError` after 120 s, the sender's connection reset, the accepted lines lost,
exit 1 with a traceback; SIGTERM while blocked on the broker lost what was accepted."""

from __future__ import annotations

import json
import re
import shutil
import socket
import time
from pathlib import Path

import pytest

from logwarden.kafka_io import ensure_topics
from tests.support.namespaces import isolated
from tests.syslog.sequenced import line, numbered_in_kafka

from .helpers import Service
from .private_broker import PrivateBroker

pytestmark = pytest.mark.servers

RATE = 200  # lines per second, paced
LISTENING_TCP = re.compile(r"tcp=\('[\d.]+', (\d+)\)")  # in the receiver's "listening" line


def _send(port: int, first: int, seconds: float) -> int:
    """Lines first, first+1, ... over one TCP connection for `seconds`, paced; returns the next
    sequence number. The connection is closed cleanly (every byte reaches the receiver)."""
    seq = first
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        while time.monotonic() - start < seconds:
            conn.sendall(b"".join(line(i) for i in range(seq, seq + RATE // 10)))
            seq += RATE // 10
            time.sleep(max(0.0, start + (seq - first) / RATE - time.monotonic()))
    return seq


def _receiver(cfg) -> tuple[Service, int]:
    """`ship syslog` on a TCP port it binds itself (port 0), and that port, read from its
    "listening" line: a number picked here and handed over could be taken by anyone meanwhile."""
    service = Service(cfg, "ship", "syslog", "--tcp", "127.0.0.1:0", "--json", "--grace", "3")
    service.wait_for("listening")
    banner = next(line for line in service.lines if "listening" in line)
    bound = LISTENING_TCP.search(banner)
    assert bound, banner
    return service, int(bound.group(1))


def _stopped(service: Service) -> dict[str, int]:
    code, out = service.stop()
    assert code == 0, "\n".join(service.lines[-20:])
    return dict(json.loads(out.strip().splitlines()[-1]))


def _read_all(cfg, expected: int, timeout: float = 240) -> list[tuple[int, bytes]]:
    """(sequence number, id header) of every message in the firewall topic, once `expected`
    distinct sequence numbers are there (or what there is after `timeout`)."""
    return numbered_in_kafka(cfg, ("firewall",), expected, timeout)


def test_accepted_lines_reach_kafka_through_an_outage_a_sigterm_and_a_restart(lab, tmp_path: Path) -> None:
    broker = PrivateBroker(isolated(lab.cfg, tmp_path), tmp_path / "broker")
    broker.start()
    try:
        cfg = broker.cfg
        ensure_topics(cfg)
        spool = Path(cfg.state) / "syslog-spool"
        first, port = _receiver(cfg)
        seq = _send(port, 0, 3)  # Kafka up: straight through
        broker.stop()  # a first, short outage: the same receiver and producer must recover from it
        seq = _send(port, seq, 10)
        broker.start()
        seq = _send(port, seq, 3)
        assert len({n for n, _ in _read_all(cfg, seq, timeout=120)}) == seq, "not recovered after a broker restart"
        first.wait_for("takes messages again")  # spooling ended: the next outage is a new one
        broker.stop()
        outage_start = time.monotonic()
        seq = _send(port, seq, 30)  # Kafka down: in flight, then spooled
        before_stop = seq  # no pause: the stop reads what the closed connection left (syslog.py DRAIN_QUIET)
        counts1 = _stopped(first)  # SIGTERM in the middle of the outage
        assert counts1["received"] == before_stop and counts1["dropped"] == 0
        assert counts1["spooled"] > 0 and counts1["left_in_spool"] > 0, counts1
        assert first.count("is not taking messages") == 2  # said once per outage
        assert any(spool.glob("*.spool"))

        second, port = _receiver(cfg)  # restarted while Kafka is still down (ids do not depend on the port)
        second.wait_for("from an earlier run: replaying them first")
        seq = _send(port, seq, max(5.0, 62 - (time.monotonic() - outage_start)))  # outage over 60 s
        broker.start()
        seq = _send(port, seq, 5)  # after the broker's return
        seen = _read_all(cfg, seq)
        second.wait_for("reachable again")
        counts2 = _stopped(second)
        assert counts2["received"] == seq - before_stop and counts2["dropped"] == 0
        assert counts2["left_in_spool"] == 0 and counts2["replayed"] >= counts1["left_in_spool"], counts2
        assert not any(spool.glob("*.spool"))  # replayed, then removed

        numbers = sorted(n for n, _ in seen)
        assert sorted(set(numbers)) == list(range(seq)), f"missing: {sorted(set(range(seq)) - set(numbers))[:20]}"
        ids: dict[int, set[bytes]] = {}
        for n, mid in seen:
            ids.setdefault(n, set()).add(mid)
        assert all(len(v) == 1 for v in ids.values())  # a copy, if any, carries its original's id
        # at least once into Kafka: a message whose acknowledgement was lost in the outage is sent
        # again from the spool; its copy has its id (asserted above), so Elasticsearch keeps one
        duplicates = len(numbers) - len(set(numbers))
        print(f"\nsent {seq}, in Kafka {len(numbers)} ({duplicates} copies with their original's id); "
              f"first run {counts1}; second run {counts2}")
    finally:
        broker.stop()
        shutil.rmtree(tmp_path / "broker", ignore_errors=True)
