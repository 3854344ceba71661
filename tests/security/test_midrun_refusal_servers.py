"""Elasticsearch refusing a running `index` (real secured servers): the password changed, the role
lost its write privilege, the certificate replaced by an untrusted one, each after the service had
indexed a first batch. The service logs the refusal once, by its cause and without secrets, commits
nothing it did not index, and once the cause is removed indexes every event exactly once, without a
restart; `index --once` meeting the refusal exits 3 at once with nothing committed.

The user and role are the test's own in the lab's file realm (tests/security/es_file_realm.py);
the certificate switch is a proxy of the test's own (tests/security/cert_switch_proxy.py)."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elastic_transport import TlsError

from logwarden.config import Config
from logwarden.es_io import client
from logwarden.runtime import certs
from logwarden.runtime.lab import Lab
from tests.services.helpers import Service, event, group, produce
from tests.support.cli import cli
from tests.support.namespaces import count

from .cert_switch_proxy import CertSwitchProxy
from .es_file_realm import FileRealmUser, file_realm_user, writer_privileges

pytestmark = pytest.mark.servers

FIRST, SECOND = 300, 200  # events indexed before the refusal, events produced during it
RECOVERY = "accepts the requests again"
OUTAGE = "unreachable ("


@pytest.fixture
def secured(ns: Config, lab: Lab) -> Config:
    if not lab.secure:
        pytest.fail("the lab runs without security (a plaintext lab was found on its ports)", pytrace=False)
    return ns


def _wait(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still not {what} after {timeout}s"
        time.sleep(0.3)


def committed(cfg: Config, group_id: str) -> int:
    """Messages of the namespace's windows topic the group has committed (sum over partitions)."""
    from kafka import KafkaAdminClient

    from logwarden.kafka_io import client_options

    admin = KafkaAdminClient(**client_options(cfg))
    try:
        offsets = admin.list_group_offsets({group_id: None}).get(group_id, {})
    finally:
        admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == cfg.topic("windows") and meta.offset > 0)


def _run_through_a_refusal(cfg: Config, service_cfg: Config, gid: str, tag: str, refuse: Callable[[], None],
                           allow: Callable[[], None], needle: str, env: dict[str, str] | None = None,
                           ) -> tuple[Service, dict[str, Any]]:
    """Index FIRST events, `refuse()`, produce SECOND more, wait for the ERROR line holding
    `needle`, check nothing more is indexed or committed, `allow()`, wait for every event; returns
    the stopped service and its summary."""
    es = client(cfg)
    produce(cfg, [event(i, tag) for i in range(FIRST)])
    service = Service(service_cfg, "index", "--json", "--group", gid, env=env)
    try:
        _wait(lambda: count(es, cfg, "windows") == FIRST and committed(cfg, gid) == FIRST, f"{FIRST} indexed")
        refuse()
        produce(cfg, [event(i, tag) for i in range(FIRST, FIRST + SECOND)])
        service.wait_for(needle)
        for _ in range(3):  # refused for a while: nothing indexed, nothing committed past it
            assert count(es, cfg, "windows") == FIRST and committed(cfg, gid) == FIRST
            time.sleep(1)
        allow()
        service.wait_for(RECOVERY, timeout=90)
        _wait(lambda: count(es, cfg, "windows") == FIRST + SECOND and committed(cfg, gid) == FIRST + SECOND,
              "every event indexed and committed")
    finally:
        code, out = service.stop()
    assert code == 0, "\n".join(service.lines[-20:])
    stats: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return service, stats


def _assert_once_and_clean(service: Service, stats: dict[str, Any], needle: str, *secrets: str) -> None:
    log = "\n".join(service.lines)
    assert stats["created"] == FIRST + SECOND and stats["existing"] == 0 and stats["dead_lettered"] == 0, stats
    assert stats["refused"] >= 1, stats
    errors = [line for line in service.lines if " error " in line]
    assert len(errors) == 1 and needle in errors[0], log  # once per change, not per retry
    assert "retried with backoff" in errors[0]
    assert service.count(RECOVERY) == 1, log
    assert "Traceback" not in log
    for secret in secrets:
        assert secret not in log and secret not in json.dumps(stats)


def test_a_password_changed_mid_run_is_waited_out(secured: Config, lab: Lab) -> None:
    name = f"{secured.topic_prefix.rstrip('.')}-pw"
    with file_realm_user(lab, name, writer_privileges(secured.index_prefix)) as user:
        first_password = user.password
        replaced = "changed-by-the-admin-9Kp"
        service_cfg = user.config(secured)
        service, stats = _run_through_a_refusal(
            secured, service_cfg, group(secured, "refused-401"), "pw",
            refuse=lambda: user.set_password(replaced), allow=lambda: user.set_password(first_password),
            needle="refused the credentials (401")
    _assert_once_and_clean(service, stats, f"unable to authenticate user [{user.name}]", first_password, replaced)
    assert service.count(OUTAGE) == 0


