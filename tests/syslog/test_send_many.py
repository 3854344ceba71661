"""`SpoolingSink.send_many`, the batch the receiver hands over per TCP read: the same outcome as
`send` per message (Kafka first; the spool, in order, once the producer cannot take one; the
index of the first message a full spool refused), without servers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kafka.errors import KafkaConnectionError

from logwarden.config import Config
from logwarden.kafka_io import Message
from logwarden.shippers.base import Event, ListSink
from logwarden.shippers.spool import Spool, encode_record
from logwarden.shippers.spooling_sink import SpoolingSink
from logwarden.shippers.syslog import SyslogServer
from tests.support.kafka_stand_in import StandInKafka

CFG = Config(topic_prefix="lw.")


def _event(i: int) -> Event:
    return Event(f"ev-{i}", "firewall", "fw01", {"@timestamp": "2020-04-14T00:00:00Z", "n": i}, i)


def _unreachable() -> object:
    raise KafkaConnectionError("no broker")


def _direct(sink: SpoolingSink) -> None:
    end = time.monotonic() + 60
    while sink.spooling and time.monotonic() < end:
        time.sleep(0.01)
    assert not sink.spooling


def test_a_full_spool_refuses_from_an_index_on(tmp_path: Path) -> None:
    one = len(encode_record(Message("lw.firewall", b"fw01", b"x" * 80, "ev-0")))
    sink = SpoolingSink(CFG, Spool(tmp_path, max_bytes=10 * one), connect=_unreachable)  # type: ignore[arg-type]
    refused_at = sink.send_many([_event(i) for i in range(30)])
    counters = sink.close(grace=0.1)
    assert refused_at is not None and 5 <= refused_at < 30
    assert counters.spooled == refused_at and counters.spool_refused == 1  # nothing after it was offered
    again = Spool(tmp_path, max_bytes=10 * one)
    assert [m.id for m in again.read(again.oldest())] == [f"ev-{i}" for i in range(refused_at)]  # type: ignore[arg-type]
    again.close()


def test_direct_then_spooled_from_the_message_the_producer_refused(tmp_path: Path) -> None:
    kafka = StandInKafka(capacity=3)
    sink = SpoolingSink(CFG, Spool(tmp_path, max_bytes=1 << 20), connect=lambda: kafka)  # type: ignore[arg-type, return-value]
    _direct(sink)
    assert sink.send_many([_event(i) for i in range(8)]) is None
    assert [m.id for m in kafka.produced] == ["ev-0", "ev-1", "ev-2"]
    assert sink.counters.direct == 3 and sink.counters.spooled == 5 and sink.spooling
    assert not sink._pending, "the acknowledged messages are no longer pending"
    spooled = sink.spool.read(sink.spool.oldest())  # type: ignore[arg-type]
    assert [m.id for m in spooled] == [f"ev-{i}" for i in range(3, 8)]
    sink.close(grace=0)


def test_the_receiver_hands_a_read_over_as_one_batch() -> None:
    batches: list[int] = []

    class Batching(ListSink):
        def send_many(self, items: list[Any]) -> None:
            batches.append(len(items))
            for item in items:
                self.send(item)

    sink = Batching()
    server = SyslogServer(sink, tcp=("127.0.0.1", 0))
    server.handle_frames([b"<13>Apr 14 00:00:00 host app: line %d" % i for i in range(5)], "tcp", "127.0.0.1:1")
    assert batches == [5] and len(sink.events) + len(sink.dead) == 5 and server.counters.received == 5
