"""How `SpoolingSink`'s spool replay tells a refusal from an outage (no servers: a `KafkaSink`
around a scripted producer). A replay whose deliveries Kafka refuses (a WRITE ACL removed) or
whose client logs a refusal (an untrusted certificate) is one ERROR line naming it, the user and
what waits in the spool, retried quietly, then one INFO line when Kafka accepts: never
"unreachable". A replay that merely fails is an outage as before. A producer the refusal left
unable to deliver is replaced. Real servers: tests/syslog/test_sink_refusal_servers.py."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError, TopicAuthorizationFailedError

from logwarden.config import Config
from logwarden.kafka_io import KafkaSink, Message
from logwarden.shippers import spooling_sink
from logwarden.shippers.spool import Spool
from logwarden.shippers.spooling_sink import SpoolingSink

CFG = Config(kafka="127.0.0.1:19092", topic_prefix="lw.", kafka_security_protocol="SASL_SSL",
             kafka_sasl_mechanism="SCRAM-SHA-512", kafka_user="syslog-user", kafka_password="pw-never-shown")
PERMISSION = "Kafka at 127.0.0.1:19092: permission missing for user 'syslog-user'"


class _Outcome:
    """A delivery already settled: acknowledged (`error` None) or failed."""

    def __init__(self, error: BaseException | None) -> None:
        self.exception = error

    def succeeded(self) -> bool:
        return self.exception is None

    def is_done(self) -> bool:
        return True

    def add_callback(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.exception is None:
            fn(*args, None)

    def add_errback(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.exception is not None:
            fn(*args, self.exception)


class ScriptedProducer:
    """Each replay (a flush) takes the next step of `script`: "refuse" (every delivery fails with
    TopicAuthorizationFailedError), "untrusted" (the flush times out while the client logs a
    certificate failure), "away" (the flush times out, nothing logged), "fail" (refused, and the
    producer is failed: it can never deliver again); past the script, everything is acknowledged.
    A delivery whose flush timed out stays in the producer, as in a real client: it is delivered
    (and resolved) by the next flush that is acknowledged."""

    client = "scripted"

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.flushes = 0
        self.delivered: list[str] = []
        self.closed = False
        self._batch: list[tuple[_Outcome, str]] = []
        self._failed: str | None = None

    def _step(self) -> str:
        return self.script[self.flushes] if self.flushes < len(self.script) else "accept"

    def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> _Outcome:
        ident = dict(headers or [])["id"].decode()
        step = "fail" if self._failed else self._step()
        if step in ("refuse", "fail"):
            return _Outcome(TopicAuthorizationFailedError(topic))
        outcome = _Outcome(None) if step == "accept" else _Pending()
        self._batch.append((outcome, ident))
        return outcome

    def flush(self, timeout: float | None = None) -> None:
        step = "fail" if self._failed else self._step()
        self.flushes += 1
        if step == "fail":
            self._failed = "TopicAuthorizationFailedError (fatal)"
        if step == "untrusted":
            logging.getLogger("kafka.conn").error("<BrokerConnection node_id=1>: SSL handshake failed: "
                                                  "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
        if step in ("untrusted", "away"):  # held: delivered by a later flush
            raise KafkaTimeoutError(f"{len(self._batch)} message(s) not acknowledged after {timeout}s")
        batch, self._batch = self._batch, []
        for outcome, _ in batch:
            if isinstance(outcome, _Pending):
                outcome.done = True
        self.delivered += [ident for _, ident in batch]

    def failed(self) -> str | None:
        return self._failed

    def close(self, timeout: float | None = None) -> None:
        self.closed = True


class _Pending(_Outcome):
    """A delivery not acknowledged (its flush times out)."""

    def __init__(self) -> None:
        super().__init__(None)
        self.done = False  # acknowledged by a later flush

    def succeeded(self) -> bool:
        return self.done

    def is_done(self) -> bool:
        return self.done


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def at(self, level: int) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno == level]


@pytest.fixture
def lines() -> Iterator[_Lines]:
    handler = _Lines()
    logger = logging.getLogger(spooling_sink.__name__)
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def _kafka(producer: ScriptedProducer) -> KafkaSink:
    kafka = KafkaSink.__new__(KafkaSink)  # not connected: the producer is the scripted one
    kafka.cfg, kafka.producer, kafka._errors, kafka.sent, kafka.dead = CFG, producer, [], 0, 0  # type: ignore[assignment]
    return kafka


def _replayed(tmp_path: Path, producers: list[ScriptedProducer], count: int = 4) -> SpoolingSink:
    """A sink whose spool holds `count` messages of an earlier run, once the forwarder replayed
    them all (each connection takes the next of `producers`)."""
    spool = Spool(tmp_path, max_bytes=1 << 20)
    assert spool.append_many([Message("lw.firewall", b"fw01", b"{}", f"ev-{i}") for i in range(count)]) == count
    made = iter(producers)
    sink = SpoolingSink(CFG, spool, connect=lambda: _kafka(next(made)))
    deadline = time.monotonic() + 60
    while sink.spooling or sink.counters.replayed < count:
        assert time.monotonic() < deadline, "the spool was not replayed"
        time.sleep(0.02)
    return sink


def test_a_refused_replay_is_one_error_naming_the_permission_then_one_info(tmp_path: Path, lines: _Lines) -> None:
    producer = ScriptedProducer(["refuse", "refuse"])
    sink = _replayed(tmp_path, [producer])
    sink.close(grace=0)
    assert producer.delivered == [f"ev-{i}" for i in range(4)] and producer.flushes == 3
    errors = lines.at(logging.ERROR)
    assert len(errors) == 1, errors
    assert errors[0].startswith(PERMISSION) and "WRITE refused on topic lw.firewall" in errors[0], errors[0]
    assert f"4 message(s) wait in the spool {tmp_path}" in errors[0] and "pw-never-shown" not in errors[0]
    accepted = [m for m in lines.at(logging.INFO) if "accepts the requests again" in m]
    assert len(accepted) == 1 and accepted[0].startswith("Kafka at 127.0.0.1:19092 accepts"), lines.at(logging.INFO)
    assert not any("unreachable" in r.getMessage() for r in lines.records)
    assert sink.outage.refusal.retries == 2 and sink.outage.outages == 0


def test_a_client_that_logs_an_untrusted_certificate_during_a_replay_is_a_refusal(tmp_path: Path,
                                                                                   lines: _Lines) -> None:
    producer = ScriptedProducer(["untrusted"])
    sink = _replayed(tmp_path, [producer])
    sink.close(grace=0)
    errors = lines.at(logging.ERROR)
    assert len(errors) == 1 and "its certificate is not trusted" in errors[0], errors
    assert not any("unreachable" in r.getMessage() for r in lines.records)
    assert sorted(producer.delivered) == [f"ev-{i}" for i in range(4)]


def test_a_replay_that_merely_fails_stays_an_outage(tmp_path: Path, lines: _Lines) -> None:
    producer = ScriptedProducer(["away"])
    sink = _replayed(tmp_path, [producer])
    sink.close(grace=0)
    warnings = lines.at(logging.WARNING)
    assert len(warnings) == 1 and "unreachable (replaying the spool: KafkaTimeoutError" in warnings[0], warnings
    assert not lines.at(logging.ERROR)
    assert [m for m in lines.at(logging.INFO) if "reachable again" in m], lines.at(logging.INFO)
    assert sink.outage.outages == 1 and sink.outage.refusal.retries == 0


def test_a_producer_the_refusal_left_unusable_is_replaced(tmp_path: Path, lines: _Lines) -> None:
    failed, fresh = ScriptedProducer(["fail"]), ScriptedProducer([])
    sink = _replayed(tmp_path, [failed, fresh])
    sink.close(grace=0)
    assert failed.closed and not failed.delivered
    assert fresh.delivered == [f"ev-{i}" for i in range(4)]
    assert len(lines.at(logging.ERROR)) == 1 and lines.at(logging.ERROR)[0].startswith(PERMISSION)
    assert sum("accepts the requests again" in m for m in lines.at(logging.INFO)) == 1


def test_a_replay_whose_producer_cannot_take_a_message_names_its_topic(tmp_path: Path, lines: _Lines) -> None:
    """librdkafka raises a produce to a topic it was refused from `send` (the kafka_io line)."""

    class RefusingSend(ScriptedProducer):
        refusals = 2

        def send(self, topic: str, key: bytes, value: bytes,
                 headers: list[tuple[str, bytes]] | None = None) -> _Outcome:
            if self.refusals:
                self.refusals -= 1
                raise KafkaError(f"produce refused: {topic}: Broker: Topic authorization failed")
            return super().send(topic, key, value, headers)

    producer = RefusingSend([])
    sink = _replayed(tmp_path, [producer])
    sink.close(grace=0)
    errors = lines.at(logging.ERROR)
    assert len(errors) == 1 and "WRITE refused on topic lw.firewall" in errors[0], errors
    assert producer.delivered == [f"ev-{i}" for i in range(4)]


def _replay_one(tmp_path: Path, connect: Callable[[], KafkaSink]) -> None:
    """One message left in the spool, replayed by a sink whose producers come from `connect`;
    returns once it is replayed and the sink closed."""
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append(Message("lw.firewall", b"fw01", b"{}", "ev-0"))
    sink = SpoolingSink(CFG, spool, connect=connect)
    deadline = time.monotonic() + 60
    while sink.counters.replayed < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    sink.close(grace=0)


def test_a_connection_error_before_any_producer_is_an_outage(tmp_path: Path, lines: _Lines) -> None:
    attempts = [0]
    producer = ScriptedProducer([])

    def connect() -> KafkaSink:
        attempts[0] += 1
        if attempts[0] == 1:
            raise KafkaConnectionError("no broker")
        return _kafka(producer)

    _replay_one(tmp_path, connect)
    assert producer.delivered == ["ev-0"] and not lines.at(logging.ERROR)
    warnings = lines.at(logging.WARNING)
    assert [m for m in warnings if "unreachable (KafkaConnectionError: no broker)" in m], warnings
    assert not any("accepts the requests again" in m for m in lines.at(logging.INFO))


def test_a_replay_that_timed_out_is_not_sent_again_while_the_producer_holds_it(tmp_path: Path,
                                                                               lines: _Lines) -> None:
    """A refused login leaves the messages in the producer, which delivers them once it logs in
    again: the next attempts wait for them instead of producing a second copy of each."""
    producer = ScriptedProducer(["away", "away", "away"])
    sink = _replayed(tmp_path, [producer])
    sink.close(grace=0)
    assert producer.delivered == [f"ev-{i}" for i in range(4)] and producer.flushes == 4


def test_a_refused_login_logged_before_the_replay_names_it(tmp_path: Path, lines: _Lines) -> None:
    """The client logs a refused login when it connects again, which may be before the replay
    starts (here: while the producer connects): it still names the replay's failure."""
    producer = ScriptedProducer(["away"])

    def connect() -> KafkaSink:
        logging.getLogger("kafka.net.manager").error(
            "Connection failed: [Error 58] SaslAuthenticationFailedError: Authentication failed during "
            "authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512")
        return _kafka(producer)

    _replay_one(tmp_path, connect)
    errors = lines.at(logging.ERROR)
    assert len(errors) == 1 and "refused the SASL SCRAM-SHA-512 login of user 'syslog-user'" in errors[0], errors
    assert "pw-never-shown" not in errors[0] and producer.delivered == ["ev-0"]
    assert not any("unreachable" in r.getMessage() for r in lines.records)
