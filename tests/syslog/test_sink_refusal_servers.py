"""`ship syslog` whose WRITE ACL is removed in the middle of a run, then restored, against the
secured lab's Kafka (both producer clients). The receiver keeps accepting: what Kafka refuses is
spooled and replayed once the ACL is back, so every line ends in Kafka once; the log says ONE
ERROR line naming the missing permission and the user (never the password, never "unreachable")
while it lasts and ONE INFO line when Kafka accepts again. Before, the spool's replay failures
were an outage: "Kafka at ... unreachable (replaying the spool: TopicAuthorizationFailedError...)".

With `--parse-workers 2` each parse process has its own producer and spool: lines sent one per
read go to both in turn, each is refused and recovers on its own, so the log holds one ERROR line
and one recovery line per process, each naming its process (docs/architecture.md, 61), and the
receiver's settlement counters reconcile with what reached Kafka. Stopped while still refused, each
process keeps what waits in its own spool, and the next run (the ACL back) replays both.

The other refusal met mid-run, the user's SCRAM password changed while the producers are connected,
shows only when a producer logs in again: the test aborts the connections of the receiver and its
parse processes to the broker (`ss -K`, tests/security/socket_reset.py), as a broker restart would.
Each process names the refused login and the user in one ERROR line (never either password; a
reset the client noticed late may read as an outage first, a WARNING, never after the refusal),
and once the password is set back recovers on its own, with every line in Kafka once (confluent:
kafka-python's reconnection backoff makes the case too slow for CI, see the test).

The SCRAM user and its ACLs are the test's own (removed afterwards)."""

from __future__ import annotations

import json
import re
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.admin import ACLOperation

from logwarden.config import Config
from logwarden.runtime.lab import Lab
from tests.security.socket_reset import process_tree, reset_connections_of
from tests.services.helpers import Service
from tests.support.scram_user import ScramUser, own_scram_user
from tests.syslog.sequenced import line, numbered_in_kafka

pytestmark = pytest.mark.servers

CLIENTS = ("kafka-python", "confluent")
LISTENING = re.compile(r"listening udp=.*? tcp=\('([\d.]+)', (\d+)\)")
ERROR = re.compile(r"^\S+ error ")
NO_PERMISSION = "permission missing for user"
SASL_REFUSED = "refused the SASL SCRAM-SHA-512 login of user"
ACCEPTED_AGAIN = "accepts the requests again"
BEFORE, DURING = 20, 20  # lines delivered before the ACL is removed; lines sent while it is refused
PARSE_WORKERS = 2
NAMED = re.compile(r"^\S+ \w+ [\w.]+: syslog parse process (\d+): ")  # a parse process's line (text format)


@pytest.fixture
def scram_user(ns: Config, lab: Lab) -> Iterator[ScramUser]:
    """A user of the test's own with WRITE and DESCRIBE on the namespace's topics."""
    with own_scram_user(ns, lab.secure, "syslog", (ACLOperation.WRITE, ACLOperation.DESCRIBE)) as user:
        yield user


def _wait_in_log(service: Service, text: str, sender: socket.socket, sent: list[int], timeout: float,
                 lines: int = 1) -> None:
    """Send a line every half second until `lines` log lines hold `text` (the lines sent stay numbered;
    one per read, so that parse processes take them in turn)."""
    deadline = time.monotonic() + timeout
    while service.count(text) < lines:
        assert time.monotonic() < deadline, f"no {text!r} after {timeout}s: " + "\n".join(service.lines[-20:])
        assert service.proc.poll() is None, "\n".join(service.lines[-20:])
        sender.sendall(line(sent[0]))
        sent[0] += 1
        time.sleep(0.5)


def _connect(service: Service) -> socket.socket:
    """A TCP connection to the receiver, once it says where it listens."""
    service.wait_for("listening")
    match = next(m for m in map(LISTENING.search, service.lines) if m)
    return socket.create_connection((match.group(1), int(match.group(2))))


