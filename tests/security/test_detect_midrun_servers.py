"""`detect --interval` when the real secured Elasticsearch refuses it (a certificate it does not
trust) or goes away (connections refused) in the middle of a run: it waits, says so once (ERROR
for the refusal with its cause, WARNING for the outage), says once at INFO when Elasticsearch is
back, and then searches the window it could not: an event from the time it was kept out, older
than the pass's own look-back by then, still raises its alert, once. `detect --once` meeting an
untrusted certificate raises it (exit 3). The same for the detector's own user whose password
changes, and whose role loses the write privilege on the alerts indices.

Elasticsearch is reached through a proxy of the test's own (tests/security/cert_switch_proxy.py):
it forwards, presents a self-signed certificate, or refuses connections, as the test says; the
user is the test's own in the lab's file realm (tests/security/es_file_realm.py). The events are
indexed by the test directly, with the lab's own settings."""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from logwarden.config import Config
from logwarden.es_io import client
from logwarden.runtime.lab import Lab
from tests.services.helpers import Service
from tests.support.es_reads import while_shards_start

from .cert_switch_proxy import CertSwitchProxy
from .es_file_realm import file_realm_user

pytestmark = pytest.mark.servers

RULE = "sigma_rules/windows/win_security_log_cleared.yml"  # one rule: each pass is one query
RULE_ID = "fd23c15e-0709-4e48-8ae7-edbe446f024b"
LOOKBACK = 2.0  # --interval 2s --lookback 2s --overlap 1s: a pass alone sees the last 3 s
KEPT_OUT = 8.0  # seconds an event waits behind the refusal/outage: beyond any one pass's window


@pytest.fixture
def secured(ns: Config, lab: Lab) -> Config:
    if not lab.secure:
        pytest.fail("the lab runs without security (a plaintext lab was found on its ports)", pytrace=False)
    return ns


def _cleared(cfg: Config, name: str) -> str:
    """Index a Security-log-cleared event dated now on host `name`; returns its id."""
    now = datetime.now(UTC)
    eid = f"midrun-{name}"
    doc = {"@timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
           "event": {"code": "1102", "kind": "event", "id": eid}, "host": {"name": name},
           "winlog": {"channel": "Security", "event_id": "1102", "provider_name": "Microsoft-Windows-Eventlog",
                      "computer_name": name}}
    client(cfg).index(index=f"{cfg.index_prefix}windows-{now:%Y.%m.%d}", id=eid, document=doc, refresh=True)
    return eid


def _alerts(cfg: Config) -> list[dict[str, Any]]:
    es = client(cfg)
    index = f"{cfg.index_prefix}alerts-*"  # polled while detect may be creating it: its 503 waited out
    while_shards_start(es.indices.refresh, index=index, ignore_unavailable=True, allow_no_indices=True)
    found = while_shards_start(es.search, index=index, ignore_unavailable=True, allow_no_indices=True,
                               size=100, query={"term": {"rule.id": RULE_ID}})
    return [hit["_source"] for hit in found["hits"]["hits"]]


def _hosts(cfg: Config) -> list[str]:
    return sorted(a["host"]["name"] for a in _alerts(cfg))


