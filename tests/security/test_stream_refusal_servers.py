"""A running `stream` member refused by the real secured Kafka (both clients): the READ ACL on the
topics removed, its SCRAM password changed (seen when it logs in again after its connections were
reset), the WRITE ACL its alert producer needs removed. As the indexer (test_kafka_consumer_
refusal_servers.py), it says the cause in one ERROR line (not "unreachable"), never the password,
commits nothing past what it evaluated and produced, and once the cause is removed goes on without
a restart: one INFO line for the recovery, every event evaluated once, and the alerts exactly
those hunt raises on the same events (single-event rules and correlations, which go through the
repartition topic). `stream --once` that may not read exits 3 at once with the cause.

The events are the scale-out tests' incident set (tests/scaling/stream_events.py: one attacker per
host, in time order): the first part is evaluated before the refusal, the rest produced during it.
The SCRAM user and its ACLs are the test's own (removed afterwards)."""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kafka.admin import ACLOperation

from logwarden.config import Config
from logwarden.consume import StopFlag
from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector
from logwarden.detection.stream import StreamStats, run_stream
from logwarden.kafka_io import STREAM_REPARTITION
from logwarden.runtime.lab import Lab
from tests.scaling.stream_events import hunt_alert_ids, incident_events
from tests.services.helpers import committed_everything, group, produce, read_topic
from tests.support.cli import cli
from tests.support.scram_user import ScramUser, own_scram_user

from .socket_reset import reset_own_connections
from .test_kafka_consumer_refusal_servers import (
    CLIENTS,
    NO_PERMISSION,
    RECOVERY,
    SASL_REFUSED,
    TOPIC_OPERATIONS,
    _Lines,
    _wait,
)
from .test_midrun_refusal_servers import committed

pytestmark = pytest.mark.servers

EVENTS = incident_events()
FIRST = 400  # events evaluated before the refusal; the rest are produced during it


@pytest.fixture(scope="module")
def hunt_ids() -> set[str]:
    """The ids of the alerts hunt's batch path raises on EVENTS."""
    return hunt_alert_ids(EVENTS)


@pytest.fixture(scope="module")
def versions() -> Counter[str]:
    """How many alert messages of each id the Detector produces in process over EVENTS, one event
    at a time in time order (a correlation's episode reports a new version of its alert as its
    count grows: stream produces each version)."""
    detector = Detector(load_ruleset(None))
    return Counter(a["event"]["id"] for e in EVENTS for a in detector.process(e.doc, e.id))


@pytest.fixture
def stream_user(ns: Config, lab: Lab) -> Iterator[ScramUser]:
    """What stream needs: read the input and repartition topics, write alerts and repartition
    records, describe the topics, read its group."""
    with own_scram_user(ns, lab.secure, "stream", TOPIC_OPERATIONS, groups=(ACLOperation.READ,)) as user:
        yield user


def _alert_ids(cfg: Config) -> list[str]:
    """The ids of the alert messages in the namespace's alerts topic, one per message."""
    return [json.loads(m.value)["event"]["id"] for m in read_topic(cfg, cfg.topic("alerts"))]


def _all_committed(cfg: Config, gid: str) -> bool:
    return committed_everything(cfg, gid, [cfg.topic("windows"), cfg.topic(STREAM_REPARTITION)])


def _through_a_refusal(user: ScramUser, kafka_client: str, tag: str, refuse: Callable[[], None],
                       allow: Callable[[], None], needle: str, reads: bool = True,
                       ) -> tuple[StreamStats, _Lines, list[str]]:
    """Evaluate the first FIRST events with the user's stream member (in a thread), `refuse()`,
    wait for the ERROR line holding `needle`, produce the rest, check the commits stay at FIRST,
    `allow()`, wait for every input and repartition partition committed to its end; returns the
    stopped member's counters, its lines and the alert ids produced. With `reads` False (a
    refusal only the alert producer meets) the rest is produced before waiting for the ERROR line
    (the member reads it, then cannot deliver its alerts), and the commits are checked to stay
    where they were when the refusal was logged, short of the end."""
    cfg = user.cfg
    gid = group(cfg, f"stream-refused-{tag}")
    lines = _Lines()
    logger = logging.getLogger("logwarden")
    level = logger.level
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)  # the recovery is logged at info
    stop = StopFlag()
    result: dict[str, Any] = {}

    def member() -> None:
        try:
            result["stats"] = run_stream(user.config(kafka_client), Detector(load_ruleset(None)), group_id=gid,
                                         stop=stop)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
            result["error"] = exc

    worker = threading.Thread(target=member, daemon=True)
    try:
        produce(cfg, EVENTS[:FIRST])
        worker.start()
        _wait(lambda: "error" in result or (committed(cfg, gid) == FIRST and _all_committed(cfg, gid)),
              f"{FIRST} evaluated")
        before = _alert_ids(cfg)
        refuse()
        if not reads:
            produce(cfg, EVENTS[FIRST:])
        _wait(lambda: "error" in result or any(needle in line for line in lines.at(logging.ERROR)),
              f"refused ({needle!r})")
        if reads:
            produce(cfg, EVENTS[FIRST:])  # they wait for the refusal's end
        held = committed(cfg, gid)
        stop.wait(2)  # a few more refused attempts
        assert committed(cfg, gid) == held < len(EVENTS), "a refused batch was committed"
        assert not reads or held == FIRST, "a batch read under the refusal was committed"
        assert "error" not in result, repr(result.get("error"))
        allow()
        _wait(lambda: "error" in result or (committed(cfg, gid) == len(EVENTS) and _all_committed(cfg, gid)),
              f"{len(EVENTS)} evaluated", timeout=180)
        _wait(lambda: "error" in result or any(RECOVERY in line for line in lines.at(logging.INFO)),
              "the recovery logged")
    finally:
        stop.set()
        worker.join(90)
        logger.removeHandler(lines)
        logger.setLevel(level)
    assert not worker.is_alive(), "the stream member did not stop"
    assert "error" not in result, repr(result.get("error"))
    assert before, "the first part must raise alerts"
    return result["stats"], lines, _alert_ids(cfg)


