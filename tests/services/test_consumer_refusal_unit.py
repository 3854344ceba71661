"""A refusal met by a running consumer, on fakes (no servers): the consume loop says it once as a
refusal (not "unreachable"), keeps the batch uncommitted, says once when Kafka accepts again, and
a drain (`--once`) raises it at once. How the consumer wrapper tells a refusal from an outage
(its error, or the client's log lines of the call). The real-server tests are
tests/security/test_kafka_consumer_refusal_servers.py."""

from __future__ import annotations

import logging
from typing import Any

import kafka.errors
import pytest
from kafka.errors import CommitFailedError, KafkaConnectionError, KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from logwarden.config import Config
from logwarden.consume import ConsumeLoop, LoopCounters, Outage, StopFlag
from logwarden.errors import ServerError
from logwarden.kafka_io import ConsumerRefused, KafkaRefused, RefusalNamingConsumer, refusal_line
from tests.support.log_lines import messages

pytestmark = pytest.mark.usefixtures("no_backoff")

CFG = Config(kafka="127.0.0.1:9", kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
             kafka_user="indexer", kafka_password="s3cr3t-pw")
TP = TopicPartition("lw.windows", 0)
# kafka-python makes these from the protocol's error table at import: unseen by mypy
SaslAuthenticationFailedError: type[KafkaError] = getattr(kafka.errors, "SaslAuthenticationFailedError")  # noqa: B009
TopicAuthorizationFailedError: type[KafkaError] = getattr(kafka.errors, "TopicAuthorizationFailedError")  # noqa: B009
REFUSED_LOGIN = "refused the SASL SCRAM-SHA-512 login of user 'indexer'"


class _Record:
    def __init__(self, offset: int) -> None:
        self.topic, self.partition, self.offset = TP.topic, TP.partition, offset


class FakeConsumer:
    """Answers each `poll` and `commit` with the next step of its script (an exception is raised;
    a callable is called first, e.g. to log as a client does)."""

    client = "fake"

    def __init__(self, polls: list[Any], commits: list[Any] | None = None) -> None:
        self.polls = polls
        self.commits = commits or []
        self.committed_offsets: list[int] = []

    def _step(self, script: list[Any], default: Any) -> Any:
        step = script.pop(0) if script else default
        if callable(step) and not isinstance(step, type):
            step = step()
        if isinstance(step, BaseException):
            raise step
        return step

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[TopicPartition, list[Any]]:
        result: dict[TopicPartition, list[Any]] = self._step(self.polls, {})
        return result

    def commit(self, offsets: dict[TopicPartition, Any], timeout_ms: int | None = None) -> None:
        self._step(self.commits, None)
        self.committed_offsets.append(offsets[TP].offset)

    def assignment(self) -> set[TopicPartition]:
        return {TP}

    def end_offsets(self, partitions: list[TopicPartition], timeout_ms: int | None = None) -> dict[TopicPartition, int]:
        return {TP: 10}

    def position(self, partition: TopicPartition) -> int:
        return 10 if not self.polls else 0

    def seek(self, partition: TopicPartition, offset: int) -> None: ...

    def committed(self, partition: TopicPartition) -> int | None:
        return None

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return {0}

    def close(self, autocommit: bool = True) -> None: ...


class Handler:
    def __init__(self, stop: StopFlag, stop_after: int) -> None:
        self.stats = LoopCounters()
        self.handled: list[int] = []
        self.stop, self.stop_after = stop, stop_after

    def handle(self, records: list[Any]) -> None:
        self.handled.extend(r.offset for r in records)
        if len(self.handled) >= self.stop_after:
            self.stop.set("the test")


def _kafka_logs(text: str) -> Any:
    """A step that logs `text` at ERROR through the kafka logger, as librdkafka's log callback does,
    and then returns nothing."""
    def step() -> dict[TopicPartition, list[Any]]:
        logging.getLogger("kafka.librdkafka").error(text)
        return {}
    return step


def test_the_wrapper_names_a_refused_login_from_the_error_or_from_the_clients_log() -> None:
    raised = RefusalNamingConsumer(FakeConsumer([SaslAuthenticationFailedError("invalid credentials")]), CFG)
    with pytest.raises(ConsumerRefused) as refused:
        raised.poll()
    assert REFUSED_LOGIN in refused.value.line and "s3cr3t-pw" not in refused.value.line
    login_failed = _kafka_logs("FAIL [x#consumer-1]: SASL authentication error: Authentication failed during "
                               "authentication")
    logged = RefusalNamingConsumer(FakeConsumer([login_failed, login_failed]), CFG)
    with pytest.raises(ConsumerRefused) as refused:
        logged.poll()  # librdkafka: an empty poll, the cause only in its log
    assert REFUSED_LOGIN in refused.value.line


