"""A running consumer refused by the real secured Kafka (both clients): its SCRAM password changed
(seen when it logs in again after its connections were reset), or the ACL that lets it read the
topics removed. The indexer says the cause in one ERROR line (not "unreachable"), never the
password, keeps what it could not commit uncommitted, and once the cause is removed goes on
without a restart: every event indexed once and committed, one INFO line for the recovery.
`index --once` meeting the refusal exits 3 with the cause (before: it waited out the outage's 60 s
of patience, then exit 3 naming an outage).

The SCRAM user and its ACLs are the test's own (removed afterwards). The reconnection is forced by
aborting this process's own connections to the broker (tests/security/socket_reset.py): librdkafka
has no proxy setting, and the shared broker is never touched."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka.admin import ACLOperation

from logwarden.config import Config
from logwarden.consume import StopFlag
from logwarden.es_io import client
from logwarden.pipelines.indexer import IndexStats, run_indexer
from logwarden.runtime.lab import Lab
from tests.services.helpers import event, group, produce
from tests.support.cli import cli
from tests.support.namespaces import count
from tests.support.scram_user import ScramUser, own_scram_user

from .cert_switch_proxy import CertSwitchProxy
from .socket_reset import reset_own_connections
from .test_midrun_refusal_servers import committed

pytestmark = pytest.mark.servers

FIRST, SECOND = 200, 150  # events indexed before the refusal, events produced during it
CLIENTS = ("kafka-python", "confluent")
RECOVERY = "accepts the requests again"
SASL_REFUSED = "refused the SASL SCRAM-SHA-512 login of user"
NO_PERMISSION = "permission missing for user"
# what the indexer needs: read, write and describe the namespace's topics, read its groups
TOPIC_OPERATIONS = (ACLOperation.READ, ACLOperation.WRITE, ACLOperation.DESCRIBE)


@pytest.fixture
def consumer_user(ns: Config, lab: Lab) -> Iterator[ScramUser]:
    with own_scram_user(ns, lab.secure, "consumer", TOPIC_OPERATIONS, groups=(ACLOperation.READ,)) as user:
        yield user


class _Lines(logging.Handler):
    """logwarden's own log lines of this process (the indexer runs in a thread here)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, record.getMessage()))

    def at(self, level: int) -> list[str]:
        return [text for levelno, text in list(self.lines) if levelno == level]


def _wait(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still not {what} after {timeout}s"
        time.sleep(0.3)


def _through_a_refusal(user: ScramUser, kafka_client: str, tag: str, refuse: Callable[[], None],
                       allow: Callable[[], None], needle: str, kafka_options: dict[str, Any] | None = None,
                       ) -> tuple[IndexStats, _Lines]:
    """Index FIRST events with the user's indexer (in a thread), `refuse()`, wait for the ERROR
    line holding `needle`, produce SECOND more, check the commits stay at FIRST, `allow()`, wait
    for every event indexed and committed; returns the stopped indexer's counters and its lines."""
    cfg = user.cfg
    gid = group(cfg, f"refused-{tag}")
    es = client(cfg)
    lines = _Lines()
    logger = logging.getLogger("logwarden")
    level = logger.level
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)  # the recovery is logged at info
    stop = StopFlag()
    result: dict[str, IndexStats] = {}
    worker = threading.Thread(target=lambda: result.setdefault(
        "stats", run_indexer(user.config(kafka_client), group_id=gid, stop=stop, kafka_options=kafka_options)),
                              daemon=True)
    try:
        produce(cfg, [event(i, tag) for i in range(FIRST)])
        worker.start()
        _wait(lambda: count(es, cfg, "windows") == FIRST and committed(cfg, gid) == FIRST, f"{FIRST} indexed")
        refuse()
        _wait(lambda: any(needle in line for line in lines.at(logging.ERROR)), f"refused ({needle!r})")
        produce(cfg, [event(i, tag) for i in range(FIRST, FIRST + SECOND)])  # they wait for the refusal's end
        time.sleep(2)  # a few more refused attempts
        assert committed(cfg, gid) == FIRST, "a refused batch was committed"
        allow()
        total = FIRST + SECOND
        _wait(lambda: count(es, cfg, "windows") == total and committed(cfg, gid) == total, f"{total} indexed")
        _wait(lambda: any(RECOVERY in line for line in lines.at(logging.INFO)), "the recovery logged")
    finally:
        stop.set()
        worker.join(60)
        logger.removeHandler(lines)
        logger.setLevel(level)
    assert not worker.is_alive(), "the indexer did not stop"
    return result["stats"], lines


