"""Silence per syslog sender on the real servers: two firewalls send over UDP to `logwarden ship
syslog` from two addresses (127.0.0.2 and 127.0.0.3) under ONE host name in their syslog header,
`index` and `detect --interval 2s` (15 s gap) run. The second sender stops: the silence alert
names it (its address), while the shared host name, still heard through the first sender, raises
nothing; when the sender resumes, a `resumed` document closes the episode. The source-health
dashboard's sender panel lists both senders."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from logwarden.config import Config
from logwarden.dashboards import OUT, parse_ndjson
from logwarden.dashboards.query import panel_queries, run_panel
from logwarden.es_io import client
from tests.textlogs.test_syslog_servers import start_receiver

from .test_silence_servers import GAP, INTERVAL, PASS_SLACK, WAIT, _of, _start, _stop, _wait_for

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]

SENDERS = ("127.0.0.2", "127.0.0.3")
LINE = ("<190>Apr 14 2020 00:20:{s:02d} USG-CORE %%01POLICY/6/POLICYDENY(l):vsys=public, protocol=6, "
        "source-ip=203.0.113.91, source-port={port}, destination-ip=192.168.10.21, destination-port=445, "
        "time=2020/4/14 00:20:{s:02d}, source-zone=untrust, destination-zone=trust, rule-name=default.")


class Senders(threading.Thread):
    """One denied-session line a second from each sender that is switched on."""

    def __init__(self, receiver: tuple[str, int]) -> None:
        super().__init__(daemon=True)
        self.receiver = receiver
        self.socks = {ip: socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for ip in SENDERS}
        for ip, sock in self.socks.items():
            sock.bind((ip, 0))
        self.on = dict.fromkeys(SENDERS, True)
        self.done = threading.Event()
        self.rounds = 0

    def address(self, ip: str) -> str:
        return f"{ip}:{self.socks[ip].getsockname()[1]}"

    def run(self) -> None:
        while not self.done.is_set():
            for ip, sock in self.socks.items():
                if self.on[ip]:
                    sock.sendto(LINE.format(s=self.rounds % 60, port=40000 + self.rounds).encode(), self.receiver)
            self.rounds += 1
            self.done.wait(1.0)
        for sock in self.socks.values():
            sock.close()


@pytest.fixture
def running(ns: Config) -> Iterator[tuple[Config, Senders, list[subprocess.Popen[str]]]]:
    receiver, udp, _ = start_receiver(ns)
    senders = Senders(udp)
    senders.start()
    env = {"LOGWARDEN_SILENCE_GAP": f"{GAP:g}s", "LOGWARDEN_SILENCE_BASELINE": "1h"}
    procs = [_start(ns, "index"), _start(ns, "detect", "--interval", f"{INTERVAL:g}s", **env)]
    try:
        yield ns, senders, [receiver, *procs]
    finally:
        senders.done.set()
        senders.join(30)
        for p in procs:
            if p.poll() is None:
                _stop(p)
        if receiver.poll() is None:
            receiver.send_signal(signal.SIGTERM)
            receiver.communicate(timeout=60)


def test_a_sender_that_stops_is_named_by_its_alert_and_closed_when_it_resumes(running: Any) -> None:
    cfg, senders, procs = running
    es = client(cfg)
    deadline = time.monotonic() + WAIT
    while senders.rounds < 6:  # a baseline for both senders
        assert senders.is_alive() and time.monotonic() < deadline, f"the senders stopped after {senders.rounds} rounds"
        time.sleep(0.5)
    quiet, talking = SENDERS[1], SENDERS[0]
    senders.on[quiet] = False

    docs = _wait_for(es, cfg, lambda d: _of(d, "sender", quiet), "sender silence alert", procs)
    [alert] = _of(docs, "sender", quiet)
    assert alert["rule"]["id"] == "silence-sender" and alert["event"]["kind"] == "alert"
    assert alert["silence"]["sender"] == quiet and alert["silence"]["family"] == "syslog"
    assert quiet in alert["event"]["reason"]
    assert GAP < alert["silence"]["gap_seconds"] <= GAP + INTERVAL + PASS_SLACK
    assert alert["silence"]["rate_per_hour"] > 0
    assert not _of(docs, "sender", talking)
    assert not _of(docs, "source", "USG-CORE")  # the host name is still heard, through the other sender

    senders.on[quiet] = True

    def closing(d: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [x for x in _of(d, "sender", quiet, "resumed") if x["silence"]["alert_id"] == alert["event"]["id"]]

    [resumed] = closing(_wait_for(es, cfg, closing, "resumed document", procs))
    assert resumed["silence"]["sender"] == quiet
    assert resumed["event"]["end"] > alert["silence"]["last_ingested"]
    time.sleep(3 * INTERVAL)  # more passes: still one alert for the episode
    assert len(_of(_wait_for(es, cfg, closing, "resumed document", procs), "sender", quiet)) == 1

    objects = parse_ndjson(OUT.read_text(encoding="utf-8"))
    queries = panel_queries(objects, cfg.index_prefix, "2020-01-01T00:00:00Z", "now+1d")
    [senders_panel] = [pq for pq in queries if pq.panel == "syslog-senders-last-heard"]
    assert {senders.address(ip) for ip in SENDERS} <= set(run_panel(es, senders_panel).buckets)
    err = _stop(procs[2])
    assert "Traceback" not in err, err[-3000:]
    assert "Syslog sender went silent" in err
