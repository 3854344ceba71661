"""Records in = events + dead letters through the real Kafka and Elasticsearch, for every way
records reach a shipper: `ship file` from a file, a pipe (`-`) and a FIFO, `ship evtx` of event
XML and JSON lines, `ship syslog` over UDP and over TCP with newline and octet-counted framing.
Each run is checked twice: the shipper's own counts, then the documents `index --once` put in
Elasticsearch (events + the dead-letter index). Corpora: tests/reconcile/corpus.py (seeded)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from logwarden.config import Config
from logwarden.es_io import client
from tests.support.cli import cli, env_for
from tests.support.namespaces import count
from tests.support.paths import ROOT
from tests.textlogs.test_syslog_servers import start_receiver as listening_receiver

from . import corpus
from .modes import MODES, given_as

pytestmark = pytest.mark.servers

RECORDS = 600
MAX_UDP_PAYLOAD = 65_507


def in_elasticsearch(cfg: Config) -> tuple[int, int]:
    """(events, dead letters) `index --once` put in the namespace's indices."""
    index = cli(cfg, "index", "--once", "--json")
    assert index.returncode == 0, index.stderr[-3000:]
    stats = json.loads(index.stdout.strip().splitlines()[-1])
    assert stats["dead_lettered"] == 0, f"Elasticsearch refused documents: {stats}"
    es = client(cfg)
    dead = count(es, cfg, "deadletter")
    return count(es, cfg) - dead, dead


def ship_counts(proc: subprocess.CompletedProcess[bytes] | subprocess.CompletedProcess[str]) -> dict[str, int]:
    stdout = proc.stdout if isinstance(proc.stdout, str) else proc.stdout.decode()
    stderr = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode()
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr[-3000:]
    counts: dict[str, int] = json.loads(stdout.strip().splitlines()[-1])
    return counts


@pytest.mark.parametrize("mode", MODES)
def test_ship_file_records_in_equal_events_plus_dead_letters(ns: Config, mode: str, tmp_path: Path) -> None:
    seed = 200 + MODES.index(mode)
    records = corpus.text_records(seed, RECORDS)
    with given_as(mode, corpus.text_file(records, seed), tmp_path) as (path, stdin):
        proc = subprocess.run([*PYTHON_CLI, "ship", "file", path, "--source", "auto", "--json"], env=env_for(ns),
                              cwd=ROOT, input=stdin if stdin is not None else b"", capture_output=True, timeout=600)
    counts = ship_counts(proc)
    assert counts["sent"] == len(records) == counts["parsed"] + counts["dead"]
    assert proc.returncode == 1 and counts["dead"] > 0
    assert in_elasticsearch(ns) == (counts["parsed"], counts["dead"])


@pytest.mark.parametrize("kind", ["json", "xml"])
def test_ship_evtx_of_windows_text_records_in_equal_events_plus_dead_letters(ns: Config, kind: str,
                                                                             tmp_path: Path) -> None:
    body, records = (corpus.windows_json_lines if kind == "json" else corpus.windows_xml)(300, 400)
    path = tmp_path / f"events.{kind}"
    path.write_bytes(body)
    proc = cli(ns, "ship", "evtx", str(path), "--json", "--no-progress")
    summary = ship_counts(proc)
    assert summary["records"] == records
    assert summary["produced"] + summary["dead_letters"] == records
    assert proc.returncode == 1 and summary["dead_letters"] > 0
    assert in_elasticsearch(ns) == (summary["produced"], summary["dead_letters"])


def start_receiver(cfg: Config, expected: int) -> tuple[subprocess.Popen[str], tuple[str, int], tuple[str, int]]:
    """`ship syslog` on ephemeral loopback ports, stopping by itself after `expected` messages."""
    return listening_receiver(cfg, "--max-messages", str(expected))


def received(proc: subprocess.Popen[str]) -> dict[str, int]:
    try:
        out, err = proc.communicate(timeout=120)  # exits by itself once every message arrived
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # something was lost: stop it and let the counts say what
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    counts: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return counts


@pytest.mark.parametrize("framing", ["newline", "octet"])
def test_syslog_tcp_records_in_equal_events_plus_dead_letters(ns: Config, framing: str) -> None:
    """TCP: CRLF or LF endings, empty lines between records (not records), a 3 MiB line (an
    oversized frame: one dead letter) with newline framing; octet counts up to 1.5 MiB. Newline
    framing cannot carry a record starting with digits and a space (RFC 6587 reads an octet
    count), so that corpus has none."""
    octet = framing == "octet"
    records = corpus.text_records(300 + octet, RECORDS, long_line=(3 << 19) if octet else 3 << 20,
                                  no_leading_digit=not octet)
    if octet:
        payload = b"".join(str(len(r)).encode() + b" " + r for r in records)
    else:
        payload = b"".join(r + (b"\r\n" if i % 3 else b"\n") + (b"\n" if i % 7 == 0 else b"")
                           for i, r in enumerate(records))
    proc, _, tcp = start_receiver(ns, len(records))
    with socket.create_connection(tcp) as conn:
        for k in range(0, len(payload), 65_521):  # frames split across sends
            conn.sendall(payload[k:k + 65_521])
    counts = received(proc)
    assert counts["tcp"] == counts["received"] == len(records) == counts["parsed"] + counts["dead"]
    assert in_elasticsearch(ns) == (counts["parsed"], counts["dead"])


def test_syslog_udp_records_in_equal_events_plus_dead_letters(ns: Config) -> None:
    """UDP: one record per datagram (the 3 MiB lines do not fit one: replaced by 60 KB ones),
    sent in small paced bursts so that a busy machine drops nothing."""
    import time

    records = [r if len(r) <= MAX_UDP_PAYLOAD else r[:60_000] for r in corpus.text_records(400, RECORDS)]
    proc, udp, _ = start_receiver(ns, len(records))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for i, record in enumerate(records):
            sock.sendto(record, udp)
            if i % 20 == 19:
                time.sleep(0.05)
    counts = received(proc)
    assert counts["udp"] == counts["received"] == len(records) == counts["parsed"] + counts["dead"]
    assert in_elasticsearch(ns) == (counts["parsed"], counts["dead"])


PYTHON_CLI = [__import__("sys").executable, "-m", "logwarden.cli"]