def _send_apart(sender: socket.socket, sent: list[int], count: int) -> None:
    """`count` more numbered lines, one per read (parse processes take them in turn)."""
    for _ in range(count):
        sender.sendall(line(sent[0]))
        sent[0] += 1
        time.sleep(0.05)


def _assert_each_once(seen: list[tuple[int, bytes]], sent: int) -> None:
    numbers = sorted(n for n, _ in seen)
    assert numbers == list(range(sent)), f"missing {sorted(set(range(sent)) - set(numbers))[:20]}, " \
                                         f"copies {len(numbers) - len(set(numbers))}"


def _assert_settled(counts: dict[str, int], sent: int) -> None:
    """Every line the receiver took was parsed, handed to a parse process's sink and settled there:
    what was refused spooled and replayed, nothing dropped, lost, handed again or left behind."""
    assert counts["received"] == counts["tcp"] == counts["parsed"] == sent and counts["dead"] == 0, counts
    assert counts["replayed"] == counts["spooled"] >= DURING and counts["left_in_spool"] == 0, counts
    assert counts["dropped"] == counts["lost"] == counts["rehanded"] == 0, counts
    assert counts["parse_restarts"] == counts["parse_died"] == 0, counts


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_ship_syslog_whose_write_acl_is_removed_names_the_refusal_and_loses_nothing(
        scram_user: ScramUser, tmp_path: Path, kafka_client: str) -> None:
    cfg = scram_user.config(kafka_client)
    service = Service(cfg, "ship", "syslog", "--tcp", "127.0.0.1:0", "--spool-dir", str(tmp_path / "spool"),
                      "--json")
    try:
        sender = _connect(service)
        with sender:
            sender.sendall(b"".join(line(n) for n in range(BEFORE)))
            assert len({n for n, _ in numbered_in_kafka(scram_user.cfg, ("firewall",), BEFORE, 120)}) == BEFORE
            scram_user.deny(ACLOperation.WRITE)
            sent = [BEFORE]
            _wait_in_log(service, NO_PERMISSION, sender, sent, 90)  # the broker applies the ACL within moments
            sender.sendall(b"".join(line(n) for n in range(sent[0], sent[0] + DURING)))  # refused: spooled
            sent[0] += DURING
            time.sleep(1)
            scram_user.allow([ACLOperation.WRITE])
            _wait_in_log(service, ACCEPTED_AGAIN, sender, sent, 120)
        code, out = service.stop()
    finally:
        if service.proc.poll() is None:
            service.proc.kill()
    log = "\n".join(service.lines)
    assert code == 0, log[-3000:]
    errors = [text for text in service.lines if ERROR.match(text)]
    assert len(errors) == 1, log[-3000:]
    assert f"{NO_PERMISSION} '{scram_user.name}'" in errors[0] and "WRITE refused on topic" in errors[0], errors[0]
    assert "spool" in errors[0], errors[0]  # what waits, and where
    assert service.count(ACCEPTED_AGAIN) == 1, log[-3000:]
    assert "unreachable" not in log and scram_user.password not in log + out, log[-3000:]
    counts = json.loads(out.strip().splitlines()[-1])
    assert counts["replayed"] >= DURING and counts["left_in_spool"] == 0, counts
    seen = numbered_in_kafka(scram_user.cfg, ("firewall",), sent[0], 120)
    _assert_each_once(seen, sent[0])


def _processes_of(lines: list[str]) -> list[int]:
    """The parse process each of `lines` names (a line naming none fails the test)."""
    named = [NAMED.match(text) for text in lines]
    assert all(named), lines
    return sorted(int(m.group(1)) for m in named if m)


