"""The UDP receive path (logwarden/shippers/receive_queue.py and SyslogServer's two UDP threads)
on loopback with a ListSink: datagrams leave the socket while parsing waits; what the queue
cannot hold is counted and reported, never silent; a stop parses what is queued; the kernel's
own drops are read back."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from logwarden.shippers import autodetect
from logwarden.shippers.base import DeadLetter, Event, ListSink
from logwarden.shippers.receive_queue import ENTRY_OVERHEAD, DatagramQueue
from logwarden.shippers.syslog import SyslogServer, kernel_drops

LINE = b"<13>Apr 14 00:00:00 fw01 kernel: IN=eth0 OUT= SRC=203.0.113.7 DST=10.0.0.2 PROTO=TCP SPT=40000 DPT=3389"


def _address(server: SyslogServer) -> tuple[str, int]:
    assert server.udp_address is not None
    return server.udp_address


def _wait(condition, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while not condition() and time.monotonic() < end:
        time.sleep(0.01)
    return bool(condition())


def test_queue_keeps_order_and_its_byte_bound(caplog: pytest.LogCaptureFixture) -> None:
    queue = DatagramQueue(max_bytes=3 * (10 + ENTRY_OVERHEAD))
    with caplog.at_level(logging.WARNING, logger="logwarden.shippers.receive_queue"):
        taken = [queue.put(bytes([65 + k]) * 10, ("127.0.0.1", k)) for k in range(5)]
    assert taken == [True, True, True, False, False]
    assert queue.overflow == 2
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, "one warning per interval, not one per datagram"
    assert "receive queue full" in warnings[0] and "1 datagram(s) dropped so far" in warnings[0]
    batch = queue.take(0.1, limit=2)
    assert [address[1] for _, address in batch] == [0, 1]
    assert queue.queued_bytes == 10 + ENTRY_OVERHEAD
    assert queue.put(b"x" * 10, ("127.0.0.1", 9))  # room again
    assert [address[1] for _, address in queue.take(0.1)] == [2, 9]
    assert queue.take(0.05) == [] and queue.queued_bytes == 0
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="logwarden.shippers.receive_queue"):
        queue.final_report()
    assert "2 datagram(s) dropped in all" in caplog.text


def test_take_wakes_when_a_datagram_arrives() -> None:
    queue = DatagramQueue()
    timer = threading.Timer(0.2, queue.put, args=(b"late", ("127.0.0.1", 1)))
    timer.start()
    batch = queue.take(30.0)
    timer.join()
    assert batch == [(b"late", ("127.0.0.1", 1))]


def test_datagrams_leave_the_socket_while_parsing_waits() -> None:
    """Parsing blocked: every datagram is still taken off the socket into the queue (before,
    they waited in the kernel buffer behind the parser); released, all are parsed, in order."""
    release = threading.Event()
    parsed: list[bytes] = []

    def blocked_parse(raw: bytes, source: str, seq: int) -> Event | DeadLetter:
        release.wait(30)
        parsed.append(raw)
        return autodetect.parse_line(raw, source, seq)

    sink = ListSink()
    server = SyslogServer(sink, udp=("127.0.0.1", 0), parse=blocked_parse).start()
    sent = 300
    datagrams = [LINE + f" seq={k}".encode() for k in range(sent)]
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for datagram in datagrams:
                sender.sendto(datagram, _address(server))
        # every datagram went through the queue while the parser still holds the first one it took
        # (how many the parsing thread took in its first batch depends on scheduling, so the queue
        # itself may be empty by now; what matters is that the socket was emptied into it)
        everything = sum(len(d) + ENTRY_OVERHEAD for d in datagrams)
        assert _wait(lambda: server.udp_queue.bytes_in == everything), server.udp_queue.bytes_in
        # the parsing thread's first take (one sender: one hand-off) waits on its first datagram
        assert _wait(lambda: server.counters.received >= 1), "the first take handed to parsing, the rest wait"
        assert not parsed and not sink.events and not sink.dead
        release.set()
        assert _wait(lambda: server.counters.received == sent)
    finally:
        release.set()
        server.stop()
    assert parsed == datagrams, "every datagram parsed once, in arrival order"
    assert len(sink.events) + len(sink.dead) == sent
    assert server.counters.udp_overflow == 0 and server.counters.udp_kernel_dropped == 0


def test_a_full_queue_is_counted_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    """A slow parser and a small queue: sent = parsed + dead + udp_overflow + udp_kernel_dropped,
    some overflow, and a warning that says why."""
    def slow_parse(raw: bytes, source: str, seq: int) -> Event | DeadLetter:
        time.sleep(0.002)
        return autodetect.parse_line(raw, source, seq)

    sink = ListSink()
    server = SyslogServer(sink, udp=("127.0.0.1", 0), parse=slow_parse, udp_queue_bytes=20 * 1024).start()
    sent = 2_000
    with caplog.at_level(logging.WARNING):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for k in range(sent):
                    sender.sendto(LINE + f" seq={k}".encode(), _address(server))
            assert _wait(lambda: server.arrived + (kernel_drops(server.udp_sock) or 0) >= sent)  # type: ignore[arg-type]
        finally:
            server.stop()
    counters = server.counters
    assert counters.udp_overflow > 0
    assert counters.parsed + counters.dead + counters.udp_overflow + counters.udp_kernel_dropped == sent
    assert counters.received == len(sink.events) + len(sink.dead) == counters.udp
    assert "receive queue full" in caplog.text and "parsing is slower than the input" in caplog.text
    assert server.arrived == counters.received + counters.udp_overflow


def test_stop_parses_what_is_queued() -> None:
    def slow_parse(raw: bytes, source: str, seq: int) -> Event | DeadLetter:
        time.sleep(0.001)
        return autodetect.parse_line(raw, source, seq)

    sink = ListSink()
    server = SyslogServer(sink, udp=("127.0.0.1", 0), parse=slow_parse).start()
    sent = 500
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for k in range(sent):
            sender.sendto(LINE + f" seq={k}".encode(), _address(server))
    assert _wait(lambda: server.counters.received + len(server.udp_queue) == sent)
    server.stop()  # most are still queued here
    assert server.counters.received == len(sink.events) + len(sink.dead) == sent
    assert server.counters.udp_overflow == 0


def test_kernel_drops_reads_the_sockets_own_count() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        receiver.bind(("127.0.0.1", 0))
        assert kernel_drops(receiver) == 0
        for _ in range(500):  # never read: the small buffer overflows
            sender.sendto(LINE, receiver.getsockname())
        assert (kernel_drops(receiver) or 0) > 0


def test_a_second_stop_keeps_the_counts() -> None:
    server = SyslogServer(ListSink(), udp=("127.0.0.1", 0)).start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(LINE, _address(server))
    assert _wait(lambda: server.counters.received == 1)
    server.stop()
    server.stop()  # serve_until's and a `with` block's stop: the socket is closed by then
    assert server.counters.received == 1 and server.counters.udp_kernel_dropped == 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as closed:
        closed.close()
        assert kernel_drops(closed) is None
