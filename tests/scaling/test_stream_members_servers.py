"""`stream` as N consumer-group members (issue 12), on the real Kafka: the partition count is a
setting, and 1, 2 and 3 members, and 2 members one of which is SIGKILLed mid-run (the group
rebalancing its partitions to the other), all raise exactly the alerts hunt raises on the same
events: single-event rules and correlations grouped by source.ip (brute force: event_count,
password spray: value_count, brute force then success: a chained temporal_ordered), which go
through the repartition topic.

Each run has its own namespace (topics, group, state folder): the same seeded events are
produced to 3-partition topics, the members are `logwarden stream` subprocesses, and the run
ends when the group committed every input and repartition partition to its end.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest

from logwarden.config import Config
from logwarden.kafka_io import STREAM_REPARTITION, client_options, ensure_topics
from tests.services.helpers import Service, committed_everything, group_state, produce, read_topic
from tests.support.cli import cli
from tests.support.namespaces import cleanup, isolated

from .stream_events import hunt_alert_ids, incident_events

pytestmark = pytest.mark.servers

PARTITIONS = 3
EVENTS = incident_events()


def _namespace(lab_cfg: Config, tmp_path: Path, name: str) -> Config:
    return dataclasses.replace(isolated(lab_cfg, tmp_path / name), kafka_partitions=str(PARTITIONS))


def _partitions(cfg: Config, topic: str) -> int:
    from kafka import KafkaConsumer

    probe = KafkaConsumer(**client_options(cfg))
    try:
        return len(probe.partitions_for_topic(topic) or ())
    finally:
        probe.close()


def _alert_ids(cfg: Config) -> set[str]:
    """The ids of the alerts in the namespace's alerts topic (an alert's later versions and a
    repeated batch's copies share its id)."""
    return {json.loads(m.value)["event"]["id"] for m in read_topic(cfg, cfg.topic("alerts"))}


def _joined(cfg: Config, members: list[Service], timeout: float = 120) -> None:
    """Until the group is stable with every member in it (each holds its share of partitions)."""
    deadline = time.monotonic() + timeout
    while group_state(cfg, cfg.group("stream")) != ("Stable", len(members)):
        for m in members:
            assert m.proc.poll() is None, "\n".join(m.lines[-20:])
        assert time.monotonic() < deadline, "\n".join(line for m in members for line in m.lines[-10:])
        time.sleep(0.5)


def _wait_committed(cfg: Config, members: list[Service], timeout: float = 120) -> None:
    """Until the group committed every input and repartition partition to its end (input first
    committed means every repartition record it made was acknowledged before)."""
    topics = [cfg.topic("windows"), cfg.topic(STREAM_REPARTITION)]
    deadline = time.monotonic() + timeout
    while not committed_everything(cfg, cfg.group("stream"), topics):
        for m in members:
            assert m.proc.poll() is None, "\n".join(m.lines[-20:])
        assert time.monotonic() < deadline, "\n".join(line for m in members for line in m.lines[-10:])
        time.sleep(0.5)


def _stopped(members: list[Service]) -> list[dict[str, int]]:
    counters = []
    for m in members:
        code, out = m.stop()
        assert code == 0, "\n".join(m.lines[-20:])
        counters.append(json.loads(out))
    return counters


@pytest.fixture(scope="module")
def hunt_ids() -> set[str]:
    return hunt_alert_ids(EVENTS)


def test_setup_creates_topics_with_the_configured_partition_count(lab, tmp_path: Path) -> None:
    cfg = _namespace(lab.cfg, tmp_path, "setup")
    try:
        done = cli(cfg, "setup", "--no-es")  # LOGWARDEN_KAFKA_PARTITIONS=3 in its environment
        assert done.returncode == 0, done.stderr[-2000:]
        for dataset in ("windows", "firewall", "av", "alerts", "deadletter", STREAM_REPARTITION):
            assert _partitions(cfg, cfg.topic(dataset)) == PARTITIONS, dataset
    finally:
        cleanup(cfg)


@pytest.mark.parametrize("members", [1, 2, 3])
def test_n_members_raise_the_alerts_hunt_raises(lab, tmp_path: Path, hunt_ids: set[str], members: int) -> None:
    cfg = _namespace(lab.cfg, tmp_path, f"members{members}")
    try:
        ensure_topics(cfg)
        running = [Service(cfg, "stream", "--json") for _ in range(members)]
        _joined(cfg, running)
        produce(cfg, EVENTS)
        _wait_committed(cfg, running)
        counters = _stopped(running)
        got = _alert_ids(cfg)
        assert got == hunt_ids, f"missing {len(hunt_ids - got)}, extra {len(got - hunt_ids)}"
        assert sum(c["consumed"] for c in counters) >= len(EVENTS)
        assert sum(c["counted"] for c in counters) > 0  # correlations went through the repartition topic
        if members > 1:  # the work was split: more than one member consumed something
            assert sum(c["consumed"] > 0 for c in counters) > 1, counters
        print(f"\n{members} member(s): {len(got)} alerts, counters {counters}")
    finally:
        cleanup(cfg)


def test_a_member_killed_mid_run_leaves_the_alerts_unchanged(lab, tmp_path: Path, hunt_ids: set[str]) -> None:
    cfg = _namespace(lab.cfg, tmp_path, "killed")
    try:
        ensure_topics(cfg)
        survivor, victim = Service(cfg, "stream", "--json"), Service(cfg, "stream", "--json")
        third = len(EVENTS) // 3
        _joined(cfg, [survivor, victim])
        produce(cfg, EVENTS[:third])
        _wait_committed(cfg, [survivor, victim])
        produce(cfg, EVENTS[third:2 * third])
        victim.proc.kill()  # SIGKILL mid-run (the second third in flight): no shutdown code runs
        victim.proc.wait(30)
        produce(cfg, EVENTS[2 * third:])
        _wait_committed(cfg, [survivor], timeout=180)  # after the session timeout, the survivor has it all
        (counters,) = _stopped([survivor])
        got = _alert_ids(cfg)
        assert got == hunt_ids, f"missing {len(hunt_ids - got)}, extra {len(got - hunt_ids)}"
        print(f"\nkilled run: {len(got)} alerts; survivor's counters {counters}")
    finally:
        cleanup(cfg)


def test_stream_without_its_repartition_topic_is_a_config_error(lab, tmp_path: Path) -> None:
    """A deployment set up before the repartition topic existed: one line naming the topic and
    the command that creates it, exit 2 (not a hang waiting for a topic)."""
    cfg = _namespace(lab.cfg, tmp_path, "norepartition")
    try:
        ensure_topics(cfg, ("windows", "firewall", "av", "alerts"))
        done = cli(cfg, "stream", "--once", "--json", timeout=120)
        assert done.returncode == 2, done.stderr[-2000:]
        assert done.stderr.count("\n") == 1 and cfg.topic(STREAM_REPARTITION) in done.stderr
        assert "logwarden setup" in done.stderr
    finally:
        cleanup(cfg)
