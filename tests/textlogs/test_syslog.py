"""The syslog receiver on loopback sockets with a ListSink: UDP, TCP (newline and octet-counted
framing, split across packets), TLS, oversized frames, counts, and a clean stop."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from logwarden.shippers.base import DeadLetter, Event, ListSink
from logwarden.shippers.syslog import MAX_FRAME, Framer, SyslogServer, tls_context

FG = b'<189>date=2020-04-14 time=00:22:05 devname="FG1" devid="X" logid="13" type="traffic" action="deny" ' \
     b'srcip=10.0.0.1 dstip=10.0.0.2 proto=6'
ASA = b"<166>Apr 14 2020 00:20:15: %ASA-2-106001: Inbound TCP connection denied from 198.51.100.9/40000 " \
      b"to 192.168.10.21/445 flags SYN  on interface outside"
R5424 = b'<14>1 2020-04-14T01:10:00.000Z esmc ERAServer 1234 - [x@1 a="b"] {"event_type":"Threat_Event",' \
        b'"hostname":"pc-07","occured":"14-Apr-2020 01:10:00","threat_name":"Eicar","action_taken":"quarantined"}'
GARBAGE = b"<13>Apr 14 00:00:00 host app: nothing we know"


def bound(address: tuple[str, int] | None) -> tuple[str, int]:
    """The address a started server listens on (None only before `start`)."""
    assert address is not None
    return address


def wait_for(server: SyslogServer, n: int, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while server.counters.received < n and time.monotonic() < end:
        time.sleep(0.01)


def test_udp_and_tcp_newline_and_octet_counting() -> None:
    sink = ListSink()
    server = SyslogServer(sink, udp=("127.0.0.1", 0), tcp=("127.0.0.1", 0)).start()
    try:
        assert server.udp_address and server.udp_address[1] > 0
        assert server.udp_rcvbuf and server.udp_rcvbuf >= 212992
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for msg in (FG, ASA, R5424, GARBAGE):
            u.sendto(msg, bound(server.udp_address))
        u.close()
        wait_for(server, 4)
        with socket.create_connection(bound(server.tcp_address)) as c:
            c.sendall(FG + b"\n" + ASA[:30])  # newline frame, then a frame split across sends
            time.sleep(0.05)
            c.sendall(ASA[30:] + b"\n")
            octet = R5424
            payload = str(len(octet)).encode() + b" " + octet + str(len(GARBAGE)).encode() + b" " + GARBAGE
            c.sendall(payload[:5])
            time.sleep(0.05)
            c.sendall(payload[5:])
            c.sendall(b"\n\n")  # blank lines are not messages
        wait_for(server, 8)
    finally:
        server.stop()
    counts = server.counters
    assert (counts.received, counts.parsed, counts.dead, counts.udp, counts.tcp) == (8, 6, 2, 4, 4)
    assert len(sink.events) == 6 and len(sink.dead) == 2
    assert {e.doc["event"]["module"] for e in sink.events} == {"fortinet_fortigate", "cisco_asa", "eset"}
    assert all(d.reason == "unrecognised format" for d in sink.dead)
    eset = [e for e in sink.events if e.dataset == "av"]
    assert eset and eset[0].doc["rule"]["name"] == "Eicar"
    assert len({e.id for e in sink.events}) == 6  # identical lines still get distinct ids


def test_serve_until_stops_on_count_and_duration() -> None:
    sink = ListSink()
    server = SyslogServer(sink, udp=("127.0.0.1", 0)).start()
    addr = bound(server.udp_address)

    def send() -> None:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(50):
            u.sendto(FG, addr)
        u.close()

    threading.Thread(target=send).start()
    t0 = time.monotonic()
    counters = server.serve_until(max_messages=50, duration=60)  # the count ends it, long before the duration
    assert counters.received == 50 and time.monotonic() - t0 < 60
    server2 = SyslogServer(ListSink(), tcp=("127.0.0.1", 0)).start()
    t0 = time.monotonic()
    server2.serve_until(duration=0.3)
    assert time.monotonic() - t0 < 30  # the duration ended it (a loaded box may be seconds late), not never


def test_framer_oversized_and_partial() -> None:
    f = Framer(max_frame=100)
    assert f.feed(b"3 abc") == [b"abc"]
    out = f.feed(b"z" * 150)
    assert len(out) == 1 and type(out[0]).__name__ == "Oversized"
    assert f.feed(b"zz\nok line\n") == [b"ok line"]
    assert f.feed(b"12") == []  # maybe a length prefix
    assert f.feed(b" hello world!") == [b"hello world!"]
    assert f.feed(b"tail without newline") == [] and f.close() == [b"tail without newline"]


def test_framer_bad_octet_count_falls_back_to_newline_framing() -> None:
    f = Framer(max_frame=100)
    out = f.feed(b"999999999 <13>first line\n<13>second line\n")
    assert out == [b"999999999 <13>first line", b"<13>second line"]
    assert type(out[0]).__name__ == "BadCount" and type(out[1]) is bytes
    assert f.feed(b"5 hello\n") == [b"5 hello"]  # newline framing for the rest of the connection
    assert f.feed(b"tail") == [] and f.close() == [b"tail"]
    g = Framer(max_frame=100)
    assert g.feed(b"101 ") == [] and g.feed(b"abc") == []  # waits for the end of the bad line
    bad = g.close()
    assert len(bad) == 1 and type(bad[0]).__name__ == "BadCount"


def test_bad_octet_count_over_tcp_keeps_the_following_lines() -> None:
    sink = ListSink()
    server = SyslogServer(sink, tcp=("127.0.0.1", 0)).start()
    try:
        with socket.create_connection(bound(server.tcp_address)) as c:
            c.sendall(b"999999999 " + FG + b"\n" + ASA + b"\n" + FG + b"\n")
        wait_for(server, 3)
    finally:
        server.stop()
    assert server.counters.received == 3
    assert len(sink.events) == 2 and len(sink.dead) == 1
    assert {e.doc["event"]["module"] for e in sink.events} == {"cisco_asa", "fortinet_fortigate"}
    assert sink.dead[0].reason.startswith("octet count 999999999 exceeds the maximum frame")


def test_one_megabyte_tcp_line_and_oversized_frame_are_counted() -> None:
    sink = ListSink()
    server = SyslogServer(sink, tcp=("127.0.0.1", 0)).start()
    try:
        with socket.create_connection(bound(server.tcp_address)) as c:
            c.sendall(FG + b" pad=" + b"A" * 1_000_000 + b"\n")
            c.sendall(b"Z" * (MAX_FRAME + 10) + b"\n")
            c.sendall(ASA + b"\n")
        wait_for(server, 3)
    finally:
        server.stop()
    assert server.counters.received == 3
    assert len(sink.events) == 2 and len(sink.dead) == 1
    assert sink.dead[0].reason.startswith("oversized frame")


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    crt, key = d / "c.pem", d / "k.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                        str(crt), "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl not available: {exc}")
    return crt, key


def test_tls(cert: tuple[Path, Path]) -> None:
    sink = ListSink()
    server = SyslogServer(sink, tcp=("127.0.0.1", 0), tls=tls_context(str(cert[0]), str(cert[1]))).start()
    try:
        ctx = ssl.create_default_context(cafile=str(cert[0]))
        ctx.check_hostname = False
        with socket.create_connection(bound(server.tcp_address)) as raw, ctx.wrap_socket(raw) as c:
            c.sendall(FG + b"\n" + str(len(ASA)).encode() + b" " + ASA)
        wait_for(server, 2)
    finally:
        server.stop()
    assert len(sink.events) == 2
    assert all(isinstance(e, Event) for e in sink.events)
    assert not [d for d in sink.dead if isinstance(d, DeadLetter)]


def closed_by_server(c: socket.socket) -> bool:
    """True when the server closed `c` (recv sees the end) within 10 s."""
    c.settimeout(10)
    try:
        return c.recv(1) == b""
    except (ConnectionResetError, TimeoutError) as exc:
        return isinstance(exc, ConnectionResetError)


def test_finished_connections_are_forgotten() -> None:
    sink = ListSink()
    server = SyslogServer(sink, tcp=("127.0.0.1", 0)).start()
    try:
        for _ in range(50):
            with socket.create_connection(bound(server.tcp_address)) as c:
                c.sendall(FG + b"\n")
        wait_for(server, 50)
        end = time.monotonic() + 60
        while server._conn_threads and time.monotonic() < end:
            time.sleep(0.01)
        assert server.counters.received == 50 and server.counters.connections == 50
        assert len(server._threads) == 1 and not server._conn_threads  # only the accept loop is kept
    finally:
        server.stop()


def test_connections_beyond_the_maximum_are_closed_and_idle_ones_too() -> None:
    sink = ListSink()
    server = SyslogServer(sink, tcp=("127.0.0.1", 0), max_connections=2, idle_timeout=600).start()
    try:
        first = socket.create_connection(bound(server.tcp_address))
        second = socket.create_connection(bound(server.tcp_address))
        first.sendall(FG + b"\n")
        second.sendall(ASA + b"\n")
        wait_for(server, 2)
        with socket.create_connection(bound(server.tcp_address)) as third:
            assert closed_by_server(third)
        assert server.counters.refused == 1
        first.close()
        end = time.monotonic() + 60
        while len(server._conn_threads) > 1 and time.monotonic() < end:
            time.sleep(0.01)
        with socket.create_connection(bound(server.tcp_address)) as fourth:  # room again
            fourth.sendall(FG + b"\n")
            wait_for(server, 3)
        assert server.counters.received == 3 and server.counters.refused == 1
        second.close()
    finally:
        server.stop()
    idle_server = SyslogServer(ListSink(), tcp=("127.0.0.1", 0), idle_timeout=0.5).start()
    try:
        with socket.create_connection(bound(idle_server.tcp_address)) as quiet:
            assert closed_by_server(quiet)
        assert idle_server.counters.idle_closed == 1
    finally:
        idle_server.stop()