def _wait(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still not {what} after {timeout}s"
        time.sleep(0.3)


def _detect(cfg: Config, proxy: CertSwitchProxy) -> Service:
    return Service(cfg, "detect", "--interval", f"{LOOKBACK:g}s", "--lookback", f"{LOOKBACK:g}s", "--overlap", "1s",
                   "--rules", RULE, "--no-silence", "--json", env={"LOGWARDEN_ES": proxy.url_for(cfg.elasticsearch)})


def test_detect_interval_waits_out_a_refusal_and_an_outage_and_searches_what_it_missed(secured: Config,
                                                                                      tmp_path: Path) -> None:
    cfg = secured
    es_port = int(cfg.elasticsearch.rsplit(":", 1)[1])
    proxy = CertSwitchProxy(("127.0.0.1", es_port), tmp_path / "impostor")
    service = _detect(cfg, proxy)
    try:
        service.wait_for('{"rules": ')  # its first pass: an event indexed while it starts is older than that window
        _cleared(cfg, "before")
        _wait(lambda: _hosts(cfg) == ["before"], "the first alert written")

        proxy.impostor()  # the certificate replaced by one the CA did not sign
        service.wait_for("its certificate is not trusted")
        _cleared(cfg, "refused")
        time.sleep(KEPT_OUT)
        proxy.forward()
        service.wait_for("accepts the requests again")
        _wait(lambda: _hosts(cfg) == ["before", "refused"], "the refused window searched")

        proxy.cut()  # connections refused: an outage, not a refusal
        service.wait_for("unreachable (")
        _cleared(cfg, "away")
        time.sleep(KEPT_OUT)
        proxy.restore()
        service.wait_for("reachable again after")
        _wait(lambda: _hosts(cfg) == ["away", "before", "refused"], "the unreachable window searched")
        code, _ = service.stop()
    finally:
        proxy.close()
    lines = "\n".join(service.lines)
    assert code == 0, lines[-3000:]
    assert service.count("its certificate is not trusted") == 1, lines
    assert service.count("accepts the requests again") == 1, lines
    assert service.count("unreachable (") == 1 and service.count("reachable again after") == 1, lines
    assert "Traceback" not in lines
    assert " error " in next(line for line in service.lines if "its certificate is not trusted" in line)
    assert " warning " in next(line for line in service.lines if "unreachable (" in line)
    assert len(_alerts(cfg)) == 3  # each once: searching a stretch again wrote nothing twice
    counters = [json.loads(line) for line in service.lines if line.startswith('{"rules":')]
    assert counters[-1]["created"] == 3, counters


def test_detect_once_meeting_an_untrusted_certificate_mid_pass_raises_the_refusal(secured: Config,
                                                                                   tmp_path: Path) -> None:
    """`detect --once`'s pass, in process (a CLI run keeps one pooled connection for its whole
    pass, so a proxy cannot switch under it): a pass goes through, the certificate is replaced,
    the next pass is a ServerError (exit 3) naming it, and nothing is written."""
    from logwarden.consume import Outage, StopFlag
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.engine import Detector
    from logwarden.detection.es import EsDetector
    from logwarden.detection.schedule import PassRunner, Windows
    from logwarden.errors import ServerError
    from tests.support.paths import ROOT

    cfg = secured
    _cleared(cfg, "once")
    proxy = CertSwitchProxy(("127.0.0.1", int(cfg.elasticsearch.rsplit(":", 1)[1])), tmp_path / "impostor")
    try:
        mine = copy.copy(cfg)
        mine.elasticsearch = proxy.url_for(cfg.elasticsearch)
        runner = EsDetector(mine, client(mine), Detector(load_ruleset([ROOT / RULE])))
        written: list[dict[str, Any]] = []
        passes = PassRunner(mine, Windows(None, 0.0), Outage("Elasticsearch", StopFlag()), True, runner.run_once,
                            written.extend, lambda now: None)
        assert passes.attempt(datetime.now(UTC)) == "done" and len(written) == 1
        written.clear()
        proxy.impostor()
        with pytest.raises(ServerError) as refused:
            passes.attempt(datetime.now(UTC))
    finally:
        proxy.close()
    assert f"Elasticsearch at {mine.elasticsearch}: its certificate is not trusted" in str(refused.value)
    assert written == [] and proxy.impostor_handshakes >= 1


def test_detect_interval_waits_out_a_changed_password_and_a_lost_write_privilege(secured: Config, lab: Lab) -> None:
    """The detector's own user in the lab's file realm (tests/security/es_file_realm.py): its
    password changed (every search 401), then its role losing the write privilege on the alerts
    indices (the search goes through, the alert's write is refused per item with 403: before,
    a RuntimeError ended `detect`, exit 70). Both are waited out, and the alerts of the events
    from those times are written once the cause is removed."""
    cfg = secured
    reads = {"names": [f"{cfg.index_prefix}*"], "privileges": ["read", "view_index_metadata"]}
    writes = {"names": [f"{cfg.index_prefix}alerts-*"], "privileges": ["create_doc", "index", "create_index",
                                                                        "auto_configure"]}
    alerts_today = f"{cfg.index_prefix}alerts-{datetime.now(UTC):%Y.%m.%d}"
    replaced = f"changed-by-the-admin-{secrets.token_hex(4)}"
    with file_realm_user(lab, f"{cfg.topic_prefix.rstrip('.')}-detect", [reads, writes]) as user:
        first = user.password
        service = Service(user.config(cfg), "detect", "--interval", f"{LOOKBACK:g}s", "--lookback", f"{LOOKBACK:g}s",
                          "--overlap", "1s", "--rules", RULE, "--no-silence", "--json")
        try:
            service.wait_for('{"rules": ')  # its first pass: an event indexed while it starts is older than that window
            _cleared(cfg, "before")
            _wait(lambda: _hosts(cfg) == ["before"], "the first alert written")

            user.set_password(replaced)
            service.wait_for("refused the credentials (401")
            _cleared(cfg, "password")
            time.sleep(KEPT_OUT)
            user.set_password(first)
            service.wait_for("accepts the requests again")
            _wait(lambda: _hosts(cfg) == ["before", "password"], "the refused window searched")

            user.set_indices([reads], alerts_today, allowed=False)
            _cleared(cfg, "privilege")
            service.wait_for("permission missing (403)")
            time.sleep(KEPT_OUT)
            user.set_indices([reads, writes], alerts_today, allowed=True)
            _wait(lambda: _hosts(cfg) == ["before", "password", "privilege"], "the refused alert written")
            _wait(lambda: service.count("accepts the requests again") == 2, "the second recovery logged")
        finally:
            code, _ = service.stop()
    lines = "\n".join(service.lines)
    assert code == 0, lines[-3000:]
    assert service.count("refused the credentials (401") == 1, lines
    assert service.count("permission missing (403)") == 1, lines
    assert "Traceback" not in lines and first not in lines and replaced not in lines
    assert len(_alerts(cfg)) == 3
