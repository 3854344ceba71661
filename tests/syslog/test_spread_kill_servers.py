"""`ship syslog --parse-workers 2` with one parse process killed mid-run, against the lab's
Kafka: a sender at a steady rate, the process stopped (SIGSTOP: its queue fills with batches it
cannot settle) then SIGKILLed. Every line the receiver accepted reaches Kafka (copies allowed,
each with its original's id, so Elasticsearch keeps one), the process is started again, the
death is logged once with its reason, and the counters say how many lines were re-handed.
The same over UDP at a rate the box sustains: what the receiver accepted is what must arrive."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

from logwarden.config import Config
from tests.services.helpers import Service
from tests.syslog.sequenced import PacedSender, numbered_in_kafka

pytestmark = pytest.mark.servers

TCP_RATE = 1_000  # lines/s over one connection: well within what 2 parse processes take here
UDP_RATE = 400  # datagrams/s: low enough that the socket loses none on a loaded 2-core box
LISTENING = re.compile(r"listening udp=(?:\('([\d.]+)', (\d+)\)|None) tcp=(?:\('([\d.]+)', (\d+)\)|None)")
DIED = re.compile(r"syslog parse process (\d) \(pid (\d+)\) died: killed by SIGKILL.*; (\d+) message\(s\) it held")


def _children(pid: int) -> set[int]:
    """The child processes of `pid`, whichever of its threads started them."""
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with open(task / "children", encoding="ascii") as listing:
            out.update(int(p) for p in listing.read().split())
    return out


def _until(what: str, check, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.1)


def _kill_one_parse_process(service: Service) -> int:
    """SIGSTOP one parse process for 2 s (the receiver keeps handing it batches until its queue is
    full, then the other one takes them), then SIGKILL it; returns its pid once a new one runs."""
    before = _children(service.proc.pid)
    assert len(before) == 2, before
    victim = max(before)
    os.kill(victim, signal.SIGSTOP)
    time.sleep(2)
    os.kill(victim, signal.SIGKILL)
    service.wait_for("died: killed by SIGKILL")
    service.wait_for("started again", timeout=60)
    _until("a new parse process", lambda: len(_children(service.proc.pid) - {victim}) == 2)
    return victim


def _run(ns: Config, proto: str, rate: int) -> tuple[dict[str, int], list[tuple[int, bytes]], int, Service]:
    service = Service(ns, "ship", "syslog", f"--{proto}", "127.0.0.1:0", "--parse-workers", "2", "--json",
                      "--grace", "5", "--spool-dir", str(Path(ns.state) / "spool"))
    service.wait_for("listening")
    match = next(m for m in map(LISTENING.search, service.lines) if m)
    host, port = (match.group(1), match.group(2)) if proto == "udp" else (match.group(3), match.group(4))
    sender = PacedSender((host, int(port)), rate, udp=proto == "udp").start()
    try:
        time.sleep(3)
        victim = _kill_one_parse_process(service)
        time.sleep(3)  # the restarted process takes its share again
    finally:
        sent = sender.stop()
    code, out = service.stop()  # no pause first: the stop reads what the sender left (syslog.py DRAIN_QUIET)
    assert code == 0, "\n".join(service.lines[-30:])
    counts = json.loads(out.strip().splitlines()[-1])
    log = "\n".join(service.lines)
    assert "Traceback" not in log, log[-3000:]
    died = DIED.findall(log)
    assert len(died) == 1 and int(died[0][1]) == victim, log[-3000:]  # logged once, with the reason
    assert counts["rehanded"] == int(died[0][2]) > 0, counts  # SIGSTOPped with batches on its queue
    assert counts["parse_restarts"] == 1 and counts["parse_died"] == counts["lost"] == 0, counts
    assert counts["dropped"] == 0 and counts["left_in_spool"] == 0, counts
    assert counts["received"] == counts["parsed"] + counts["dead"] == counts[proto], counts
    seen = numbered_in_kafka(ns, ("firewall", "deadletter"), counts["received"])
    return counts, seen, sent, service


def _one_id_per_number(seen: list[tuple[int, bytes]]) -> int:
    """Checks that every copy carries its original's id; returns the number of copies."""
    ids: dict[int, set[bytes]] = {}
    for number, mid in seen:
        ids.setdefault(number, set()).add(mid)
    assert all(len(v) == 1 for v in ids.values()), "a copy with another id: Elasticsearch would keep both"
    return len(seen) - len(ids)


def test_a_parse_process_killed_under_tcp_load_loses_no_line(ns: Config) -> None:
    counts, seen, sent, _ = _run(ns, "tcp", TCP_RATE)
    numbers = {n for n, _ in seen}
    assert counts["received"] == sent > 5 * TCP_RATE, counts
    assert numbers == set(range(sent)), f"missing: {sorted(set(range(sent)) - numbers)[:20]}"
    copies = _one_id_per_number(seen)
    print(f"\nTCP: sent {sent}, re-handed {counts['rehanded']}, in Kafka {len(seen)} ({copies} copies, "
          f"each with its original's id); {counts}")


def test_a_parse_process_killed_under_udp_load_loses_no_accepted_line(ns: Config) -> None:
    counts, seen, sent, _ = _run(ns, "udp", UDP_RATE)
    numbers = {n for n, _ in seen}
    # UDP loss before the receiver (the socket's buffer, its queue) is counted, not the point here
    assert counts["received"] + counts["udp_overflow"] + counts["udp_kernel_dropped"] == sent, counts
    assert counts["received"] > 5 * UDP_RATE, counts
    assert len(numbers) == counts["received"] and numbers <= set(range(sent)), \
        f"accepted {counts['received']}, in Kafka {len(numbers)}"
    copies = _one_id_per_number(seen)
    print(f"\nUDP: sent {sent}, accepted {counts['received']}, re-handed {counts['rehanded']}, in Kafka "
          f"{len(seen)} ({copies} copies, each with its original's id); {counts}")