def _with_parse_workers(tmp_path: Path) -> tuple[str, ...]:
    """`ship syslog`'s arguments: TCP on a free port, the spool in `tmp_path`, PARSE_WORKERS processes."""
    return ("ship", "syslog", "--tcp", "127.0.0.1:0", "--spool-dir", str(tmp_path / "spool"),
            "--parse-workers", str(PARSE_WORKERS), "--json")


def _both_deliver_first(cfg: Config, sender: socket.socket, sent: list[int]) -> None:
    """BEFORE lines sent apart, so that both processes' producers deliver before the refusal, and
    seen in Kafka."""
    _send_apart(sender, sent, BEFORE)
    assert len({n for n, _ in numbered_in_kafka(cfg, ("firewall",), BEFORE, 120)}) == BEFORE


def _one_refusal_and_recovery_per_process(lines: list[str]) -> list[str]:
    """The ERROR lines of `lines`, after checking there is one per parse process, each naming its
    process and the spool that holds what waits, and one recovery line per process."""
    errors = [text for text in lines if ERROR.match(text)]
    assert _processes_of(errors) == list(range(PARSE_WORKERS)), "\n".join(lines[-30:])
    assert all("spool" in text for text in errors), errors
    assert _processes_of([t for t in lines if ACCEPTED_AGAIN in t]) == list(range(PARSE_WORKERS)), \
        "\n".join(lines[-30:])
    return errors


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_ship_syslog_with_parse_workers_whose_write_acl_is_removed_names_each_refusal_and_loses_nothing(
        scram_user: ScramUser, tmp_path: Path, kafka_client: str) -> None:
    cfg = scram_user.config(kafka_client)
    service = Service(cfg, *_with_parse_workers(tmp_path))
    try:
        sender = _connect(service)
        sent = [0]
        with sender:
            _both_deliver_first(scram_user.cfg, sender, sent)
            scram_user.deny(ACLOperation.WRITE)
            _wait_in_log(service, NO_PERMISSION, sender, sent, 90, lines=PARSE_WORKERS)
            _send_apart(sender, sent, DURING)  # refused: spooled by both processes
            time.sleep(1)
            scram_user.allow([ACLOperation.WRITE])
            _wait_in_log(service, ACCEPTED_AGAIN, sender, sent, 120, lines=PARSE_WORKERS)
        code, out = service.stop()
    finally:
        if service.proc.poll() is None:
            service.proc.kill()
    log = "\n".join(service.lines)
    assert code == 0, log[-3000:]
    for text in _one_refusal_and_recovery_per_process(service.lines):
        assert f"{NO_PERMISSION} '{scram_user.name}'" in text and "WRITE refused on topic" in text, text
    assert "unreachable" not in log and scram_user.password not in log + out, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    counts = json.loads(out.strip().splitlines()[-1])
    # settlement: every line the receiver took was parsed, handed to a sink and settled there
    _assert_settled(counts, sent[0])
    seen = numbered_in_kafka(scram_user.cfg, ("firewall",), sent[0], 120)
    _assert_each_once(seen, sent[0])


def test_ship_syslog_with_parse_workers_stopped_while_refused_leaves_each_spool_to_the_next_run(
        scram_user: ScramUser, tmp_path: Path) -> None:
    cfg = scram_user.config("kafka-python")
    args = _with_parse_workers(tmp_path)
    service = Service(cfg, *args)
    try:
        sender = _connect(service)
        with sender:
            scram_user.deny(ACLOperation.WRITE)
            sent = [0]
            _wait_in_log(service, NO_PERMISSION, sender, sent, 90, lines=PARSE_WORKERS)
            _send_apart(sender, sent, DURING)
            code, out = service.stop()  # still refused
    finally:
        if service.proc.poll() is None:
            service.proc.kill()
    first = json.loads(out.strip().splitlines()[-1])
    assert code == 0, "\n".join(service.lines[-30:])
    assert first["received"] == first["parsed"] == sent[0] and first["dropped"] == first["lost"] == 0, first
    assert first["left_in_spool"] == first["spooled"] - first["replayed"] >= DURING, first
    left = [text for text in service.lines if "left in the spool" in text]
    assert _processes_of(left) == list(range(PARSE_WORKERS)), left  # each process's own spool
    scram_user.allow([ACLOperation.WRITE])
    again = Service(cfg, *args)
    try:
        again.wait_for("listening")
        seen = numbered_in_kafka(scram_user.cfg, ("firewall",), sent[0], 120)
        code, out = again.stop()
    finally:
        if again.proc.poll() is None:
            again.proc.kill()
    log = "\n".join(service.lines + again.lines)
    assert code == 0, log[-3000:]
    second = json.loads(out.strip().splitlines()[-1])
    assert second["replayed"] == first["left_in_spool"] and second["left_in_spool"] == 0, second
    assert "unreachable" not in log and scram_user.password not in log + out, log[-3000:]
    _assert_each_once(seen, sent[0])


