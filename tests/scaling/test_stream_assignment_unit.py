"""The group assignment strategy without servers: a group member of either client is given
round robin (logwarden/kafka_clients/interface.py GROUP_ASSIGNORS) unless its options name
another; a consumer outside a group gets none; each client receives it in its own terms."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import logwarden.kafka_clients.python as python_client
from logwarden import kafka_clients
from logwarden.config import Config
from logwarden.kafka_clients import GROUP_ASSIGNORS, make_consumer
from logwarden.kafka_clients.confluent_consumer import consumer_config


class _Captured:
    def __init__(self, options: dict[str, Any], topics: list[str], listener: Any = None) -> None:
        self.options = options


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(python_client, "KafkaPythonConsumer", _Captured)


@pytest.mark.usefixtures("captured")
def test_a_group_member_shares_round_robin_unless_told_otherwise() -> None:
    cfg = dataclasses.replace(Config(), kafka_client="kafka-python")
    member: Any = make_consumer(cfg, {"group_id": "g"}, ["t"])
    assert member.options["partition_assignment_strategy"] == GROUP_ASSIGNORS == ("roundrobin",)
    chosen: Any = make_consumer(cfg, {"group_id": "g", "partition_assignment_strategy": ("range",)}, ["t"])
    assert chosen.options["partition_assignment_strategy"] == ("range",)
    alone: Any = make_consumer(cfg, {"group_id": None}, ["t"])
    assert "partition_assignment_strategy" not in alone.options
    assert kafka_clients.GROUP_ASSIGNORS is GROUP_ASSIGNORS


def test_each_client_gets_the_strategy_in_its_own_terms() -> None:
    classes = python_client.assignors(("roundrobin", "range"))
    assert [c.name for c in classes] == ["roundrobin", "range"]
    assert python_client.assignors(classes) == classes  # classes pass through
    with pytest.raises(ValueError, match="'sticky'"):
        python_client.assignors(("sticky",))
    assert consumer_config({"partition_assignment_strategy": ("roundrobin", "range")}) == {
        "partition.assignment.strategy": "roundrobin,range"}
    assert consumer_config({"partition_assignment_strategy": classes[:1]}) == {
        "partition.assignment.strategy": "roundrobin"}
