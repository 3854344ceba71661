"""logwarden/kafka_preflight.py without a broker: loopback sockets that accept or refuse. The
refusal is one line naming every bootstrap server, exit 3 in the CLI, and a KafkaError too (the
services retry it); a check that passed is not repeated for the same settings."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
from kafka.errors import KafkaError

from logwarden import errors, kafka_preflight
from logwarden.config import Config
from logwarden.kafka_io import client_options


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback TCP port that accepts connections (the kernel completes the handshake)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock
    finally:
        sock.close()


@pytest.fixture(autouse=True)
def _fresh_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka_preflight, "_passed", set())


def _cfg(kafka: str) -> Config:
    return Config(kafka=kafka)


def test_no_answering_server_names_each_one_and_is_exit_3_and_a_kafka_error(
        refused_port: Callable[[], int]) -> None:
    first, second = f"127.0.0.1:{refused_port()}", f"127.0.0.1:{refused_port()}"
    cfg = _cfg(f"{first},{second}")
    with pytest.raises(kafka_preflight.KafkaUnreachable) as refused:
        kafka_preflight.check(cfg, client_options(cfg))
    message = str(refused.value)
    assert message == f"no Kafka broker answered at {first} (connection refused), {second} (connection refused)"
    assert isinstance(refused.value, KafkaError), "the services' outage handling must retry it"
    assert errors.exit_code_for(refused.value) == errors.EXIT_SERVER
    assert errors.describe(refused.value) == message


def test_an_unknown_host_name_is_said_so() -> None:
    cfg = _cfg("kafka.invalid:9092")
    with pytest.raises(kafka_preflight.KafkaUnreachable, match=r"kafka\.invalid:9092 \(host name not resolved\)"):
        kafka_preflight.check(cfg, client_options(cfg))


def test_one_answering_server_is_enough(listener: socket.socket, caplog: pytest.LogCaptureFixture,
                                        refused_port: Callable[[], int]) -> None:
    down = f"127.0.0.1:{refused_port()}"
    cfg = _cfg(f"{down},127.0.0.1:{listener.getsockname()[1]}")
    kafka_preflight.check(cfg, client_options(cfg))
    assert any(down in r.getMessage() and "does not answer" in r.getMessage() for r in caplog.records)


def test_a_passed_check_is_not_repeated_for_the_same_settings(listener: socket.socket,
                                                              refused_port: Callable[[], int]) -> None:
    cfg = _cfg(f"127.0.0.1:{listener.getsockname()[1]}")
    kafka_preflight.check(cfg, client_options(cfg))
    listener.close()  # the broker goes away after the start: that is the services' outage, not a start-up error
    kafka_preflight.check(cfg, client_options(cfg))
    other = _cfg(cfg.kafka)
    other.topic_prefix = "other."  # not a connection setting: the same check
    kafka_preflight.check(other, client_options(other))
    moved = _cfg(f"127.0.0.1:{refused_port()}")
    with pytest.raises(kafka_preflight.KafkaUnreachable):
        kafka_preflight.check(moved, client_options(moved))
