"""Syslog and file shipping on the real servers: `logwarden ship syslog` / `ship file` (CLI
subprocesses) -> Kafka -> `logwarden index --once` -> Elasticsearch, counts reconciled with the
receiver's own counts and with the parse of the same lines (`autodetect.parse_line`).

Rates stay far below capacity (UDP paced at a few hundred messages/s) so counts reconcile exactly
on a busy shared machine; the capacity (no UDP loss at 5,000 msg/s) is measured by
bench/bench_syslog.py, not asserted here."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from logwarden.es_io import client
from logwarden.shippers import autodetect, capabilities
from logwarden.shippers.base import DeadLetter
from tests.support.cli import cli, popen
from tests.support.namespaces import count

from .corpus import golden, mixed, octet_frame

pytestmark = pytest.mark.servers

ZHANG_SAN = "张三".encode("gbk")
UDP_RATE = 300  # messages/s the UDP sender is paced at: far below capacity, so loss must be 0
LISTEN_WAIT = 120.0  # seconds for a receiver to start and bind, on a loaded box
LISTENING = re.compile(r"listening udp=\('([\d.]+)', (\d+)\) tcp=\('([\d.]+)', (\d+)\)")




def expected(messages: list[bytes]) -> tuple[Counter[str], Counter[str], int]:
    """(events per dataset, events per module, dead letters) as the parsers see these lines."""
    per_dataset: Counter[str] = Counter()
    per_module: Counter[str] = Counter()
    dead = 0
    for i, raw in enumerate(messages):
        item = autodetect.parse_line(raw, "expected", i)
        if isinstance(item, DeadLetter):
            dead += 1
        else:
            per_dataset[item.dataset] += 1
            per_module[item.doc["event"]["module"]] += 1
    return per_dataset, per_module, dead


def start_receiver(cfg, *extra: str) -> tuple[subprocess.Popen[str], tuple[str, int], tuple[str, int]]:
    """`logwarden ship syslog` on ephemeral ports; the ports are read from its stderr banner.
    A receiver that has not said it listens after LISTEN_WAIT seconds is killed and the test
    fails with what it logged (a blocking readline would otherwise wait forever)."""
    proc = popen(cfg, "ship", "syslog", "--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--json", *extra)
    assert proc.stderr is not None
    seen: list[str] = []
    too_slow = threading.Timer(LISTEN_WAIT, proc.kill)
    too_slow.start()
    try:
        while True:
            line = proc.stderr.readline()
            if not line:
                proc.kill()
                why = f"not listening after {LISTEN_WAIT:.0f}s (killed)" if too_slow.finished.is_set() \
                    else "exited before listening"
                pytest.fail(f"receiver {why}: {''.join(seen)[-2000:]}")
            seen.append(line)
            m = LISTENING.search(line)
            if m:
                return proc, (m.group(1), int(m.group(2))), (m.group(3), int(m.group(4)))
    finally:
        too_slow.cancel()


def send_udp_paced(addr: tuple[str, int], messages: list[bytes], rate: float) -> float:
    """Send at `rate` messages/s (bursts every 10 ms); returns the achieved rate."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    per_tick = max(1, int(rate / 100))
    t0 = time.perf_counter()
    try:
        for k in range(0, len(messages), per_tick):
            due = t0 + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            for msg in messages[k:k + per_tick]:
                sock.sendto(msg, addr)
    finally:
        sock.close()
    return len(messages) / (time.perf_counter() - t0)


def send_tcp(addr: tuple[str, int], messages: list[bytes], octet: bool) -> None:
    with socket.create_connection(addr) as conn:
        payload = b"".join(octet_frame(m) if octet else m + b"\n" for m in messages)
        # uneven chunks: frames split across sends
        for k in range(0, len(payload), 65_521):
            conn.sendall(payload[k:k + 65_521])


