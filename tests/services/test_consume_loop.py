"""The shared consume loop with a scripted consumer (no servers): what is committed when, what a
stop does, and how an outage is logged."""

from __future__ import annotations

import logging
from collections import namedtuple
from dataclasses import dataclass, field
from typing import Any

import pytest
from kafka.errors import CommitFailedError, KafkaConnectionError
from kafka.structs import TopicPartition

from logwarden.consume import BatchAbandoned, ConsumeLoop, LoopCounters, Outage, StopFlag, batch_offsets
from logwarden.errors import ServerError

Record = namedtuple("Record", "topic partition offset value headers")


def _records(topic: str, partition: int, offsets: range) -> list[Record]:
    return [Record(topic, partition, o, b"{}", []) for o in offsets]


@dataclass
class ScriptedConsumer:
    """poll() returns the scripted results in turn (an exception is raised), then nothing."""

    polls: list[Any]
    commit_errors: list[Exception] = field(default_factory=list)
    commits: list[dict] = field(default_factory=list)
    ends: dict = field(default_factory=dict)

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict:
        if not self.polls:
            return {}
        step = self.polls.pop(0)
        if isinstance(step, Exception):
            raise step
        out: dict = {}
        for rec in step:
            out.setdefault(TopicPartition(rec.topic, rec.partition), []).append(rec)
        return out

    def commit(self, offsets: dict, timeout_ms: int | None = None) -> None:
        if self.commit_errors:
            raise self.commit_errors.pop(0)
        self.commits.append({tp: om.offset for tp, om in offsets.items()})

    def assignment(self) -> set:
        return set(self.ends)

    def end_offsets(self, parts: list, timeout_ms: int | None = None) -> dict:
        return {tp: self.ends[tp] for tp in parts}

    def position(self, tp: TopicPartition) -> int:
        return max((c[tp] for c in self.commits if tp in c), default=0)


class Handler:
    def __init__(self, fail_on: int | None = None, stop: StopFlag | None = None) -> None:
        self.stats = LoopCounters()
        self.seen: list[list[int]] = []
        self.fail_on = fail_on
        self.stop = stop

    def handle(self, records: list[Any]) -> None:
        self.seen.append([r.offset for r in records])
        if self.stop is not None:
            self.stop.set()  # SIGTERM arrives while this batch is being handled
        if self.fail_on is not None and len(self.seen) == self.fail_on:
            raise BatchAbandoned("stopping during an outage")


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(StopFlag, "wait", lambda self, seconds: self.is_set())


def test_batch_offsets_are_one_past_the_highest_of_each_partition() -> None:
    records = _records("t", 0, range(5, 9)) + _records("t", 1, range(0, 2)) + _records("u", 0, range(3, 4))
    got = {tp: om.offset for tp, om in batch_offsets(records).items()}
    assert got == {TopicPartition("t", 0): 9, TopicPartition("t", 1): 2, TopicPartition("u", 0): 4}


def test_once_commits_each_batch_after_its_handler_and_stops_when_drained() -> None:
    tp = TopicPartition("t", 0)
    consumer = ScriptedConsumer([_records("t", 0, range(0, 3)), _records("t", 0, range(3, 5))], ends={tp: 5})
    handler = Handler()
    ConsumeLoop(consumer, handler, StopFlag(), "kafka").run(once=True)
    assert handler.seen == [[0, 1, 2], [3, 4]]
    assert consumer.commits == [{tp: 3}, {tp: 5}]
    assert (handler.stats.consumed, handler.stats.batches, handler.stats.uncommitted) == (5, 2, 0)


def test_a_stop_during_a_batch_finishes_and_commits_it_then_returns() -> None:
    stop = StopFlag()
    consumer = ScriptedConsumer([_records("t", 0, range(0, 3)), _records("t", 0, range(3, 6))])
    handler = Handler(stop=stop)
    ConsumeLoop(consumer, handler, stop, "kafka").run()
    assert handler.seen == [[0, 1, 2]]  # the second batch is never polled
    assert consumer.commits == [{TopicPartition("t", 0): 3}]


def test_an_abandoned_batch_is_not_committed() -> None:
    consumer = ScriptedConsumer([_records("t", 0, range(0, 3)), _records("t", 0, range(3, 6))])
    handler = Handler(fail_on=2)
    ConsumeLoop(consumer, handler, StopFlag(), "kafka").run()
    assert consumer.commits == [{TopicPartition("t", 0): 3}]
    assert handler.stats.uncommitted == 3


def test_a_handler_error_propagates_without_a_commit() -> None:
    class Broken(Handler):
        def handle(self, records: list[Any]) -> None:
            raise ValueError("a bug")

    consumer = ScriptedConsumer([_records("t", 0, range(0, 3))])
    with pytest.raises(ValueError):
        ConsumeLoop(consumer, Broken(), StopFlag(), "kafka").run()
    assert consumer.commits == []


def test_poll_and_commit_failures_are_retried_and_logged_once_each_way(caplog) -> None:
    tp = TopicPartition("t", 0)
    down = KafkaConnectionError("111 ECONNREFUSED")
    consumer = ScriptedConsumer([down, down, _records("t", 0, range(0, 2))],
                                commit_errors=[down, down], ends={tp: 2})
    handler = Handler()
    with caplog.at_level(logging.DEBUG, logger="logwarden"):
        ConsumeLoop(consumer, handler, StopFlag(), "kafka").run(once=True)
    assert consumer.commits == [{tp: 2}]
    assert handler.stats.kafka_retries == 4
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert sum("unreachable (" in m for m in messages) == 2  # the poll outage, then the commit outage
    assert sum("reachable again" in m for m in messages) == 2


def test_a_commit_refused_after_a_rebalance_is_left_to_the_next_owner() -> None:
    consumer = ScriptedConsumer([_records("t", 0, range(0, 3))], commit_errors=[CommitFailedError("rebalanced")])
    handler = Handler()
    ConsumeLoop(consumer, handler, StopFlag(), "kafka").run(max_messages=3)
    assert consumer.commits == [] and handler.stats.uncommitted == 3


def test_once_gives_up_on_a_long_outage_with_a_server_error(monkeypatch) -> None:
    clock = iter(range(0, 10_000, 7))
    monkeypatch.setattr("logwarden.consume.time.monotonic", lambda: float(next(clock)))
    down = KafkaConnectionError("111 ECONNREFUSED")
    consumer = ScriptedConsumer([down] * 100)
    with pytest.raises(ServerError, match="unreachable for"):
        ConsumeLoop(consumer, Handler(), StopFlag(), "kafka").run(once=True)


def test_outage_backoff_doubles_and_is_capped(monkeypatch) -> None:
    waits: list[float] = []

    def record(self: StopFlag, seconds: float) -> bool:
        waits.append(seconds)
        return False

    monkeypatch.setattr(StopFlag, "wait", record)
    outage = Outage("x", StopFlag())
    for _ in range(9):
        outage.failed("down")
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
