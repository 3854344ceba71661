"""Connection settings (no servers): validation, where secrets may appear, the warning for a
config file others can read, and the client options built from them."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from logwarden import config, es_io, kafka_io
from logwarden.config import ENV, Config, ConfigError
from tests.support.cli import env_for

SECRET = "s3cret-Zq81"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in (*ENV.values(), "LOGWARDEN_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


def _ca(tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    return str(path)


@pytest.mark.parametrize(("env", "needle"), [
    ({"LOGWARDEN_KAFKA_SECURITY_PROTOCOL": "TLS"}, "kafka_security_protocol"),
    ({"LOGWARDEN_KAFKA_SASL_MECHANISM": "GSSAPI"}, "kafka_sasl_mechanism"),
    ({"LOGWARDEN_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "LOGWARDEN_KAFKA_USER": "u"}, "kafka_password"),
    ({"LOGWARDEN_KAFKA_CERT_FILE": "/etc/hostname"}, "kafka_key_file"),
    ({"LOGWARDEN_KAFKA_CA_FILE": "/nonexistent/ca.pem"}, "kafka_ca_file"),
    ({"LOGWARDEN_ES_USER": "u"}, "es_password"),
    ({"LOGWARDEN_ES_PASSWORD": SECRET}, "es_user"),
    ({"LOGWARDEN_ES_API_KEY": SECRET, "LOGWARDEN_ES_USER": "u", "LOGWARDEN_ES_PASSWORD": SECRET}, "es_api_key"),
    ({"LOGWARDEN_ES_FINGERPRINT": "abc"}, "es_fingerprint"),
    ({"LOGWARDEN_ES_VERIFY": "maybe"}, "es_verify"),
    ({"LOGWARDEN_ES_CA_FILE": "/nonexistent/ca.pem"}, "es_ca_file"),
    ({"LOGWARDEN_ES": f"https://u:{SECRET}@es:9200", "LOGWARDEN_ES_API_KEY": "k"}, "elasticsearch"),
])
def test_bad_security_settings_name_the_setting_and_hide_secrets(
        monkeypatch: pytest.MonkeyPatch, env: dict[str, str], needle: str) -> None:
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=needle) as caught:
        config.load()
    assert SECRET not in str(caught.value)


def test_settings_from_file_and_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ca = _ca(tmp_path)
    file = tmp_path / "logwarden.yml"
    file.write_text(f"kafka_security_protocol: SASL_SSL\nkafka_user: shipper\nkafka_password: {SECRET}\n"
                    f"kafka_ca_file: {ca}\nes_ca_file: {ca}\nes_verify: true\n")
    file.chmod(0o600)
    monkeypatch.setenv("LOGWARDEN_KAFKA_SASL_MECHANISM", "PLAIN")
    cfg = config.load()
    assert (cfg.kafka_security_protocol, cfg.kafka_sasl_mechanism, cfg.kafka_user) == ("SASL_SSL", "PLAIN", "shipper")
    assert cfg.es_verify == "true" and cfg.es_verify_certs
    assert SECRET not in repr(cfg)
    assert cfg.secrets() == [SECRET]


@pytest.mark.parametrize(("mode", "warned"), [(0o600, False), (0o640, True), (0o604, True)])
def test_a_config_file_with_secrets_readable_by_others_is_warned_about(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: int, warned: bool) -> None:
    file = tmp_path / "secrets.yml"
    file.write_text(f"es_user: indexer\nes_password: {SECRET}\n")
    file.chmod(mode)
    with caplog.at_level(logging.WARNING, logger="logwarden.config"):
        config.load(str(file))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert bool(warnings) == warned, warnings
    assert all(SECRET not in w and str(file) in w for w in warnings)


def test_a_readable_config_without_secrets_is_not_warned_about(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    file = tmp_path / "plain.yml"
    file.write_text("index_prefix: soc-\n")
    file.chmod(0o644 | stat.S_IROTH)
    with caplog.at_level(logging.WARNING, logger="logwarden.config"):
        config.load(str(file))
    assert not caplog.records


def test_es_client_options_keep_the_password_out_of_the_url() -> None:
    cfg = Config(elasticsearch=f"https://reader:{SECRET}@127.0.0.1:9200")
    assert es_io.bare_url(cfg) == "https://127.0.0.1:9200"
    assert es_io.connection_options(cfg)["basic_auth"] == ("reader", SECRET)
    client = es_io.client(cfg)
    assert SECRET not in repr(client.transport.node_pool.all())
    assert es_io.auth_header(Config(es_api_key="a2V5")) == {"Authorization": "ApiKey a2V5"}


def test_es_trust_options(tmp_path: Path) -> None:
    ca = _ca(tmp_path)
    https = "https://127.0.0.1:9200"
    assert es_io.connection_options(Config(elasticsearch=https, es_ca_file=ca))["ca_certs"] == ca
    fingerprint = "AB:" * 31 + "CD"
    options = es_io.connection_options(Config(elasticsearch=https, es_fingerprint=fingerprint))
    assert options["ssl_assert_fingerprint"] == fingerprint.replace(":", "").lower()
    assert es_io.connection_options(Config(elasticsearch=https, es_verify="false"))["verify_certs"] is False
    assert "verify_certs" not in es_io.connection_options(Config(elasticsearch=https))  # on by default


def test_kafka_client_options(tmp_path: Path) -> None:
    ca = _ca(tmp_path)
    assert kafka_io.client_options(Config())["security_protocol"] == "PLAINTEXT"
    options = kafka_io.client_options(Config(kafka_security_protocol="SASL_SSL", kafka_user="shipper",
                                             kafka_password=SECRET, kafka_ca_file=ca))
    assert options["sasl_mechanism"] == "SCRAM-SHA-512" and options["sasl_plain_password"] == SECRET
    assert options["ssl_cafile"] == ca and options["ssl_check_hostname"] is True
    tls = kafka_io.client_options(Config(kafka_security_protocol="SSL", kafka_ca_file=ca, kafka_cert_file=ca,
                                         kafka_key_file=ca))
    assert "sasl_mechanism" not in tls and tls["ssl_certfile"] == ca


def test_env_for_carries_every_connection_setting(tmp_path: Path) -> None:
    cfg = Config(es_user="indexer", es_password=SECRET, kafka_security_protocol="SASL_SSL", kafka_user="k",
                 kafka_password=SECRET, es_ca_file=_ca(tmp_path))
    env = env_for(cfg)
    assert env["LOGWARDEN_ES_PASSWORD"] == SECRET and env["LOGWARDEN_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert "LOGWARDEN_ES_API_KEY" not in env
