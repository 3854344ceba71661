"""stream's alert producer refused its writes (no servers; the real broker's refusals are in
test_stream_refusal_servers.py): a write refused at send time is a KafkaRefused naming the
missing permission (before: a bare KafkaError, logged as "Kafka ... unreachable"), and a
kafka-python producer refused a permission is replaced at the next send (before: its idempotent
producer stayed in a fatal state and stream never delivered again); a confluent producer, or a
login refusal, keeps the producer."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kafka.errors import KafkaError

from logwarden.config import Config
from logwarden.detection.stream import _AlertSink
from logwarden.kafka_clients import CONFLUENT, KAFKA_PYTHON
from logwarden.kafka_io import KafkaRefused
from tests.services.helpers import event

REFUSED_AT_SEND = KafkaError('produce refused: KafkaError{code=TOPIC_AUTHORIZATION_FAILED,val=29,'
                             'str="Unable to produce message: Broker: Topic authorization failed"}')


class _Producer:
    def __init__(self, client: str) -> None:
        self.client = client
        self.closed = False

    def close(self, timeout: float | None = None) -> None:
        self.closed = True


class _Sink:
    """What _AlertSink asks of a KafkaSink; `fail` is raised by the next send or flush."""

    def __init__(self, client: str) -> None:
        self.producer = _Producer(client)
        self.sent: list[str] = []
        self.fail_send: BaseException | None = None
        self.fail_flush: BaseException | None = None

    def send(self, item: Any) -> None:
        if self.fail_send:
            raise self.fail_send
        self.sent.append(item.id)

    def flush(self, timeout: float | None = 120) -> None:
        if self.fail_flush:
            raise self.fail_flush


def _cfg() -> Config:
    cfg = copy.copy(Config())
    cfg.kafka_user = "stream-user"
    return cfg


def _alert_sink(client: str) -> tuple[_AlertSink, list[_Sink]]:
    made: list[_Sink] = []

    def make() -> Any:
        made.append(_Sink(client))
        return made[-1]

    first = make()
    return _AlertSink(_cfg(), make, first), made


@pytest.mark.parametrize("client", [KAFKA_PYTHON, CONFLUENT])
def test_a_write_refused_at_send_is_named_as_a_refusal(client: str) -> None:
    sink, made = _alert_sink(client)
    made[0].fail_send = REFUSED_AT_SEND
    with pytest.raises(KafkaRefused) as refused:
        sink.send(event(1))
    assert "permission missing for user 'stream-user'" in refused.value.line
    assert "unreachable" not in str(refused.value)


def test_a_kafka_python_producer_refused_a_permission_is_replaced() -> None:
    sink, made = _alert_sink(KAFKA_PYTHON)
    made[0].fail_flush = KafkaRefused("Kafka at x: permission missing for user 'stream-user' (an ACL removed?)")
    sink.send(event(1))
    with pytest.raises(KafkaRefused):
        sink.flush()
    assert made[0].producer.closed
    sink.send(event(1))  # deliver sends the batch again: to a new producer
    sink.flush()
    assert len(made) == 2 and made[1].sent == [event(1).id]


def test_a_refused_send_replaces_a_kafka_python_producer_too() -> None:
    sink, made = _alert_sink(KAFKA_PYTHON)
    made[0].fail_send = REFUSED_AT_SEND
    with pytest.raises(KafkaRefused):
        sink.send(event(1))
    sink.send(event(2))
    assert len(made) == 2 and made[1].sent == [event(2).id]


@pytest.mark.parametrize(("client", "line"), [
    (CONFLUENT, "Kafka at x: permission missing for user 'stream-user' (an ACL removed?)"),
    (KAFKA_PYTHON, "Kafka at x refused the SASL SCRAM-SHA-512 login of user 'stream-user'"),
])
def test_a_producer_that_recovers_by_itself_is_kept(client: str, line: str) -> None:
    sink, made = _alert_sink(client)
    made[0].fail_flush = KafkaRefused(line)
    with pytest.raises(KafkaRefused):
        sink.flush()
    made[0].fail_flush = None
    sink.send(event(1))
    sink.flush()
    assert len(made) == 1 and not made[0].producer.closed and made[0].sent == [event(1).id]


def test_an_outage_at_send_stays_an_outage() -> None:
    sink, made = _alert_sink(KAFKA_PYTHON)
    made[0].fail_send = KafkaError("KafkaTimeoutError: Failed to update metadata after 10.0 secs")
    with pytest.raises(KafkaError) as raised:
        sink.send(event(1))
    assert not isinstance(raised.value, KafkaRefused) and len(made) == 1 and not made[0].producer.closed
