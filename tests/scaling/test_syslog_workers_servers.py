"""`ship syslog --workers 2` on the real Kafka: every line sent over UDP (several senders, as
several devices) and TCP (several connections) reaches Kafka exactly once, the two workers'
counters are summed at the stop, and both workers took traffic (their own spools exist).
Paced far below capacity: the capacity is measured by bench/bench_syslog_workers.py."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.support.kafka_ids import id_headers
from tests.textlogs.corpus import mixed
from tests.textlogs.test_syslog_servers import expected, send_tcp, send_udp_paced, start_receiver

pytestmark = pytest.mark.servers

SENDERS = 4  # UDP source ports and TCP connections: the kernel hashes each to one worker


def _ids_in_kafka(cfg, expected_count: int, timeout: float = 120) -> list[bytes]:
    """The `id` header of every message in the namespace's event and dead-letter topics, once
    `expected_count` are there (or what there is after `timeout`), plus anything a few seconds later."""
    return id_headers(cfg, ("firewall", "av", "deadletter"), lambda ids: len(ids) >= expected_count, timeout)


def test_two_workers_reconcile_udp_and_tcp_with_kafka(ns) -> None:
    n_udp, n_tcp = 1_200, 4_000
    messages = mixed(n_udp + n_tcp)
    udp, tcp = messages[:n_udp], messages[n_udp:]
    _, _, dead = expected(messages)
    proc, udp_addr, tcp_addr = start_receiver(ns, "--workers", "2", "--grace", "5")
    try:
        for k in range(SENDERS):  # a new socket each time: another source port
            send_udp_paced(udp_addr, udp[k::SENDERS], 300)
            send_tcp(tcp_addr, tcp[k::SENDERS], octet=bool(k % 2))
        ids = _ids_in_kafka(ns, len(messages))
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    counts = json.loads(out.strip().splitlines()[-1])
    assert counts["workers"] == 2 and counts["worker_restarts"] == 0
    assert counts["tcp"] == n_tcp and counts["connections"] == SENDERS
    assert counts["udp"] == n_udp, f"UDP lost {n_udp - counts['udp']} of {n_udp} at 300 msg/s"
    assert counts["received"] == len(messages) == counts["parsed"] + counts["dead"]
    assert counts["dead"] == dead
    assert len(ids) == len(set(ids)) == len(messages), "every line in Kafka exactly once"
    spool = Path(ns.state) / "syslog-spool"
    assert (spool / ".lock").exists() and (spool / "worker-1" / ".lock").exists(), "each worker its own spool"