def _assert_said_once(lines: _Lines, needle: str, *secret: str, outage_first: bool = False) -> None:
    """One ERROR line holding `needle` (the refusal's), one INFO recovery line, no secret, no
    traceback, and no outage ("unreachable") unless `outage_first`: a password refusal is seen only
    once the client fails to log in again, and the connection reset before that is an outage."""
    errors = lines.at(logging.ERROR)
    refusals = [line for line in errors if needle in line]
    assert len(refusals) == 1 and len(errors) == 1, errors
    assert "retried with backoff" in refusals[0] and "uncommitted in Kafka" in refusals[0], refusals[0]
    assert sum(RECOVERY in line for line in lines.at(logging.INFO)) == 1, lines.lines
    everything = "\n".join(text for _, text in lines.lines)
    assert "Traceback" not in everything
    assert outage_first or "unreachable" not in everything, everything[-3000:]
    for value in secret:
        assert value not in everything


def _assert_each_event_once(stats: StreamStats, alert_ids: list[str], hunt_ids: set[str],
                            versions: Counter[str]) -> None:
    """Every input event evaluated once (what was consumed beyond the repartition records), but
    for a batch whose commit a rebalance refused (`uncommitted`: read again by design, the ids
    make it a no-op); the alerts are hunt's, each version produced once as in process (copies
    only from a batch read again)."""
    again = stats.consumed - stats.counted - len(EVENTS)
    assert 0 <= again <= stats.uncommitted, stats
    assert stats.undecodable == 0 and (stats.duplicates == 0 or stats.uncommitted > 0), stats
    got = set(alert_ids)
    assert got == hunt_ids, f"missing {len(hunt_ids - got)}, extra {len(got - hunt_ids)}"
    if stats.uncommitted:
        assert not versions - Counter(alert_ids), versions - Counter(alert_ids)
    else:
        assert Counter(alert_ids) == versions, (Counter(alert_ids) - versions, versions - Counter(alert_ids))


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_a_stream_member_whose_read_acl_is_removed_mid_run_waits_it_out(
        stream_user: ScramUser, kafka_client: str, hunt_ids: set[str], versions: Counter[str]) -> None:
    stats, lines, alert_ids = _through_a_refusal(stream_user, kafka_client, f"acl-{kafka_client}",
                                                 lambda: stream_user.deny(ACLOperation.READ),
                                                 lambda: stream_user.allow([ACLOperation.READ]), NO_PERMISSION)
    _assert_said_once(lines, f"{NO_PERMISSION} '{stream_user.name}'", stream_user.password)
    _assert_each_event_once(stats, alert_ids, hunt_ids, versions)


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_a_stream_member_whose_password_changes_mid_run_waits_it_out(
        stream_user: ScramUser, kafka_client: str, hunt_ids: set[str], versions: Counter[str]) -> None:
    first = stream_user.password
    replaced = f"changed-by-the-admin-{secrets.token_hex(4)}"

    def refuse() -> None:
        stream_user.set_password(replaced)
        assert reset_own_connections(int(stream_user.cfg.kafka.rsplit(":", 1)[1])) >= 1

    stats, lines, alert_ids = _through_a_refusal(stream_user, kafka_client, f"pw-{kafka_client}", refuse,
                                                 lambda: stream_user.set_password(first), SASL_REFUSED)
    _assert_said_once(lines, f"{SASL_REFUSED} '{stream_user.name}'", first, replaced, outage_first=True)
    _assert_each_event_once(stats, alert_ids, hunt_ids, versions)


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_a_stream_member_whose_alert_writes_are_refused_mid_run_waits_it_out(
        stream_user: ScramUser, kafka_client: str, hunt_ids: set[str], versions: Counter[str]) -> None:
    stats, lines, alert_ids = _through_a_refusal(stream_user, kafka_client, f"write-{kafka_client}",
                                                 lambda: stream_user.deny(ACLOperation.WRITE),
                                                 lambda: stream_user.allow([ACLOperation.WRITE]), NO_PERMISSION,
                                                 reads=False)
    _assert_said_once(lines, f"{NO_PERMISSION} '{stream_user.name}'", stream_user.password)
    _assert_each_event_once(stats, alert_ids, hunt_ids, versions)


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_stream_once_refused_its_reads_exits_3_at_once(stream_user: ScramUser, kafka_client: str) -> None:
    cfg = stream_user.cfg
    produce(cfg, EVENTS[:50])
    stream_user.deny(ACLOperation.READ)
    gid = group(cfg, f"stream-once-{kafka_client}")
    proc = cli(stream_user.config(kafka_client), "stream", "--once", "--group", gid)
    assert proc.returncode == 3, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert f"{NO_PERMISSION} '{stream_user.name}'" in last, proc.stderr[-3000:]
    assert "unreachable" not in proc.stderr and "Traceback" not in proc.stderr  # not the outage's patience
    assert stream_user.password not in proc.stderr + proc.stdout
    assert committed(cfg, gid) == 0
    assert _alert_ids(cfg) == []
