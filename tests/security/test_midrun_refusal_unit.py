"""Which Kafka client lines name a refusal met in the middle of a run (server_errors.
kafka_refused_mid_run), and which are an outage (no servers). Real servers:
tests/security/test_kafka_midrun_refusal_servers.py."""

from __future__ import annotations

import pytest

from logwarden.config import Config
from logwarden.server_errors import kafka_refused_mid_run

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
