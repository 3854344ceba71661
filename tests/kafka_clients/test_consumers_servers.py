"""Both consumer clients against the secured lab (SASL_SSL + SCRAM + CA file): the same records,
exact commits, a seek from the rebalance listener, `--once`'s drained test, topic lookup and a
refused login, each the same with kafka-python and confluent-kafka (logwarden/kafka_clients/).
The services' own server tests run again with the confluent client in `make test-confluent`."""

from __future__ import annotations

import copy
import os
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest
from kafka.structs import OffsetAndMetadata, TopicPartition

from logwarden.config import Config
from logwarden.kafka_clients import CONFLUENT, KAFKA_PYTHON, Consumer
from logwarden.kafka_io import KafkaSink, drained, make_consumer
from logwarden.shippers.base import Event

pytestmark = pytest.mark.servers

CLIENTS = [KAFKA_PYTHON, CONFLUENT]
N = 300


def _with_client(cfg: Config, client: str) -> Config:
    chosen = copy.copy(cfg)
    chosen.kafka_client = client
    return chosen


def _produce(cfg: Config, n: int = N) -> list[Event]:
    events = [Event(f"id-{i}", "windows", f"HOST-{i % 4}", {"event": {"code": "4625"}, "n": i}) for i in range(n)]
    sink = KafkaSink(cfg)
    for event in events:
        sink.send(event)
    sink.close()
    return events


def _read(consumer: Consumer, n: int, rounds: int = 60) -> list[Any]:
    records: list[Any] = []
    for _ in range(rounds):
        records += [r for batch in consumer.poll(timeout_ms=1000, max_records=100).values() for r in batch]
        if len(records) >= n:
            break
    return records


def _fields(record: Any) -> tuple[Any, ...]:
    return (record.topic, record.partition, record.offset, record.key, record.value, list(record.headers))


def test_make_consumer_uses_the_client_the_settings_select(ns) -> None:
    expected = os.environ.get("LOGWARDEN_KAFKA_CLIENT", KAFKA_PYTHON)
    consumer = make_consumer(ns, [ns.topic("windows")], ns.group("which"))
    try:
        assert consumer.client == expected
    finally:
        consumer.close(autocommit=False)


def test_both_clients_read_the_same_records(ns) -> None:
    _produce(ns)
    seen: dict[str, list[tuple[Any, ...]]] = {}
    for client in CLIENTS:
        consumer = make_consumer(_with_client(ns, client), [ns.topic("windows")], ns.group(f"same-{client}"))
        try:
            records = _read(consumer, N)
            assert consumer.client == client
        finally:
            consumer.close(autocommit=False)
        assert len(records) == N
        assert all(r.timestamp > 1_600_000_000_000 for r in records)
        seen[client] = sorted(_fields(r) for r in records)
    assert seen[KAFKA_PYTHON] == seen[CONFLUENT]
    by_id = {dict(f[5])["id"]: f for f in seen[CONFLUENT]}
    assert by_id[b"id-5"][3] == b"HOST-1" and b'"n":5' in by_id[b"id-5"][4]


def test_a_key_lands_on_the_same_partition_whichever_client_produced_it(ns) -> None:
    """Both producers hash keys with murmur2 (librdkafka's default would be CRC32): a host's events
    stay on one partition in a fleet of shippers that mix the clients."""
    placed: dict[str, dict[bytes, set[int]]] = {}
    for client in CLIENTS:
        cfg = _with_client(ns, client)
        _produce(cfg, 40)
        consumer = make_consumer(cfg, [ns.topic("windows")], ns.group(f"place-{client}"))
        try:
            records = _read(consumer, 40 * (len(placed) + 1))
        finally:
            consumer.close(autocommit=False)
        placed[client] = {}
        for r in records:
            placed[client].setdefault(r.key, set()).add(r.partition)
    assert all(len(parts) == 1 for parts in placed[CONFLUENT].values())  # both producers' copies: one partition
    assert set(placed[CONFLUENT]) == {b"HOST-0", b"HOST-1", b"HOST-2", b"HOST-3"}


