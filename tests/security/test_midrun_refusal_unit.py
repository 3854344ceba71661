"""Which Kafka client lines name a refusal met in the middle of a run (server_errors.
kafka_refused_mid_run), and which are an outage; how KafkaSink (every shipper's and stream's
producer) raises a refused write and replaces a producer the refusal left unusable (no servers).
Real servers: tests/security/test_kafka_midrun_refusal_servers.py, test_stream_refusal_servers.py."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

import pytest
from kafka.errors import ClusterAuthorizationFailedError, KafkaError, KafkaTimeoutError, TopicAuthorizationFailedError

from logwarden import kafka_io
from logwarden.config import Config
from logwarden.kafka_clients import CONFLUENT, KAFKA_PYTHON
from logwarden.kafka_clients.python import KafkaPythonProducer
from logwarden.kafka_io import KafkaRefused, KafkaSink
from logwarden.server_errors import kafka_refused_mid_run
from logwarden.shippers.base import DeadLetter
from tests.services.helpers import event

SASL = Config(kafka="127.0.0.1:19092", kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
              kafka_user="shipper", kafka_password="pw-never-shown")


@pytest.mark.parametrize("line", [
    # kafka-python 3
    "<KafkaConnection node_id=1 broker_version=(4, 1) (disconnected)>: Connection lost: [Error 58] "
    "SaslAuthenticationFailedError: Authentication failed during authentication due to invalid credentials with "
    "SASL mechanism SCRAM-SHA-512",
    # librdkafka (the confluent client)
    "librdkafka: sasl_ssl://127.0.0.1:19092/1: SASL authentication error: Authentication failed during "
    "authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512 (after 5ms in state AUTH_REQ)",
])
def test_a_refused_login_is_named_with_the_user_not_the_password(line: str) -> None:
    named = kafka_refused_mid_run(SASL, ["KafkaTimeoutError: Timeout waiting for future", line])
    assert named is not None and "refused the SASL SCRAM-SHA-512 login of user 'shipper'" in named
    assert "pw-never-shown" not in named


@pytest.mark.parametrize("line", [
    "<KafkaSSLTransport [127.0.0.1:9]>: Abort (SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] "
    "certificate verify failed: self-signed certificate (_ssl.c:1006))",
    "librdkafka: ssl://127.0.0.1:19092/1: SSL handshake failed: error:0A000086:SSL routines::certificate verify "
    "failed: broker certificate could not be verified, verify that ssl.ca.location is correctly configured",
])
def test_an_untrusted_certificate_is_named(line: str) -> None:
    named = kafka_refused_mid_run(SASL, [line])
    assert named is not None and "Kafka at 127.0.0.1:19092: its certificate is not trusted" in named


@pytest.mark.parametrize("lines", [
    ["<KafkaConnection node_id=1>: Connection lost: KafkaConnectionError: socket disconnected"],
    ["Metadata refresh: failed KafkaConnectionError: [Errno 111] Connection refused"],
    ["KafkaTimeoutError: Timeout waiting for future"],
    [],
])
def test_an_outage_is_no_refusal(lines: list[str]) -> None:
    assert kafka_refused_mid_run(SASL, lines) is None


def test_without_sasl_a_login_cannot_be_refused() -> None:
    plain = Config(kafka="127.0.0.1:19092")
    assert kafka_refused_mid_run(plain, ["SaslAuthenticationFailedError: Authentication failed"]) is None


# --- KafkaSink refused a write (a WRITE ACL removed): the one implementation shippers and stream use

TOPIC_REFUSED_AT_SEND = KafkaError('produce refused: KafkaError{code=TOPIC_AUTHORIZATION_FAILED,val=29,'
                                   'str="Unable to produce message: Broker: Topic authorization failed"}')


class _Delivery:
    def __init__(self) -> None:
        self.errbacks: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def add_errback(self, fn: Callable[..., Any], *args: Any) -> None:
        self.errbacks.append((fn, args))

    def fail(self, exc: BaseException) -> None:
        for fn, args in self.errbacks:
            fn(*args, exc)


class _Producer:
    """A producer stand-in: `refuse_send` is raised by send, `fail_with` fails each delivery at the
    next flush, `fatal` is what `failed()` says."""

    def __init__(self, client: str) -> None:
        self.client = client
        self.sent: list[str] = []
        self.waiting: list[_Delivery] = []
        self.refuse_send: BaseException | None = None
        self.fail_with: BaseException | None = None
        self.fatal: str | None = None
        self.closed: float | None = None
        self.flushes = 0

    def send(self, topic: str, key: bytes, value: bytes, headers: Any = None) -> _Delivery:
        if self.refuse_send is not None:
            raise self.refuse_send
        self.sent.append(dict(headers)["id"].decode())
        delivery = _Delivery()
        self.waiting.append(delivery)
        return delivery

    def flush(self, timeout: float | None = None) -> None:
        self.flushes += 1
        waiting, self.waiting = self.waiting, []
        if self.fail_with is not None:
            for delivery in waiting:
                delivery.fail(self.fail_with)

    def close(self, timeout: float | None = None) -> None:
        self.closed = timeout

    def failed(self) -> str | None:
        return self.fatal


@pytest.fixture
def producers(monkeypatch: pytest.MonkeyPatch) -> list[_Producer]:
    """The producers KafkaSink makes (no broker: no connection check), kafka-python's by default."""
    made: list[_Producer] = []

    def make(cfg: Config, options: dict[str, Any]) -> _Producer:
        made.append(_Producer(cfg.kafka_client))
        return made[-1]

    monkeypatch.setattr(kafka_io, "_connect", lambda cfg, build: build())
    monkeypatch.setattr(kafka_io, "make_producer", make)
    return made