def test_a_role_that_loses_its_write_privilege_mid_run_is_waited_out(secured: Config, lab: Lab, tmp_path: Path
                                                                     ) -> None:
    """Elasticsearch answers such a _bulk 200 with a 403 per item: before, each became a dead letter
    (and the offsets were committed), and the dead letters were refused too."""
    probe = f"{secured.index_prefix}windows-2020.04.14"
    name = f"{secured.topic_prefix.rstrip('.')}-role"
    with file_realm_user(lab, name, writer_privileges(secured.index_prefix)) as user:
        elsewhere = [{"names": [f"{secured.index_prefix}nothing-*"], "privileges": ["create_doc"]}]
        service, stats = _run_through_a_refusal(
            secured, user.config(secured), group(secured, "refused-403"), "role",
            refuse=lambda: user.set_indices(elsewhere, probe, allowed=False),
            allow=lambda: user.set_indices(writer_privileges(secured.index_prefix), probe, allowed=True),
            needle="permission missing (403)")
    _assert_once_and_clean(service, stats, "is unauthorized for user", user.password)
    assert count(client(secured), secured, "deadletter") == 0
    assert not (Path(secured.state) / "rejected-deadletters.jsonl").exists()


def test_a_certificate_replaced_by_an_untrusted_one_mid_run_is_waited_out(secured: Config, tmp_path: Path) -> None:
    es_port = int(secured.elasticsearch.rsplit(":", 1)[1])
    proxy = CertSwitchProxy(("127.0.0.1", es_port), tmp_path / "impostor")
    try:
        via_proxy = proxy.url_for(secured.elasticsearch)
        service, stats = _run_through_a_refusal(
            secured, secured, group(secured, "refused-tls"), "tls", refuse=proxy.impostor, allow=proxy.forward,
            needle="its certificate is not trusted", env={"LOGWARDEN_ES": via_proxy})
    finally:
        proxy.close()
    assert proxy.impostor_handshakes >= 1
    _assert_once_and_clean(service, stats, f"Elasticsearch at {via_proxy}: its certificate is not trusted "
                                           "(self-signed certificate)", secured.es_password)


def test_index_once_meeting_an_untrusted_certificate_exits_3_with_nothing_committed(secured: Config,
                                                                                    tmp_path: Path) -> None:
    """The start-up probe goes through (first connection forwarded); the first _bulk meets the
    untrusted certificate: exit 3 at once, one line; the next run indexes every event once."""
    es_port = int(secured.elasticsearch.rsplit(":", 1)[1])
    proxy = CertSwitchProxy(("127.0.0.1", es_port), tmp_path / "impostor", trusted_connections=1)
    produce(secured, [event(i, "once") for i in range(FIRST)])
    gid = group(secured, "refused-once")
    try:
        via_proxy = proxy.url_for(secured.elasticsearch)
        proxied = copy.copy(secured)
        proxied.elasticsearch = via_proxy
        refused = cli(proxied, "index", "--once", "--group", gid)
    finally:
        proxy.close()
    assert refused.returncode == 3, refused.stderr[-2000:]
    assert "Traceback" not in refused.stderr and proxy.impostor_handshakes >= 1
    last = refused.stderr.strip().splitlines()[-1]
    assert f"Elasticsearch at {via_proxy}: its certificate is not trusted (self-signed certificate)" in last, last
    es = client(secured)
    assert count(es, secured, "windows") == 0 and committed(secured, gid) == 0
    again = cli(secured, "index", "--once", "--json", "--group", gid)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(again.stdout.strip().splitlines()[-1])["created"] == FIRST
    assert count(es, secured, "windows") == FIRST and committed(secured, gid) == FIRST


def test_the_file_realm_user_is_removed_afterwards(secured: Config, lab: Lab) -> None:
    """Guard for the helper: nothing of the test's user stays in the lab's files."""
    name = f"{secured.topic_prefix.rstrip('.')}-gone"
    with file_realm_user(lab, name, writer_privileges(secured.index_prefix)):
        pass
    config = FileRealmUser(lab, name).config_dir
    for file in ("users", "users_roles", "roles.yml"):
        assert name not in (config / file).read_text()


def test_a_ca_added_to_the_ca_file_is_read_without_a_restart(secured: Config, tmp_path: Path) -> None:
    """A certificate rotation to a new authority is fixed in the client's CA file without restarting
    the service: the client reads the file again for each new connection."""
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(certs.untrusted_ca(tmp_path).read_text())
    cfg = copy.copy(secured)
    cfg.es_ca_file = str(bundle)
    es = client(cfg)
    with pytest.raises(TlsError):
        es.security.authenticate()
    bundle.write_text(bundle.read_text() + Path(secured.es_ca_file).read_text())
    assert es.security.authenticate()["username"] == secured.es_user
