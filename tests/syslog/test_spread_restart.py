"""`ship syslog --parse-workers`: what a parse process settled and what it did not, without
servers. The sink says when every message it took so far is acknowledged by Kafka or spooled
(`SpoolingSink.mark` / `settled_below`); a parse process whose sink raises (a bug that escapes)
dies, is started again and gets back what it had not settled; a read that killed PARSE_DEATHS
processes becomes dead letters that say so instead of a crash loop."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from logwarden.config import Config
from logwarden.kafka_io import Message
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.spool import Spool, decode_records
from logwarden.shippers.spooling_sink import SpoolingSink
from logwarden.shippers.syslog import SyslogServer
from logwarden.shippers.syslog_spread import PARSE_DEATHS, NoSink, ParsePlan, Spreader, death_reason
from logwarden.shippers.syslog_workers import open_sink
from tests.support.kafka_stand_in import NullProducer
from tests.syslog.sequenced import SEQ, line

CFG = Config(topic_prefix="lw.")


class _Held:
    """A delivery Kafka has not acknowledged yet (`ack()` does)."""

    def __init__(self) -> None:
        self.callbacks: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def add_callback(self, fn: Callable[..., Any], *args: Any) -> None:
        self.callbacks.append((fn, args))

    def add_errback(self, fn: Callable[..., Any], *args: Any) -> None:
        return None

    def ack(self) -> None:
        for fn, args in self.callbacks:
            fn(*args, None)


class _SlowKafka:
    def __init__(self) -> None:
        self.deliveries: list[_Held] = []
        self.producer = NullProducer()

    def produce(self, message: Message) -> _Held:
        self.deliveries.append(_Held())
        return self.deliveries[-1]


def _event(i: int) -> Event:
    return Event(f"ev-{i}", "firewall", "fw01", {"@timestamp": "2020-04-14T00:00:00Z", "n": i}, i)


def test_a_batch_is_settled_once_kafka_acknowledged_each_of_its_messages(tmp_path: Path) -> None:
    kafka = _SlowKafka()
    sink = SpoolingSink(CFG, Spool(tmp_path, max_bytes=1 << 20), connect=lambda: kafka)  # type: ignore[arg-type, return-value]
    end = time.monotonic() + 60
    while sink.spooling and time.monotonic() < end:
        time.sleep(0.01)
    assert not sink.spooling
    assert sink.send_many([_event(i) for i in range(3)]) is None
    first = sink.mark()
    assert sink.send_many([_event(i) for i in range(3, 5)]) is None
    second = sink.mark()
    assert not first < sink.settled_below()
    for delivery in kafka.deliveries[:2]:
        delivery.ack()
    assert not first < sink.settled_below(), "one of the first batch's messages is still pending"
    kafka.deliveries[3].ack()  # the second batch's first: out of order
    kafka.deliveries[2].ack()
    assert first < sink.settled_below() and not second < sink.settled_below()
    kafka.deliveries[4].ack()
    assert second < sink.settled_below()
    sink.close(0.1)


def test_a_spooled_message_is_settled_at_once(tmp_path: Path, refused_port: Callable[[], int]) -> None:
    sink = open_sink(Config(topic_prefix="lw.", kafka=f"127.0.0.1:{refused_port()}"), tmp_path, 1 << 20)
    assert sink.send_many([_event(i) for i in range(3)]) is None and sink.spooling
    assert sink.mark() < sink.settled_below()
    sink.close(0.1)


class _Exploding:
    """The real sink, except that an event whose document holds BOOM raises (a bug that escapes)."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sink, name)

    def send_many(self, items: list[Event | DeadLetter]) -> int | None:
        if any(isinstance(item, Event) and b"BOOM" in orjson.dumps(item.doc) for item in items):
            raise RuntimeError("a parser bug met BOOM")
        result: int | None = self.sink.send_many(items)
        return result


def _exploding_sink(cfg: Any, spool_dir: Path, spool_max: int) -> _Exploding:
    return _Exploding(open_sink(cfg, spool_dir, spool_max))


def test_a_read_that_kills_its_parse_process_ends_as_dead_letters_and_nothing_is_lost(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, refused_port: Callable[[], int]) -> None:
    """Kafka unreachable: every message ends in a spool, which is read back. The read holding
    BOOM kills PARSE_DEATHS processes in turn (each restarted, after a back-off), then its lines
    are dead letters with the reason; every line is in the spools, each number with one id."""
    caplog.set_level(logging.INFO, logger="logwarden.shippers.syslog_spread")
    cfg = Config(topic_prefix="lw.", kafka=f"127.0.0.1:{refused_port()}")
    spreader = Spreader(ParsePlan(cfg, "s1", tmp_path / "spool", 1 << 30, 0.5), 2, _exploding_sink)
    server = SyslogServer(NoSink(), tcp=("127.0.0.1", 0), session="s1", spread=spreader)
    lines = [line(n).rstrip(b"\n") for n in range(300)]
    lines[104] = lines[104].replace(b" SYN ", b" SYN BOOM ")
    for start in range(0, 300, 10):
        server.handle_frames(lines[start:start + 10], "tcp", "10.0.0.1:514")
    totals = spreader.finish(0.5)
    assert totals["parse_restarts"] == PARSE_DEATHS and totals["lost"] == totals["parse_died"] == 0, totals
    assert totals["rehanded"] >= 10 * PARSE_DEATHS, totals
    assert totals["parsed"] + totals["dead"] == 300 and totals["dead"] == 10, totals
    died = [r.getMessage() for r in caplog.records if "died:" in r.getMessage()]
    assert len(died) == PARSE_DEATHS and all("RuntimeError: a parser bug met BOOM" in m for m in died), died
    numbered: dict[int, set[str]] = {}
    reasons = set()
    for segment in (tmp_path / "spool").rglob("*.spool"):
        for message in decode_records(segment.read_bytes())[0]:
            match = SEQ.search(message.value)
            assert match, message.value[:200]
            numbered.setdefault(int(match.group(1)), set()).add(message.id)
            if message.topic == cfg.topic("deadletter"):
                reasons.add(orjson.loads(message.value)["event"]["reason"])
    assert sorted(numbered) == list(range(300)) and all(len(ids) == 1 for ids in numbered.values())
    assert reasons == {f"{PARSE_DEATHS} parse processes died while handling the read this message came in; "
                       "not parsed"}


def test_the_reason_of_a_death() -> None:
    assert death_reason(-signal.SIGKILL, None).startswith("killed by SIGKILL (also what the kernel's OOM killer")
    assert death_reason(-signal.SIGSEGV, None) == "killed by SIGSEGV"
    assert death_reason(1, "MemoryError: ") == "MemoryError: "
    assert death_reason(0, None) == "exit code 0"
