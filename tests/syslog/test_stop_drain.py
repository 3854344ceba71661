"""A stop reads what an open TCP connection already delivered (SyslogServer with a ListSink, real
loopback sockets): TCP acknowledged those bytes, so the sender will not resend them, and closing
with them unread lost most of a burst (1,699 of 20,000 lines received, before). A sender that
keeps sending is cut at the stop's deadline, logged and counted."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from logwarden.shippers.base import ListSink
from logwarden.shippers.syslog import SyslogServer
from tests.syslog.sequenced import line

BURST = 20_000
# the stop's deadline only cuts a sender that keeps sending: reading the burst must not meet it,
# however slowly a loaded box parses (the default 5 s was passed at a load average of 7)
STOP_PATIENCE = 120.0


def test_a_stop_reads_what_an_open_connection_already_sent() -> None:
    sink = ListSink()
    server = SyslogServer(sink, tcp=("127.0.0.1", 0)).start()
    address = server.tcp_address
    assert address is not None
    sender = socket.create_connection(address)
    try:
        sender.sendall(b"".join(line(n) for n in range(BURST)))  # still open: no EOF tells the receiver
        server.stop(timeout=STOP_PATIENCE)
    finally:
        sender.close()
    assert server.counters.received == BURST, server.counters.as_dict()
    assert len(sink.events) == BURST and not sink.dead and server.counters.cut_at_stop == 0


def test_a_sender_that_keeps_sending_is_cut_at_the_deadline_and_said_so(caplog: pytest.LogCaptureFixture,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # a flooding thread the box does not schedule for DRAIN_QUIET would look like a sender that
    # stopped (read to its end, not cut): the quiet is made longer than any pause a loaded box
    # gives the thread, so only the stop's deadline ends the drain
    monkeypatch.setattr("logwarden.shippers.syslog.DRAIN_QUIET", 30.0)
    server = SyslogServer(ListSink(), tcp=("127.0.0.1", 0)).start()
    address = server.tcp_address
    assert address is not None
    sender = socket.create_connection(address)
    done = threading.Event()

    def flood() -> None:
        n = 0
        try:
            while not done.is_set():
                sender.sendall(line(n))
                n += 1
        except OSError:
            pass  # the receiver closed the connection at its deadline

    flooding = threading.Thread(target=flood, daemon=True)
    flooding.start()
    try:
        deadline = time.monotonic() + 60
        while server.counters.received < 100:  # the flood is flowing
            assert flooding.is_alive() and time.monotonic() < deadline, server.counters.as_dict()
            done.wait(0.01)
        with caplog.at_level(logging.WARNING, logger="logwarden.shippers.syslog"):
            server.stop(timeout=1.0)
    finally:
        done.set()
        sender.close()
        flooding.join(10)
    assert server.counters.cut_at_stop == 1, server.counters.as_dict()
    assert any("still sending" in r.getMessage() for r in caplog.records), caplog.text
