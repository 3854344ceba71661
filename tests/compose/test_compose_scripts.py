"""The scripts docker-compose.yml runs, run here for real (openssl, bash; `curl` and Kafka's tools
replaced by stubs that record their arguments): the certificates make TLS handshakes that verify,
the one-shot password service fails when a password is missing or a request fails, and Kafka's
start script writes SASL_SSL listeners and the SCRAM users, refusing a missing password."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import ROOT

DOCKER = ROOT / "docker"


def _run(script: str, env: dict[str, str], shell: str = "bash") -> subprocess.CompletedProcess[str]:
    return subprocess.run([shell, str(DOCKER / script)], capture_output=True, text=True, timeout=120,
                          env={"PATH": env.pop("PATH", os.environ["PATH"]), **env})


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("certs")
    proc = _run("certs.sh", {"CERTS_DIR": str(out), "KAFKA_EXTERNAL_HOST": "siem.example.org",
                             "CERT_OWNER_UID": str(os.getuid())}, shell="sh")
    assert proc.returncode == 0, proc.stderr
    return out


def _handshake(keystore: Path, ca: Path, server_name: str) -> str:
    """A TLS handshake on loopback: server with `keystore` (key + certificate PEM), client trusting
    only `ca` and checking `server_name`. Returns the peer certificate's common name."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(keystore)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except ssl.SSLError:  # the client refused the certificate: what the refusal test expects
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_ctx = ssl.create_default_context(cafile=str(ca))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw, \
                client_ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            peer: Any = tls.getpeercert()
            subject = dict(item[0] for item in peer["subject"])
            tls.sendall(b"x")
    finally:
        thread.join(30)
        listener.close()
    return str(subject["commonName"])


def test_certificates_verify_for_every_name_clients_use(certs: Path) -> None:
    ca = certs / "ca" / "ca.crt"
    for name in ("kafka", "localhost", "siem.example.org"):
        assert _handshake(certs / "kafka" / "kafka.keystore.pem", ca, name) == "kafka"
    assert _handshake(certs / "elasticsearch" / "elasticsearch.keystore.pem", ca, "elasticsearch") == "elasticsearch"
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(certs / "kafka" / "kafka.keystore.pem", ca, "not-in-the-certificate.example.org")


def test_keys_are_pkcs8_and_not_readable_by_others(certs: Path) -> None:
    for key in (certs / "kafka" / "kafka.key", certs / "elasticsearch" / "elasticsearch.key"):
        assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")  # Kafka's PEM keystore needs PKCS#8
        assert key.stat().st_mode & 0o007 == 0
    assert (certs / "ca" / "ca.key").stat().st_mode & 0o077 == 0


def test_a_second_run_keeps_the_ca(certs: Path) -> None:
    before = (certs / "ca" / "ca.crt").read_bytes()
    proc = _run("certs.sh", {"CERTS_DIR": str(certs), "CERT_OWNER_UID": str(os.getuid())}, shell="sh")
    assert proc.returncode == 0, proc.stderr
    assert (certs / "ca" / "ca.crt").read_bytes() == before
    assert _handshake(certs / "kafka" / "kafka.keystore.pem", certs / "ca" / "ca.crt", "kafka") == "kafka"