def _sink(client: str = KAFKA_PYTHON) -> KafkaSink:
    cfg = copy.copy(SASL)
    cfg.kafka_client = client
    return KafkaSink(cfg)


@pytest.mark.parametrize("client", [KAFKA_PYTHON, CONFLUENT])
def test_a_write_refused_at_send_is_a_refusal_naming_the_permission_and_topic(producers: list[_Producer],
                                                                             client: str) -> None:
    sink = _sink(client)
    producers[0].refuse_send = TOPIC_REFUSED_AT_SEND
    with pytest.raises(KafkaRefused) as refused:
        sink.send(event(1))
    assert "permission missing for user 'shipper'" in refused.value.line
    assert f"WRITE refused on topic {SASL.topic('windows')}; the message not taken" in str(refused.value)
    assert "unreachable" not in str(refused.value) and "pw-never-shown" not in str(refused.value)


def test_a_delivery_refused_at_flush_names_the_topics_and_the_count(producers: list[_Producer]) -> None:
    sink = _sink()
    producers[0].fail_with = TopicAuthorizationFailedError(SASL.topic("windows"))
    sink.send(event(1))
    sink.send(DeadLetter("test", b"x", "bad"))
    with pytest.raises(KafkaRefused) as refused:
        sink.flush()
    topics = ", ".join(sorted([SASL.topic("windows"), SASL.topic("deadletter")]))
    assert str(refused.value).endswith(f"(WRITE refused on topic {topics}; 2 message(s) not delivered)")


def test_a_producer_a_refusal_left_unusable_is_replaced_at_the_next_send(producers: list[_Producer]) -> None:
    sink = _sink()
    producers[0].fail_with = TopicAuthorizationFailedError(SASL.topic("windows"))
    producers[0].fatal = "TopicAuthorizationFailedError"  # kafka-python's idempotent producer
    sink.send(event(1))
    with pytest.raises(KafkaRefused):
        sink.flush()
    assert len(producers) == 1, "no new producer before anything is sent again"
    sink.send(event(1))  # deliver sends the batch again: to a new producer of the same options
    sink.flush()
    assert len(producers) == 2 and producers[0].closed == 0 and producers[1].sent == [event(1).id]
    assert sink.producer is producers[1]
    sink.close()
    assert producers[1].closed == 10


@pytest.mark.parametrize(("client", "failure", "line"), [
    # librdkafka's producer refused a WRITE delivers again once the ACL is back
    (CONFLUENT, TopicAuthorizationFailedError("t"), "permission missing for user 'shipper'"),
    # a refused login: the same producer logs in again once it is fixed
    (KAFKA_PYTHON, KafkaError("SaslAuthenticationFailedError: Authentication failed"),
     "refused the SASL SCRAM-SHA-512 login"),
])
def test_a_producer_that_can_deliver_again_is_kept(producers: list[_Producer], client: str, failure: KafkaError,
                                                   line: str) -> None:
    sink = _sink(client)
    producers[0].fail_with = failure
    sink.send(event(1))
    with pytest.raises(KafkaRefused) as refused:
        sink.flush()
    assert line in refused.value.line
    producers[0].fail_with = None
    sink.send(event(2))
    sink.flush()
    assert len(producers) == 1 and producers[0].closed is None and producers[0].sent == [event(1).id, event(2).id]


def test_an_idempotent_producer_refused_its_id_names_the_cluster_permission(producers: list[_Producer]) -> None:
    sink = _sink()
    producers[0].fail_with = ClusterAuthorizationFailedError()
    sink.send(event(1))
    with pytest.raises(KafkaRefused) as refused:
        sink.flush()
    assert "the idempotent producer's id refused: WRITE on no topic, nor IDEMPOTENT_WRITE" in str(refused.value)


def test_an_outage_at_send_stays_an_outage(producers: list[_Producer]) -> None:
    sink = _sink()
    producers[0].refuse_send = KafkaTimeoutError("Failed to update metadata after 10.0 secs")
    with pytest.raises(KafkaError) as raised:
        sink.send(event(1))
    assert not isinstance(raised.value, KafkaRefused) and len(producers) == 1 and not producers[0].closed