def _assert_said_once(lines: _Lines, needle: str, *secret: str) -> None:
    errors = lines.at(logging.ERROR)
    refusals = [line for line in errors if needle in line]
    assert len(refusals) == 1, errors
    assert "retried with backoff" in refusals[0] and "uncommitted in Kafka" in refusals[0], refusals[0]
    assert sum(RECOVERY in line for line in lines.at(logging.INFO)) == 1, lines.lines
    everything = "\n".join(text for _, text in lines.lines)
    assert "Traceback" not in everything
    for value in secret:
        assert value not in everything


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_a_consumer_whose_password_changes_mid_run_waits_it_out(consumer_user: ScramUser, kafka_client: str
                                                                 ) -> None:
    first = consumer_user.password
    replaced = f"changed-by-the-admin-{secrets.token_hex(4)}"

    def refuse() -> None:
        consumer_user.set_password(replaced)
        assert reset_own_connections(int(consumer_user.cfg.kafka.rsplit(":", 1)[1])) >= 1

    stats, lines = _through_a_refusal(consumer_user, kafka_client, f"pw-{kafka_client}", refuse,
                                      lambda: consumer_user.set_password(first), SASL_REFUSED)
    _assert_said_once(lines, f"{SASL_REFUSED} '{consumer_user.name}'", first, replaced)
    assert stats.created == FIRST + SECOND and stats.existing == 0


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_a_consumer_whose_read_acl_is_removed_mid_run_waits_it_out(consumer_user: ScramUser, kafka_client: str
                                                                    ) -> None:
    stats, lines = _through_a_refusal(consumer_user, kafka_client, f"acl-{kafka_client}",
                                      lambda: consumer_user.deny(ACLOperation.READ),
                                      lambda: consumer_user.allow([ACLOperation.READ]), NO_PERMISSION)
    _assert_said_once(lines, f"{NO_PERMISSION} '{consumer_user.name}'", consumer_user.password)
    assert stats.created == FIRST + SECOND and stats.existing == 0


def test_a_consumer_meeting_an_untrusted_broker_certificate_mid_run_waits_it_out(consumer_user: ScramUser,
                                                                                 tmp_path: Path) -> None:
    """kafka-python only: the certificate is switched by a SOCKS proxy of the test's own, and
    librdkafka has no proxy setting."""
    proxy = CertSwitchProxy(None, tmp_path / "impostor", socks=True)
    try:
        stats, lines = _through_a_refusal(consumer_user, "kafka-python", "cert", proxy.impostor, proxy.forward,
                                          "its certificate is not trusted", {"proxy_url": proxy.url})
    finally:
        proxy.close()
    _assert_said_once(lines, f"Kafka at {consumer_user.cfg.kafka}: its certificate is not trusted",
                      consumer_user.password)
    assert stats.created == FIRST + SECOND and proxy.impostor_handshakes >= 1


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_index_once_refused_its_reads_exits_3_at_once(consumer_user: ScramUser, kafka_client: str) -> None:
    cfg = consumer_user.cfg
    produce(cfg, [event(i, "once-refused") for i in range(50)])
    consumer_user.deny(ACLOperation.READ)
    proc = cli(consumer_user.config(kafka_client), "index", "--once", "--group", group(cfg, f"once-{kafka_client}"))
    assert proc.returncode == 3, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert f"{NO_PERMISSION} '{consumer_user.name}'" in last, proc.stderr[-3000:]
    assert "unreachable" not in proc.stderr and "Traceback" not in proc.stderr  # not the outage's patience
    assert consumer_user.password not in proc.stderr + proc.stdout
    assert count(client(cfg), cfg, "windows") == 0