PASSWORDS = {
    "ELASTIC_PASSWORD": "el-secret", "KIBANA_PASSWORD": 'ki"ba\\na',
    "ES_INDEXER_PASSWORD": "ix-secret", "ES_DETECTOR_PASSWORD": "dt-secret", "ES_DASHBOARDS_PASSWORD": "db-secret",
}


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def _es_passwords(tmp_path: Path, curl_exit: int, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    calls = tmp_path / "curl-calls"
    _stub(stubs, "curl", f'printf "%s\\n" "$*" >> "{calls}"\nexit {curl_exit}')
    proc = _run("es-passwords.sh", {"PATH": f"{stubs}:{os.environ['PATH']}", "ES_URL": "https://es.test:9200",
                                    "CA_FILE": "/certs/ca/ca.crt", **env})
    return proc, calls.read_text().splitlines() if calls.exists() else []


def test_es_passwords_sets_kibana_and_creates_the_component_users(tmp_path: Path) -> None:
    proc, calls = _es_passwords(tmp_path, 0, **PASSWORDS)
    assert proc.returncode == 0, proc.stderr
    assert len(calls) == 4
    assert all("--fail" in c and "--cacert /certs/ca/ca.crt" in c for c in calls)
    assert "POST https://es.test:9200/_security/user/kibana_system/_password" in calls[0]
    assert '{"password":"ki\\"ba\\\\na"}' in calls[0]  # quotes and backslashes stay JSON
    created = sorted(c.split("https://es.test:9200/_security/user/")[1].split()[0] for c in calls[1:])
    assert created == ["logwarden_dashboards", "logwarden_detector", "logwarden_indexer"]
    assert '"roles":["logwarden_indexer"]' in next(c for c in calls if "user/logwarden_indexer" in c)


@pytest.mark.parametrize("missing", sorted(PASSWORDS))
def test_es_passwords_fails_before_any_request_when_a_password_is_not_set(tmp_path: Path, missing: str) -> None:
    proc, calls = _es_passwords(tmp_path, 0, **{k: v for k, v in PASSWORDS.items() if k != missing})
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"es-passwords: {missing} is not set"
    assert calls == []


def test_es_passwords_fails_when_elasticsearch_refuses(tmp_path: Path) -> None:
    """Before: `curl -s` without -f exited 0 on a 401, and the service 'completed successfully'."""
    proc, calls = _es_passwords(tmp_path, 22, **PASSWORDS)  # curl --fail: 22 for an HTTP error
    assert proc.returncode == 1
    assert "es-passwords: POST /_security/user/kibana_system/_password failed" in proc.stderr
    assert len(calls) == 1


KAFKA_PASSWORDS = {f"KAFKA_{u}_PASSWORD": f"{u.lower()}-secret" for u in ("ADMIN", "SHIPPER", "INDEXER", "STREAM")}


def _kafka_start(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    home = tmp_path / "kafka"
    (home / "bin").mkdir(parents=True, exist_ok=True)
    _stub(home / "bin", "kafka-storage.sh",
          f'if [ "$1" = random-uuid ]; then echo q1w2e3r4t5y6u7i8o9p0aa; exit 0; fi\n'
          f'printf "%s\\n" "$@" > "{tmp_path}/format-args"; touch "{tmp_path}/data/meta.properties"')
    _stub(home / "bin", "kafka-server-start.sh", f'printf "%s\\n" "$@" > "{tmp_path}/start-args"')
    proc = _run("kafka-start.sh", {"KAFKA_HOME": str(home), "KAFKA_DATA_DIR": str(tmp_path / "data"),
                                   "CERTS_DIR": "/certs", "KAFKA_EXTERNAL_HOST": "siem.example.org", **env})
    return proc, home / "config"


def test_kafka_start_writes_sasl_ssl_listeners_and_the_scram_users(tmp_path: Path) -> None:
    proc, config_dir = _kafka_start(tmp_path, **KAFKA_PASSWORDS)
    assert proc.returncode == 0, proc.stderr
    server = (config_dir / "logwarden-server.properties").read_text()
    assert "advertised.listeners=INTERNAL://kafka:9092,EXTERNAL://siem.example.org:9094" in server
    assert "sasl.enabled.mechanisms=SCRAM-SHA-512" in server
    assert "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer" in server
    assert f"log.dirs={tmp_path / 'data'}" in server
    assert (config_dir / "logwarden-server.properties").stat().st_mode & 0o077 == 0  # holds the admin password
    args = (tmp_path / "format-args").read_text().splitlines()
    scram = [args[i + 1] for i, a in enumerate(args) if a == "--add-scram"]
    assert scram == [f"SCRAM-SHA-512=[name={u},password={u}-secret]" for u in ("admin", "shipper", "indexer", "stream")]
    assert (tmp_path / "start-args").read_text().strip() == str(config_dir / "logwarden-server.properties")
    # a restart with the data in place formats nothing again
    (tmp_path / "format-args").unlink()
    proc, _ = _kafka_start(tmp_path, **KAFKA_PASSWORDS)
    assert proc.returncode == 0 and not (tmp_path / "format-args").exists()


@pytest.mark.parametrize("missing", sorted(KAFKA_PASSWORDS))
def test_kafka_start_refuses_a_missing_password(tmp_path: Path, missing: str) -> None:
    proc, _ = _kafka_start(tmp_path, **{k: v for k, v in KAFKA_PASSWORDS.items() if k != missing})
    assert proc.returncode == 1 and proc.stderr.strip() == f"kafka-start: {missing} is not set"
    assert not (tmp_path / "start-args").exists()


def test_kafka_start_refuses_a_password_it_cannot_quote(tmp_path: Path) -> None:
    proc, _ = _kafka_start(tmp_path, **{**KAFKA_PASSWORDS, "KAFKA_STREAM_PASSWORD": 'a"b'})
    assert proc.returncode == 1 and "KAFKA_STREAM_PASSWORD must not hold" in proc.stderr