# confluent only: kafka-python passes it too, but took 57 and 101 s (not analysed yet), too dear for
# CI; its side of the fix (a refused login logged before the replay) is tests/syslog/test_sink_refusal.py's
@pytest.mark.parametrize("kafka_client", ["confluent"])
def test_ship_syslog_with_parse_workers_whose_password_changes_names_each_refused_login_and_loses_nothing(
        scram_user: ScramUser, tmp_path: Path, kafka_client: str) -> None:
    first = scram_user.password
    replaced = f"changed-by-the-admin-{secrets.token_hex(4)}"
    cfg = scram_user.config(kafka_client)
    service = Service(cfg, *_with_parse_workers(tmp_path))
    try:
        sender = _connect(service)
        sent = [0]
        with sender:
            _both_deliver_first(scram_user.cfg, sender, sent)
            scram_user.set_password(replaced)
            # each parse process's producer holds a connection: both must log in again
            assert reset_connections_of(process_tree(service.proc.pid),
                                        int(scram_user.cfg.kafka.rsplit(":", 1)[1])) >= PARSE_WORKERS
            _wait_in_log(service, SASL_REFUSED, sender, sent, 120, lines=PARSE_WORKERS)
            _send_apart(sender, sent, DURING)  # refused: spooled by both processes
            time.sleep(1)
            scram_user.set_password(first)
            _wait_in_log(service, ACCEPTED_AGAIN, sender, sent, 120, lines=PARSE_WORKERS)
            _send_apart(sender, sent, BEFORE)  # after the recovery: written directly again
        code, out = service.stop()
    finally:
        if service.proc.poll() is None:
            service.proc.kill()
    log = "\n".join(service.lines)
    assert code == 0, log[-3000:]
    for text in _one_refusal_and_recovery_per_process(service.lines):
        assert f"{SASL_REFUSED} '{scram_user.name}'" in text, text
    assert "Traceback" not in log and "reachable again" not in log, log[-3000:]
    for index in range(PARSE_WORKERS):
        # the reset is an outage until the client's login is refused (kafka-python may find the
        # connection gone only after the first replay: test_stream_refusal_servers.py's outage_first),
        # never once the refusal is named, and the outage ends in it, without a recovery of its own
        mine = [text for text in service.lines if f"syslog parse process {index}: " in text]
        refused_at = next(at for at, text in enumerate(mine) if SASL_REFUSED in text)
        assert not any("unreachable" in text for text in mine[refused_at:]), log[-3000:]
        assert all(" warning " in text for text in mine[:refused_at] if "unreachable" in text), log[-3000:]
    assert not any("unreachable" in text for text in service.lines if not NAMED.match(text)), log[-3000:]
    assert first not in log + out and replaced not in log + out
    counts = json.loads(out.strip().splitlines()[-1])
    _assert_settled(counts, sent[0])
    seen = numbered_in_kafka(scram_user.cfg, ("firewall",), sent[0], 120)
    _assert_each_once(seen, sent[0])