@pytest.mark.parametrize("client", CLIENTS)
def test_explicit_commits_are_where_the_next_member_starts(ns, client) -> None:
    cfg = _with_client(ns, client)
    _produce(cfg)
    group = ns.group(f"commit-{client}")
    consumer = make_consumer(cfg, [ns.topic("windows")], group)
    try:
        records = _read(consumer, N)
        assert len(records) == N
        assert drained(consumer, timeout_ms=10_000)
        tp = TopicPartition(records[0].topic, records[0].partition)
        mine = sorted(r.offset for r in records if (r.topic, r.partition) == tp)
        halfway = mine[len(mine) // 2]
        consumer.commit({tp: OffsetAndMetadata(halfway, "", -1)}, timeout_ms=30_000)
        assert consumer.committed(tp) == halfway
        assert consumer.position(tp) == mine[-1] + 1
        others = {TopicPartition(r.topic, r.partition) for r in records} - {tp}
    finally:
        consumer.close(autocommit=False)
    again = make_consumer(cfg, [ns.topic("windows")], group)
    try:
        reread = _read(again, len(mine) - mine.index(halfway) + sum(1 for r in records if r.partition != tp.partition))
        ours = sorted(r.offset for r in reread if r.partition == tp.partition)
        assert ours == [o for o in mine if o >= halfway]  # from the committed offset, nothing before it
        assert {TopicPartition(r.topic, r.partition) for r in reread} - {tp} == others  # never committed: from 0
    finally:
        again.close(autocommit=False)


class SeekOnAssign:
    """What stream's state does: seek each assigned partition to a saved offset."""

    def __init__(self, offsets: dict[int, int]) -> None:
        self.offsets = offsets
        self.consumer: Any = None
        self.assigned: list[TopicPartition] = []
        self.revoked: list[TopicPartition] = []

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        for tp in assigned:
            self.assigned.append(tp)
            if tp.partition in self.offsets:
                self.consumer.seek(tp, self.offsets[tp.partition])

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        self.revoked.extend(revoked)


@pytest.mark.parametrize("client", CLIENTS)
def test_a_seek_in_the_rebalance_listener_is_where_reading_starts(ns, client) -> None:
    cfg = _with_client(ns, client)
    _produce(cfg)
    counter = make_consumer(cfg, [ns.topic("windows")], ns.group(f"count-{client}"))
    try:
        per_partition = Counter(r.partition for r in _read(counter, N))
    finally:
        counter.close(autocommit=False)
    busiest = per_partition.most_common(1)[0][0]
    listener = SeekOnAssign({busiest: 7})
    consumer = make_consumer(cfg, [ns.topic("windows")], ns.group(f"seek-{client}"), listener=listener)
    listener.consumer = consumer
    try:
        records = _read(consumer, N - 7, rounds=30)
        for _ in range(3):  # anything beyond
            records += [r for batch in consumer.poll(timeout_ms=500).values() for r in batch]
        assert all(isinstance(tp, TopicPartition) for tp in listener.assigned)
        assert {tp.partition for tp in listener.assigned} == set(range(ns.partitions))
        first: dict[int, int] = {}
        for r in records:
            first.setdefault(r.partition, r.offset)
        assert first[busiest] == 7
        assert all(offset == 0 for p, offset in first.items() if p != busiest)
        assert len(records) == N - 7
        assert drained(consumer, timeout_ms=10_000)
    finally:
        consumer.close(autocommit=False)


@pytest.mark.parametrize("client", CLIENTS)
def test_drained_is_false_until_everything_was_read(ns, client) -> None:
    cfg = _with_client(ns, client)
    consumer = make_consumer(cfg, [ns.topic("windows")], ns.group(f"drain-{client}"))
    try:
        deadline = time.monotonic() + 120  # joining a group: seconds, more on a loaded box
        while not consumer.assignment() and time.monotonic() < deadline:  # an empty topic: assigned, then drained
            consumer.poll(timeout_ms=500)
        assert consumer.assignment() and drained(consumer, timeout_ms=10_000)
        _produce(cfg, 20)
        assert not drained(consumer, timeout_ms=10_000)
        assert len(_read(consumer, 20)) == 20
        assert drained(consumer, timeout_ms=10_000)
    finally:
        consumer.close(autocommit=False)


@pytest.mark.parametrize("client", CLIENTS)
def test_topic_lookup_with_both_clients(ns, client) -> None:
    consumer = make_consumer(_with_client(ns, client), [ns.topic("windows")], ns.group(f"topics-{client}"))
    try:
        assert consumer.partitions_for_topic(ns.topic("windows")) == set(range(ns.partitions))
        assert consumer.partitions_for_topic(ns.topic("no-such-topic")) is None
    finally:
        consumer.close(autocommit=False)


@pytest.mark.parametrize("client", CLIENTS)
def test_a_refused_consumer_login_is_the_same_server_error_with_both_clients(lab, client) -> None:
    from logwarden.errors import ServerError

    cfg = _with_client(lab.cfg, client)
    cfg.kafka_password = "not-the-password"
    with pytest.raises(ServerError) as refused:
        make_consumer(cfg, ["whatever"], "refused", bootstrap_timeout_ms=5_000)
    assert str(refused.value) == (f"Kafka at {cfg.kafka} refused the SASL {cfg.kafka_sasl_mechanism} login of user "
                                  f"{cfg.kafka_user!r} (wrong user or password, or a mechanism the broker does not "
                                  "enable)")
    assert "not-the-password" not in str(refused.value)
