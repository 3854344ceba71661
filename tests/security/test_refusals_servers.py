"""The secured lab (real servers): connections are encrypted and authenticated, and wrong
credentials, an untrusted certificate or a missing permission are one line on stderr naming the
server and the cause, exit 3, with no traceback and no secret."""

from __future__ import annotations

import copy
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from logwarden import es_io
from logwarden.config import Config
from logwarden.runtime import certs
from logwarden.runtime.lab import Lab
from tests.support.cli import cli

pytestmark = pytest.mark.servers

WRONG = "wrong-password-7Qx"


@pytest.fixture
def secured(ns: Config, lab: Lab) -> Config:
    if not lab.secure:
        pytest.fail("the lab runs without security (a plaintext lab was found on its ports)", pytrace=False)
    return ns


def _one_line_exit_3(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 3, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    for needle in needles:
        assert needle in last, last
    return last


def test_the_lab_is_encrypted_and_authenticated(secured: Config) -> None:
    assert secured.elasticsearch.startswith("https://") and secured.kafka_security_protocol == "SASL_SSL"
    with pytest.raises((urllib.error.URLError, ConnectionError)):  # plain http to the HTTPS port
        urllib.request.urlopen(f"http://{secured.elasticsearch.split('://')[1]}/", timeout=10)
    anonymous = urllib.request.Request(f"{secured.elasticsearch}/_cluster/health")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(anonymous, timeout=10, context=es_io.ssl_context(secured))
    assert refused.value.code == 401
    assert es_io.client(secured).cluster.health()["status"] in ("green", "yellow", "red")


def test_wrong_es_password_is_one_line_exit_3(secured: Config) -> None:
    cfg = copy.copy(secured)
    cfg.es_password = WRONG
    line = _one_line_exit_3(cli(cfg, "setup", "--no-kafka"), "Elasticsearch at https://", "refused the credentials")
    assert WRONG not in line


def test_untrusted_es_certificate_is_one_line_exit_3(secured: Config, tmp_path: Path) -> None:
    cfg = copy.copy(secured)
    cfg.es_ca_file = str(certs.untrusted_ca(tmp_path))
    _one_line_exit_3(cli(cfg, "setup", "--no-kafka"), "Elasticsearch at https://", "certificate is not trusted")


def test_missing_es_permission_is_one_line_exit_3(secured: Config, lab: Lab) -> None:
    cfg = copy.copy(secured)  # the detector may read indices, not install templates
    cfg.es_user, cfg.es_password = "logwarden-detector", lab.passwords()["es:logwarden-detector"]
    line = _one_line_exit_3(cli(cfg, "setup", "--no-kafka"), "Elasticsearch at https://", "permission missing (403)")
    assert "indices:admin/index_template/put" in line


def test_wrong_kafka_password_is_one_line_exit_3(secured: Config) -> None:
    cfg = copy.copy(secured)
    cfg.kafka_password = WRONG
    line = _one_line_exit_3(cli(cfg, "setup"), f"Kafka at {cfg.kafka}", "refused the SASL SCRAM-SHA-512 login")
    assert WRONG not in line


def test_untrusted_kafka_certificate_is_one_line_exit_3(secured: Config, tmp_path: Path) -> None:
    cfg = copy.copy(secured)
    cfg.kafka_ca_file = str(certs.untrusted_ca(tmp_path))
    _one_line_exit_3(cli(cfg, "setup"), f"Kafka at {cfg.kafka}", "certificate is not trusted")