def module_counts(es, cfg, families: tuple[str, ...]) -> Counter[str]:
    """event.module counts over this namespace's indices of `families` (every pattern prefixed: a bare
    `*av-*` would count other namespaces' documents too)."""
    index = ",".join(f"{cfg.index_prefix}{family}-*" for family in families)
    resp = es.search(index=index, size=0,
                     aggs={"m": {"terms": {"field": "event.module", "size": 50}}})
    return Counter({b["key"]: b["doc_count"] for b in resp["aggregations"]["m"]["buckets"]})


def test_syslog_mixed_udp_tcp_to_elasticsearch(ns):
    n_udp, n_nl, n_oc = 900, 3_000, 3_000  # UDP: 3 s at UDP_RATE
    messages = mixed(n_udp + n_nl + n_oc)
    udp, nl, oc = messages[:n_udp], messages[n_udp:n_udp + n_nl], messages[n_udp + n_nl:]
    assert sum(1 for m in messages if ZHANG_SAN in m) > 0  # 张三 in GBK
    per_dataset, per_module, dead = expected(messages)
    assert dead > 0 and per_dataset["firewall"] > 0 and per_dataset["av"] > 0

    proc, udp_addr, tcp_addr = start_receiver(ns, "--max-messages", str(len(messages)))
    achieved = send_udp_paced(udp_addr, udp, UDP_RATE)
    send_tcp(tcp_addr, nl, octet=False)
    send_tcp(tcp_addr, oc, octet=True)
    try:
        out, err = proc.communicate(timeout=60)  # exits by itself once every message arrived
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # UDP lost some: stop it and report the counts
        out, err = proc.communicate(timeout=90)  # its --grace and the producer's flush
    assert proc.returncode == 0, err[-3000:]
    counts = json.loads(out.strip().splitlines()[-1])
    assert counts["tcp"] == n_nl + n_oc, "TCP must lose nothing"
    assert counts["udp"] == n_udp, f"UDP lost {n_udp - counts['udp']} of {n_udp} sent at {achieved:,.0f} msg/s"
    assert counts["received"] == len(messages) == counts["parsed"] + counts["dead"]
    assert counts["dead"] == dead
    assert counts["parsed"] == per_dataset.total()
    assert counts["connections"] == 2

    index = cli(ns, "index", "--once", "--json")
    assert index.returncode == 0, index.stderr[-3000:]
    stats = json.loads(index.stdout.strip().splitlines()[-1])
    assert stats["consumed"] == len(messages)
    assert stats["dead_lettered"] == 0, "Elasticsearch refused some documents"
    assert stats["created"] == len(messages)
    es = client(ns)
    assert count(es, ns, "firewall") == per_dataset["firewall"]
    assert count(es, ns, "av") == per_dataset["av"]
    assert count(es, ns, "deadletter") == dead
    assert module_counts(es, ns, ("firewall", "av")) == per_module
    # GBK decoded without loss
    assert count(es, ns, "firewall", {"term": {"user.name": "张三"}}) == \
        sum(1 for m in messages if ZHANG_SAN in m and b"devname" in m)
    # undecodable bytes (our garbage and the golden odd lines) kept as base64, reason searchable
    undecodable = "unrecognised format (not UTF-8 or GB18030)"
    expected_undecodable = sum(1 for i, m in enumerate(messages)
                               if getattr(autodetect.parse_line(m, "x", i), "reason", None) == undecodable)
    assert expected_undecodable >= sum(1 for m in messages if m.startswith(b"\xff\xfe\x80")) > 0
    assert count(es, ns, "deadletter", {"term": {"event.reason": undecodable}}) == expected_undecodable


def _file_lines(n: int) -> bytes:
    """A FortiGate disk log: golden lines varied per line, with a few the parser refuses."""
    pool = golden("fortigate")
    out = []
    for i in range(n):
        raw = pool[i % len(pool)]
        out.append(re.sub(rb"srcport=\d+", b"srcport=%d" % (1024 + i % 60000), raw))
    return b"\n".join(out) + b"\n"


def _expected_file(path: Path, source: str) -> tuple[int, int]:
    parse = capabilities.stream_parser(source)
    ev = dl = 0
    with open(path, "rb") as fh:
        for item in parse(str(path), fh):
            if isinstance(item, DeadLetter):
                dl += 1
            else:
                ev += 1
    return ev, dl