def test_a_late_failure_of_a_given_up_attempt_does_not_fail_the_next_flush(producers: list[_Producer]) -> None:
    sink = _sink(CONFLUENT)
    sink.send(event(1))
    late = producers[0].waiting[0]
    producers[0].waiting.clear()  # still in flight when the next send is refused
    producers[0].refuse_send = TOPIC_REFUSED_AT_SEND
    with pytest.raises(KafkaRefused):
        sink.send(event(2))
    late.fail(TopicAuthorizationFailedError(SASL.topic("windows")))
    producers[0].refuse_send = None
    sink.send(event(1))
    sink.send(event(2))
    sink.flush()  # the attempt sent again was acknowledged: no DeliveryError for the first one


def test_close_after_a_refusal_does_not_wait_for_what_was_given_up(producers: list[_Producer]) -> None:
    sink = _sink(CONFLUENT)
    producers[0].refuse_send = TOPIC_REFUSED_AT_SEND
    with pytest.raises(KafkaRefused):
        sink.send(event(1))
    sink.close()  # `ship` closes its sink in a finally: nothing raised over the refusal
    assert producers[0].flushes == 0 and producers[0].closed == 0


def test_a_replacement_that_cannot_connect_is_tried_again_at_the_next_send(producers: list[_Producer],
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    sink = _sink()
    producers[0].refuse_send = TOPIC_REFUSED_AT_SEND
    producers[0].fatal = "fatal"
    with pytest.raises(KafkaRefused):
        sink.send(event(1))
    made = kafka_io.make_producer

    def unreachable(cfg: Config, options: dict[str, Any]) -> Any:
        raise KafkaTimeoutError("Unable to bootstrap")

    monkeypatch.setattr(kafka_io, "make_producer", unreachable)
    with pytest.raises(KafkaTimeoutError):
        sink.send(event(1))
    assert sink.producer is producers[0] and not producers[0].closed
    monkeypatch.setattr(kafka_io, "make_producer", made)
    sink.send(event(1))
    assert sink.producer is producers[1] and producers[1].sent == [event(1).id]


# --- Producer.failed: which producer cannot deliver again

def test_kafka_python_says_failed_after_a_fatal_error_of_its_idempotent_producer() -> None:
    producer = KafkaPythonProducer.__new__(KafkaPythonProducer)

    class _Manager:
        fatal = False
        last_error = TopicAuthorizationFailedError("t")

        def has_fatal_error(self) -> bool:
            return self.fatal

    manager = _Manager()
    producer._producer = cast(Any, SimpleNamespace(_transaction_manager=manager))
    assert producer.failed() is None
    manager.fatal = True
    assert "TopicAuthorizationFailedError" in (producer.failed() or "")
    producer._producer = cast(Any, SimpleNamespace(_transaction_manager=None))  # not idempotent: never fatal
    assert producer.failed() is None


def test_confluent_says_failed_once_librdkafka_raised_its_fatal_error_from_poll() -> None:
    import confluent_kafka

    from logwarden.kafka_clients.confluent import ConfluentProducer

    producer = ConfluentProducer.__new__(ConfluentProducer)
    producer._fatal, producer._fatal_said, producer._closed = None, threading.Event(), threading.Event()
    cause = "Failed to acquire idempotence PID from broker: Broker: Cluster authorization failed"

    class _Handle:
        def poll(self, timeout: float) -> None:
            producer._closed.set()
            raise confluent_kafka.KafkaException(confluent_kafka.KafkaError(31, cause, fatal=True))

    producer._producer = cast(Any, _Handle())
    assert producer.failed() is None
    producer._poll()
    assert producer.failed() == cause
    named = kafka_refused_mid_run(SASL, [f"produce refused: Local: Fatal error: {producer.failed()}"])
    assert named is not None and "permission missing for user 'shipper'" in named


def test_a_flush_whose_producer_failed_is_no_success_even_without_a_failed_report(producers: list[_Producer]) -> None:
    sink = _sink(CONFLUENT)
    sink.send(event(1))
    producers[0].fatal = "Failed to acquire idempotence PID from broker: Broker: Cluster authorization failed"
    with pytest.raises(KafkaRefused) as refused:  # its report was lost to the fatal error: not acknowledged
        sink.flush()
    assert str(refused.value).endswith("(the idempotent producer's id refused: WRITE on no topic, nor IDEMPOTENT_WRITE "
                                       "on the cluster; messages not delivered: the producer failed)")
    assert "permission missing for user 'shipper'" in refused.value.line
    sink.send(event(1))
    assert len(producers) == 2


def test_a_delivery_report_called_with_a_fatal_error_pending_releases_the_lock() -> None:
    import confluent_kafka

    from logwarden.kafka_clients.confluent import ConfluentDelivery

    fatal = confluent_kafka.KafkaException(confluent_kafka.KafkaError(31, "Cluster authorization failed", fatal=True))
    real = threading.Lock()

    class _PendingError:
        """What confluent-kafka's report sees: the acquire takes the lock, then the error pending
        in the thread comes out of it as a SystemError."""

        def acquire(self) -> bool:
            real.acquire()
            raise SystemError("<built-in method acquire> returned a result with an exception set") from fatal

        def release(self) -> None:
            real.release()

    delivery = ConfluentDelivery(cast(Any, _PendingError()))
    with pytest.raises(confluent_kafka.KafkaException):
        delivery(None, "message")
    assert not real.locked() and not delivery.is_done()