def test_the_wrapper_names_a_permission_and_leaves_outages_and_rebalances_alone() -> None:
    acl = RefusalNamingConsumer(FakeConsumer([], [TopicAuthorizationFailedError("{'lw.windows'}")]), CFG)
    with pytest.raises(ConsumerRefused) as refused:
        acl.commit({TP: OffsetAndMetadata(1, "", -1)})
    assert "permission missing for user 'indexer' (an ACL removed?)" in refused.value.line
    librdkafka = RefusalNamingConsumer(FakeConsumer([], [KafkaError(
        "commit: Commit failed: Broker: Topic authorization failed")]), CFG)
    with pytest.raises(ConsumerRefused):
        librdkafka.commit({TP: OffsetAndMetadata(1, "", -1)})
    down = RefusalNamingConsumer(FakeConsumer([KafkaConnectionError("socket disconnected")]), CFG)
    with pytest.raises(KafkaConnectionError):
        down.poll()
    moved = RefusalNamingConsumer(FakeConsumer([], [CommitFailedError("rebalanced")]), CFG)
    with pytest.raises(CommitFailedError):
        moved.commit({TP: OffsetAndMetadata(1, "", -1)})
    assert RefusalNamingConsumer(FakeConsumer([{}]), CFG).poll() == {}  # nothing logged: nothing said


def test_stale_refused_fetches_are_read_off_in_one_poll() -> None:
    """kafka-python raises one refused fetch per poll; once the ACL is back the rest go at once."""
    stale = [TopicAuthorizationFailedError("lw.windows")] * 1 + [{TP: [_Record(0)]}]
    consumer = RefusalNamingConsumer(FakeConsumer(stale), CFG)
    assert list(consumer.poll()) == [TP]


def test_refusal_line_is_only_for_refusals() -> None:
    assert refusal_line(ConsumerRefused("Kafka at x: permission missing")) == "Kafka at x: permission missing"
    assert refusal_line(KafkaRefused("Kafka at x refused", "3 message(s) not delivered")) == "Kafka at x refused"
    assert refusal_line(KafkaConnectionError("socket disconnected")) is None


def test_a_running_loop_says_a_refusal_once_and_its_end_once(records: pytest.LogCaptureFixture) -> None:
    stop = StopFlag()
    refused = SaslAuthenticationFailedError("invalid credentials")
    # refused at a poll (a reset connection when the wrapper polls again), refused, accepted
    consumer = FakeConsumer([refused, KafkaConnectionError("socket disconnected"), refused, refused,
                             {TP: [_Record(0), _Record(1)]}])
    handler = Handler(stop, stop_after=2)
    ConsumeLoop(RefusalNamingConsumer(consumer, CFG), handler, stop, CFG.kafka).run()
    errors = messages(records, logging.ERROR)
    assert len(errors) == 1 and REFUSED_LOGIN in errors[0] and "messages wait uncommitted in Kafka" in errors[0]
    assert not [line for line in messages(records, logging.WARNING) if "unreachable" in line]  # not an outage
    assert len([line for line in messages(records, logging.INFO) if "accepts the requests again" in line]) == 1
    assert handler.handled == [0, 1] and consumer.committed_offsets == [2] and handler.stats.kafka_retries == 2
    assert all("s3cr3t-pw" not in r.getMessage() for r in records.records)


def test_a_refused_commit_keeps_the_batch_uncommitted_until_accepted(records: pytest.LogCaptureFixture) -> None:
    stop = StopFlag()
    def stop_polling() -> dict[TopicPartition, list[Any]]:
        stop.set("the test")
        return {}

    consumer = FakeConsumer([{TP: [_Record(0)]}, stop_polling], [TopicAuthorizationFailedError("{'lw.windows'}")] * 3)
    handler = Handler(stop, stop_after=99)
    ConsumeLoop(RefusalNamingConsumer(consumer, CFG), handler, stop, CFG.kafka).run()
    errors = messages(records, logging.ERROR)
    assert len(errors) == 1 and "1 message(s) wait uncommitted in Kafka" in errors[0], errors
    assert consumer.committed_offsets == [1]  # after the three refusals, once


def test_a_drain_refused_raises_at_once() -> None:
    stop = StopFlag()
    consumer = FakeConsumer([TopicAuthorizationFailedError("lw.windows")] * 20)
    with pytest.raises(ServerError) as refused:
        ConsumeLoop(RefusalNamingConsumer(consumer, CFG), Handler(stop, 1), stop, CFG.kafka).run(once=True)
    assert "permission missing for user 'indexer'" in str(refused.value)


def test_a_probe_that_answers_does_not_end_a_refusal(records: pytest.LogCaptureFixture) -> None:
    """The broker tells its end offsets to a user it no longer lets read: still refused. A failure
    that names nothing (a connection reset while logging in again) continues the refusal."""
    outage = Outage("Kafka at x", StopFlag())
    outage.refused("Kafka at x: permission missing")
    outage.failed("socket disconnected")
    assert not messages(records, logging.WARNING) and len(messages(records, logging.ERROR)) == 1
    outage.succeeded(accepted=False)
    assert outage.refusal.ongoing and outage.ongoing
    outage.succeeded()
    assert not outage.ongoing
    assert len([line for line in messages(records, logging.INFO) if "accepts the requests again" in line]) == 1
