"""The syslog sender without servers: `ship syslog`'s receiver stamps `log.source.address` on
events and dead letters, and silence detection keys senders by its ip (every port together)."""

from __future__ import annotations

import socket
import time

from logwarden.detection.silence import Episode, Seen, alert_doc, current, evaluate, resumed_doc, sender_ip
from logwarden.shippers.base import DeadLetter, ListSink
from logwarden.shippers.syslog import SyslogServer, sender_address
from logwarden.silence_settings import Settings

NOW = 1_800_000_000.0
GAP = 600.0
SETTINGS = Settings(True, GAP, {"av": 3600.0}, 86400.0)
HUAWEI = b"<190>2024-05-10 08:00:01 USG6300 %%01POLICY/6/POLICYPERMIT(l):vsys=public, protocol=6, " \
         b"source-ip=203.0.113.7, source-port=51000, destination-ip=10.1.1.5, destination-port=3389, " \
         b"time=2024/5/10 08:00:01, source-zone=untrust, destination-zone=trust, rule-name=rdp-in."


def seen(family: str, host: str, last: float, sender: str = "", recent: int = 100) -> Seen:
    return Seen(family, host, "", family, last, NOW - 20000, last - 5, recent, NOW - 20000, sender)


def test_sender_address_is_ip_colon_port_and_v6_in_brackets() -> None:
    assert sender_address(("10.0.0.9", 514)) == "10.0.0.9:514"
    assert sender_address(("fe80::1", 5514, 0, 0)) == "[fe80::1]:5514"
    assert sender_ip("10.0.0.9:514") == "10.0.0.9"
    assert sender_ip("[fe80::1]:5514") == "fe80::1"
    assert sender_ip("10.0.0.9") == "10.0.0.9" and sender_ip("fe80::1") == "fe80::1"


def _wait(sink: ListSink, n: int) -> None:
    deadline = time.monotonic() + 60  # a poll: returns as soon as they are there
    while len(sink.events) + len(sink.dead) < n and time.monotonic() < deadline:
        time.sleep(0.02)


def test_events_and_dead_letters_carry_the_udp_and_tcp_sender() -> None:
    sink = ListSink()
    with SyslogServer(sink, udp=("127.0.0.1", 0), tcp=("127.0.0.1", 0)) as server:
        assert server.udp_address and server.tcp_address
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.2", 0))  # another loopback address: the sender is not the receiver
        udp.sendto(HUAWEI, server.udp_address)
        udp.sendto(b"\x01 not a log line anyone writes", server.udp_address)
        tcp = socket.create_connection(server.tcp_address, source_address=("127.0.0.3", 0))
        tcp.sendall(HUAWEI + b"\n")
        _wait(sink, 3)
        udp_port, tcp_port = udp.getsockname()[1], tcp.getsockname()[1]
        udp.close()
        tcp.close()
    by_sender = {e.doc["log"]["source"]["address"]: e.doc for e in sink.events}
    assert set(by_sender) == {f"127.0.0.2:{udp_port}", f"127.0.0.3:{tcp_port}"}
    assert by_sender[f"127.0.0.2:{udp_port}"]["destination"]["port"] == 3389  # parsed as usual
    [dead] = sink.dead
    doc = dead.to_doc()
    assert doc["log"]["source"]["address"] == f"127.0.0.2:{udp_port}"
    assert doc["logwarden"]["origin"].endswith(f"/udp:127.0.0.2:{udp_port}")


def test_a_dead_letter_not_from_syslog_has_no_sender() -> None:
    doc = DeadLetter("/var/log/x.log", b"junk", "unknown format", "unknown", 3).to_doc()
    assert doc["logwarden"]["origin"] == "/var/log/x.log" and doc["log"] == {"offset": 3}


def test_a_quiet_sender_is_silent_whatever_its_host_name_and_ports() -> None:
    # two devices send under one host name: the name stays heard, the quiet sender is named
    sources = [seen("firewall", "fw", NOW - 5, "10.0.0.1"),
               seen("firewall", "fw", NOW - GAP - 30, "10.0.0.2"),
               seen("firewall", "fw", NOW - GAP - 90, "10.0.0.2")]  # an older TCP connection (other port)
    silences, lasts = current(sources, NOW, SETTINGS)
    assert [(s.kind, s.family, s.host) for s in silences] == [("sender", "syslog", "10.0.0.2")]
    assert silences[0].last == NOW - GAP - 30 and silences[0].threshold == GAP
    assert lasts[("sender", "syslog", "10.0.0.1", "")] == NOW - 5


def test_a_sender_takes_the_largest_gap_of_the_families_it_sends() -> None:
    both = [seen("firewall", "fw", NOW - 2000, "10.0.0.3"), seen("av", "pc", NOW - 2000, "10.0.0.3")]
    assert not [s for s in current(both, NOW, SETTINGS)[0] if s.kind == "sender"]  # av: 3600 s
    alone = [seen("firewall", "fw", NOW - 2000, "10.0.0.3")]
    assert [s.host for s in current(alone, NOW, SETTINGS)[0] if s.kind == "sender"] == ["10.0.0.3"]


def test_a_sender_episode_opens_once_and_closes_when_it_is_heard() -> None:
    quiet = [seen("firewall", "fw", NOW - 5, "10.0.0.1"), seen("firewall", "fw", NOW - GAP - 1, "10.0.0.2")]
    [opened], _ = evaluate(quiet, [], NOW, SETTINGS)
    doc = alert_doc(opened, NOW)
    assert doc["rule"]["id"] == "silence-sender" and doc["silence"]["sender"] == "10.0.0.2"
    assert "host" not in doc and "10.0.0.2" in doc["event"]["reason"]
    episode = Episode(opened.alert_id, "sender", "syslog", "10.0.0.2", "", opened.last)
    assert evaluate(quiet, [episode], NOW + 10, SETTINGS) == ([], [])  # same episode: no second alert
    back = [seen("firewall", "fw", NOW + 15, "10.0.0.1"), seen("firewall", "fw", NOW + 20, "10.0.0.2")]
    assert evaluate(back, [episode], NOW + 30, SETTINGS) == ([], [(episode, NOW + 20)])
    end = resumed_doc(episode, NOW + 20, NOW + 30)
    assert end["silence"]["sender"] == "10.0.0.2" and end["silence"]["alert_id"] == opened.alert_id