def test_ship_file_exact_counts(ns, tmp_path):
    path = tmp_path / "fortigate.log"
    path.write_bytes(_file_lines(5_000))
    events, dead = _expected_file(path, "fortigate")
    assert events > 0 and dead > 0
    ship = cli(ns, "ship", "file", str(path), "--source", "fortigate", "--json")
    assert ship.returncode == 1, ship.stderr[-3000:]  # dead letters: exit 1, the good records shipped
    assert f"{dead} of {events + dead} records were dead letters" in ship.stderr
    assert json.loads(ship.stdout.strip().splitlines()[-1]) == {"sent": events + dead, "parsed": events, "dead": dead}
    index = cli(ns, "index", "--once", "--json")
    assert index.returncode == 0, index.stderr[-3000:]
    es = client(ns)
    assert count(es, ns, "firewall") == events
    assert count(es, ns, "deadletter") == dead
    # a rerun with the checkpoint reads nothing; the counts stay
    again = cli(ns, "ship", "file", str(path), "--source", "fortigate", "--json")
    assert json.loads(again.stdout.strip().splitlines()[-1])["sent"] == 0


def test_ship_file_sigkill_then_resume(ns, tmp_path):
    """Windows Firewall pfirewall.log (the #Fields header must be re-read on resume): SIGKILL the
    shipper mid-file, rerun: it resumes at the checkpoint and Elasticsearch holds every line once."""
    header = b"#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n" \
             b"#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn " \
             b"tcpack tcpwin icmptype icmpcode info path\n"
    n = 40_000
    body = b"".join(b"2020-04-14 %02d:%02d:%02d %s TCP 203.0.113.%d 192.168.10.21 %d %d 0 - 0 0 0 - - - RECEIVE\n"
                    % (i // 3600 % 24, i // 60 % 60, i % 60, b"ALLOW" if i % 3 else b"DROP", i % 250 + 1,
                       1024 + i % 60000, (3389, 445, 80)[i % 3]) for i in range(n))
    path = tmp_path / "pfirewall.log"
    path.write_bytes(header + body + b"this is not a record\n")
    events, dead = _expected_file(path, "winfirewall")
    assert (events, dead) == (n, 1)
    state = tmp_path / "ship-state.json"
    proc = popen(ns, "ship", "file", str(path), "--source", "winfirewall", "--state", str(state), "--json")
    deadline = time.monotonic() + 120  # the shipper's start (imports, Kafka) on a loaded box
    offset = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if state.exists():
            offset = json.loads(state.read_text() or "{}").get("offset", 0)
            if offset > len(header):
                break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    offset = json.loads(state.read_text()).get("offset", 0)
    assert len(header) < offset < path.stat().st_size, "the shipper must be killed in the middle of the file"
    rest = path.read_bytes()[offset:]
    ship = cli(ns, "ship", "file", str(path), "--source", "winfirewall", "--state", str(state), "--json")
    assert ship.returncode == 1, ship.stderr[-3000:]  # the last line is a dead letter
    # resumed exactly at the checkpoint: every line after it, none before it
    assert json.loads(ship.stdout.strip().splitlines()[-1])["sent"] == sum(1 for ln in rest.splitlines() if ln.strip())
    index = cli(ns, "index", "--once", "--json")
    assert index.returncode == 0, index.stderr[-3000:]
    stats = json.loads(index.stdout.strip().splitlines()[-1])
    assert stats["created"] + stats["existing"] == stats["consumed"]
    es = client(ns)
    assert count(es, ns, "firewall") == n
    assert count(es, ns, "deadletter") == 1
    # the resumed part kept its columns (header primed): ports and actions right
    assert count(es, ns, "firewall", {"term": {"destination.port": 3389}}) == len(range(0, n, 3))
    assert count(es, ns, "firewall", {"term": {"event.action": "drop"}}) == len(range(0, n, 3))
