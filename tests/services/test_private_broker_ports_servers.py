"""The private broker of the outage tests (tests/services/private_broker.py) on ports someone else
took between the pick and the start: it moves to a fresh pair at its first start, and a restart
on a taken port fails saying so instead of using whatever answers there."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from logwarden.kafka_io import ensure_topics
from logwarden.runtime.lab import Lab
from tests.support.namespaces import isolated

from .private_broker import PrivateBroker

pytestmark = pytest.mark.servers


def _port(broker: PrivateBroker) -> int:
    return int(broker.cfg.kafka.rsplit(":", 1)[1])


def test_a_listener_on_the_picked_port_moves_the_first_start_and_blocks_a_restart(lab: Lab, tmp_path: Path) -> None:
    broker = PrivateBroker(isolated(lab.cfg, tmp_path), tmp_path / "broker")
    picked = _port(broker)
    try:
        with socket.create_server(("127.0.0.1", picked)):  # another test's server took it meanwhile
            broker.start()
            moved = _port(broker)
            assert moved not in (picked, picked - 1), broker.cfg.kafka
            ensure_topics(broker.cfg, datasets=("windows",), partitions=1)  # ours answers there
        broker.stop()
        with socket.create_server(("127.0.0.1", moved)):
            with pytest.raises(AssertionError, match=f"another process took 127.0.0.1:{moved}"):
                broker.start()
    finally:
        broker.stop()
        shutil.rmtree(tmp_path / "broker", ignore_errors=True)


def test_a_controller_port_taken_at_the_bind_moves_the_first_start(lab: Lab, tmp_path: Path) -> None:
    """Port + 1 held bound but not listening: it looks free to a probe, and Kafka's controller
    then fails to bind it ("Address already in use") and exits: the next pair is tried."""
    broker = PrivateBroker(isolated(lab.cfg, tmp_path), tmp_path / "broker")
    picked = _port(broker)
    try:
        with socket.socket() as held:
            held.bind(("127.0.0.1", picked + 1))
            broker.start()
            assert _port(broker) != picked, broker.cfg.kafka
            ensure_topics(broker.cfg, datasets=("windows",), partitions=1)
    finally:
        broker.stop()
        shutil.rmtree(tmp_path / "broker", ignore_errors=True)
