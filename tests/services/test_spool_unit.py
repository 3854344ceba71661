"""The syslog spool and the Kafka-or-spool sink without servers: record format, torn writes,
the size limit, the lock, and what the receiver does with refused messages."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest
from kafka.errors import KafkaConnectionError

from logwarden.config import Config
from logwarden.errors import UsageError
from logwarden.kafka_io import Message
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.spool import Spool, encode_record
from logwarden.shippers.spooling_sink import SpoolingSink
from logwarden.shippers.syslog import SyslogServer


def _message(i: int) -> Message:
    return Message("lw.firewall", f"host-{i}".encode(), b'{"n":%d}' % i, f"id-{i}")


def test_records_come_back_in_order_across_segments(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=200)
    for i in range(20):
        assert spool.append(_message(i))
    assert len(spool.segments) > 3 and spool.records == 20
    got: list[Message] = []
    while (segment := spool.oldest()) is not None:
        messages = spool.read(segment)
        got.extend(messages)
        spool.remove(segment, len(messages))
    assert got == [_message(i) for i in range(20)]
    assert spool.records == 0 and spool.bytes == 0 and not list(tmp_path.glob("*.spool"))
    spool.close()


def test_a_torn_last_record_is_counted_and_the_rest_replayed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    for i in range(3):
        spool.append(_message(i))
    spool.close()
    segment = next(tmp_path.glob("*.spool"))
    segment.write_bytes(segment.read_bytes()[:-5])  # a crash in the middle of the third write
    reopened = Spool(tmp_path, max_bytes=1 << 20)
    assert reopened.records == 2
    with caplog.at_level(logging.WARNING):
        assert reopened.read(reopened.oldest()) == [_message(0), _message(1)]  # type: ignore[arg-type]
    assert reopened.damaged == 1 and "not a whole record" in caplog.text
    reopened.close()


def test_the_size_limit_refuses_and_a_second_owner_is_refused(tmp_path: Path) -> None:
    one = len(encode_record(_message(0)))
    spool = Spool(tmp_path, max_bytes=3 * one)
    assert [spool.append(_message(i)) for i in range(5)] == [True, True, True, False, False]
    assert spool.bytes == 3 * one
    with pytest.raises(UsageError, match="in use by another process"):
        Spool(tmp_path, max_bytes=1 << 20)
    spool.close()
    Spool(tmp_path, max_bytes=1 << 20).close()  # the lock went with the first owner


def _event(i: int) -> Event:
    return Event(f"ev-{i}", "firewall", "fw01", {"@timestamp": "2020-04-14T00:00:00Z", "n": i}, i)


def _unreachable() -> object:
    raise KafkaConnectionError("no broker")


def test_kafka_down_from_the_start_spools_then_refuses_once_full(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    cfg = Config(topic_prefix="lw.")
    one = len(encode_record(Message("lw.firewall", b"fw01", b"x" * 80, "ev-0")))
    sink = SpoolingSink(cfg, Spool(tmp_path, max_bytes=10 * one), connect=_unreachable)  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO):
        taken = [sink.send(_event(i)) for i in range(30)]
        dead = sink.send(DeadLetter("syslog/x/udp:1.2.3.4", b"junk", "unknown format", "unknown", 31))
        counters = sink.close(grace=0.1)
    assert taken.count(True) >= 5 and taken.count(False) == 30 - taken.count(True) and dead is False
    assert not sink.accepting()
    assert counters.spool_refused == 31 - counters.spooled and counters.left_in_spool == counters.spooled
    assert caplog.text.count("is full") == 1  # said once, however many were refused
    assert "Kafka at 127.0.0.1:19092 unreachable" in caplog.text
    again = Spool(tmp_path, max_bytes=10 * one)  # still there for the next start, in order
    replay = again.read(again.oldest())  # type: ignore[arg-type]
    assert [m.id for m in replay] == [f"ev-{i}" for i in range(counters.spooled)]
    again.close()


class _Refusing:
    def __init__(self) -> None:
        self.sent: list[object] = []

    def send(self, item: object) -> bool:
        return False

    def flush(self) -> None:
        return None


def test_udp_messages_a_full_sink_refuses_are_dropped_and_counted() -> None:
    server = SyslogServer(_Refusing(), udp=("127.0.0.1", 0), accepting=lambda: False).start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            for _ in range(5):
                u.sendto(b"<13>Apr 14 00:00:00 h clamd[1]: /x: Eicar FOUND", server.udp_address)  # type: ignore[arg-type]
        deadline = time.monotonic() + 60
        while server.counters.dropped < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.stop()
    assert server.counters.received == 5 and server.counters.dropped == 5


def test_tcp_stops_reading_while_the_sink_is_full() -> None:
    room = {"open": False}
    from logwarden.shippers.base import ListSink

    sink = ListSink()
    server = SyslogServer(sink, tcp=("127.0.0.1", 0), accepting=lambda: room["open"]).start()
    try:
        with socket.create_connection(server.tcp_address) as conn:  # type: ignore[arg-type]
            conn.sendall(b"<13>Apr 14 00:00:00 h clamd[1]: /x: Eicar FOUND\n" * 3)
            time.sleep(0.5)
            assert server.counters.received == 0  # nothing read while there is no room
            room["open"] = True
            deadline = time.monotonic() + 60
            while server.counters.received < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        server.stop()
    assert len(sink.events) == 3 and server.counters.dropped == 0
