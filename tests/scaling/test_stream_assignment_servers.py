"""How `stream`'s consumer group shares partitions that do not divide among its members (issue
12), on the real Kafka, with both clients: 3 members over 2-partition topics (3 inputs and the
repartition topic, 8 partitions). Under both clients' old default (range first) the third member
got nothing; round robin (logwarden/kafka_clients/interface.py GROUP_ASSIGNORS) gives every
member 2 or 3 partitions, and the alerts are still exactly hunt's. A member of the old default
joining a group with an upgraded one (a rolling upgrade, across the two clients) leaves the group
on round robin: both list it, and it is the only protocol they share.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from logwarden.config import Config
from logwarden.detection.stream import SOURCES
from logwarden.kafka_io import STREAM_REPARTITION, admin, ensure_topics, make_consumer
from tests.services.helpers import Service, produce
from tests.support.namespaces import cleanup, isolated

from .test_stream_members_servers import EVENTS, _alert_ids, _joined, _stopped, _wait_committed, hunt_ids  # noqa: F401

pytestmark = pytest.mark.servers

PARTITIONS = 2  # per topic; 4 topics: 8 partitions over 3 members
MEMBERS = 3
OLD_DEFAULT = ("range", "roundrobin")  # both clients' own default


def _namespace(lab_cfg: Config, tmp_path: Path, name: str, client: str) -> Config:
    return dataclasses.replace(isolated(lab_cfg, tmp_path / name), kafka_partitions=str(PARTITIONS),
                               kafka_client=client)


def _group(cfg: Config) -> dict[str, Any]:
    """The broker's description of the stream group: its protocol and each member's partitions."""
    client = admin(cfg)
    try:
        info: dict[str, Any] = client.describe_groups([cfg.group("stream")])[cfg.group("stream")]
    finally:
        client.close()
    return info


def _partitions_per_member(info: dict[str, Any]) -> list[int]:
    return sorted(sum(len(t["partitions"]) for t in m["member_assignment"]["assigned_partitions"])
                  for m in info["members"])


@pytest.mark.parametrize("client", ["kafka-python", "confluent"])
def test_three_members_over_two_partitions_each_get_a_share_and_hunt_alerts(lab, tmp_path: Path, client: str,
                                                                             hunt_ids: set[str]) -> None:  # noqa: F811
    cfg = _namespace(lab.cfg, tmp_path, "share", client)
    try:
        ensure_topics(cfg)
        members = [Service(cfg, "stream", "--json") for _ in range(MEMBERS)]
        _joined(cfg, members)
        info = _group(cfg)
        per_member = _partitions_per_member(info)
        assert info["protocol_data"] == "roundrobin", info
        assert sum(per_member) == PARTITIONS * (len(SOURCES) + 1) and per_member == [2, 3, 3], per_member
        produce(cfg, EVENTS)
        _wait_committed(cfg, members)
        counters = _stopped(members)
        got = _alert_ids(cfg)
        assert got == hunt_ids, f"missing {len(hunt_ids - got)}, extra {len(got - hunt_ids)}"
        assert sum(c["consumed"] for c in counters) >= len(EVENTS)
    finally:
        cleanup(cfg)


def test_an_old_default_member_and_an_upgraded_one_share_round_robin(lab, tmp_path: Path) -> None:
    """kafka-python with its own default (range, roundrobin) beside confluent-kafka with
    logwarden's: the group runs round robin and each holds half of the 8 partitions."""
    cfg = _namespace(lab.cfg, tmp_path, "upgrade", "kafka-python")
    topics = [cfg.topic(d) for d in SOURCES] + [cfg.topic(STREAM_REPARTITION)]
    consumers: list[Any] = []
    try:
        ensure_topics(cfg)
        consumers.append(make_consumer(cfg, topics, cfg.group("stream"), partition_assignment_strategy=OLD_DEFAULT))
        consumers.append(make_consumer(dataclasses.replace(cfg, kafka_client="confluent"), topics,
                                       cfg.group("stream")))
        info: dict[str, Any] = {}
        deadline = time.monotonic() + 180  # a group forms while its members poll (seconds; more on a loaded box)
        while time.monotonic() < deadline:
            for c in consumers:
                c.poll(timeout_ms=50)
            if all(c.assignment() for c in consumers):
                info = _group(cfg)
                if info["group_state"] == "Stable" and len(info["members"]) == 2:
                    break
        assert info.get("protocol_data") == "roundrobin", info
        assert _partitions_per_member(info) == [4, 4]
        assert sorted(len(c.assignment()) for c in consumers) == [4, 4]
    finally:
        for c in consumers:
            c.close(autocommit=False)
        cleanup(cfg)
