"""docker-compose.yml, checked without a Docker engine: valid for the Compose specification as
compose-go (docker compose's own loader) reads it; every script, mounted file and Dockerfile
source exists; every logwarden command in it parses; the services wait for what they need; the
stack is secured (SASL_SSL, TLS, Kibana's keys, least-privilege users)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from logwarden import config
from logwarden.cli import build_parser
from tests.compose.loader import COMPOSE_FILE, SECRETS, load, project
from tests.support.paths import ROOT

LOGWARDEN_IMAGE = "logwarden:local"
ONE_SHOT = {"certs", "es-passwords", "setup", "dashboards", "demo"}
# connection settings agreed with logwarden/config.py's owner (docs/security.md), beside config.ENV's
AGREED_SETTINGS = {
    "LOGWARDEN_ES_CA_FILE", "LOGWARDEN_ES_FINGERPRINT", "LOGWARDEN_ES_API_KEY", "LOGWARDEN_ES_USER",
    "LOGWARDEN_ES_PASSWORD", "LOGWARDEN_ES_VERIFY", "LOGWARDEN_KAFKA_SECURITY_PROTOCOL",
    "LOGWARDEN_KAFKA_SASL_MECHANISM", "LOGWARDEN_KAFKA_USER", "LOGWARDEN_KAFKA_PASSWORD", "LOGWARDEN_KAFKA_CA_FILE",
    "LOGWARDEN_KAFKA_CERT_FILE", "LOGWARDEN_KAFKA_KEY_FILE", "LOGWARDEN_KIBANA_PASSWORD",
}
ADMINS = {"elastic", "admin"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    result: dict[str, Any] = project()["services"]
    return result


def logwarden_services(services: dict[str, Any]) -> dict[str, Any]:
    return {name: s for name, s in services.items() if s.get("image") == LOGWARDEN_IMAGE and not s.get("entrypoint")}


def test_the_file_is_valid_for_the_compose_specification(services: dict[str, Any]) -> None:
    assert {"certs", "kafka", "elasticsearch", "es-passwords", "kibana", "setup", "indexer", "stream",
            "dashboards", "demo", "ship-kafka"} <= set(services)


def test_the_loader_refuses_what_the_specification_refuses(tmp_path: Path) -> None:
    """The check is not a no-op: an unknown key, a dependency on a missing service and a bad
    depends_on condition are each refused with the reason."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    broken = {
        "unknown key": text.replace("    restart: unless-stopped\n",
                                    "    restart: unless-stopped\n    retsart: no\n", 1),
        "missing service": text.replace("setup: {condition: service_completed_successfully}",
                                        "set-up: {condition: service_completed_successfully}", 1),
        "bad condition": text.replace("service_completed_successfully", "service_completed", 1),
    }
    for what, body in broken.items():
        assert body != text, what
        path = tmp_path / "docker-compose.yml"
        path.write_text(body, encoding="utf-8")
        (tmp_path / "docker").mkdir(exist_ok=True)
        proc = load(path)
        assert proc.returncode == 1 and proc.stderr.startswith("compose-validate: "), (what, proc.stderr)


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_compose_refuses_to_start_without_each_secret(secret: str) -> None:
    proc = load(env={k: v for k, v in SECRETS.items() if k != secret})
    assert proc.returncode == 1
    assert f"required variable {secret} is missing a value" in proc.stderr


def _container_to_host(service: dict[str, Any], container_path: str) -> Path | None:
    """The repository file a container path refers to, through the service's bind mounts."""
    for volume in service.get("volumes") or []:
        target = volume["target"].rstrip("/")
        if volume["type"] == "bind" and (container_path == target or container_path.startswith(target + "/")):
            return Path(volume["source"]) / container_path[len(target):].lstrip("/")
    return None


def test_every_mounted_file_and_script_exists_in_the_repository(services: dict[str, Any]) -> None:
    checked = 0
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            if volume["type"] == "bind":
                source = Path(volume["source"])
                assert source.exists() and source.resolve().is_relative_to(ROOT), (name, source)
                checked += 1
        for word in (service.get("entrypoint") or []) + (service.get("command") or []):
            if word.startswith("/opt/logwarden-docker/"):
                host = _container_to_host(service, word)
                assert host is not None and host.is_file(), (name, word)
                checked += 1
    assert checked >= 6  # certs, kafka and es-passwords mount docker/ and run a script from it


def test_every_dockerfile_source_exists_and_the_image_carries_the_dashboards() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copies = re.findall(r"^COPY\s+(.+?)\s+\S+$", dockerfile, flags=re.MULTILINE)
    sources = [s for line in copies for s in line.split()]
    assert "logwarden" in sources
    for source in sources:
        assert (ROOT / source).exists(), source
    # `dashboards import` reads the generated saved objects as package data of the installed package
    assert (ROOT / "logwarden" / "dashboards" / "logwarden.ndjson").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'"logwarden\.dashboards" = \[[^]]*"logwarden\.ndjson"', pyproject)
    assert "pip install --no-cache-dir ." in dockerfile and 'ENTRYPOINT ["logwarden"]' in dockerfile


def _subcommand(argv: list[str]) -> list[str]:
    """The subcommand path of a logwarden argv: the words before the first option."""
    words = []
    for word in argv:
        if word.startswith("-"):
            break
        words.append(word)
    return words


def test_every_logwarden_command_in_the_file_parses(services: dict[str, Any]) -> None:
    commands = {name: s["command"] for name, s in logwarden_services(services).items()}
    assert set(commands) == {"setup", "indexer", "stream", "dashboards", "demo", "ship-kafka"}
    for name, argv in commands.items():
        help_run = subprocess.run([sys.executable, "-m", "logwarden.cli", *_subcommand(argv), "--help"],
                                  capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert help_run.returncode == 0, (name, help_run.stderr)
        args = build_parser().parse_args(argv)  # the whole argv, options and values included
        assert getattr(args, "func", None) is not None, name


def test_services_wait_for_what_they_need(services: dict[str, Any]) -> None:
    def waits(name: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in (services[name].get("depends_on") or {}).items()}

    for name in ("indexer", "stream", "ship-kafka", "dashboards", "demo"):
        assert waits(name)["setup"] == "service_completed_successfully", name
    assert waits("indexer")["es-passwords"] == "service_completed_successfully"
    assert waits("kibana") == {"es-passwords": "service_completed_successfully"}
    assert waits("es-passwords") == {"elasticsearch": "service_healthy"}
    assert waits("setup") == {"kafka": "service_healthy", "elasticsearch": "service_healthy"}
    for server in ("kafka", "elasticsearch"):
        assert waits(server) == {"certs": "service_completed_successfully"}
        assert services[server]["healthcheck"]["test"]
    for name in ONE_SHOT:
        assert "restart" not in services[name], f"{name} is one-shot: a restart would hide its failure"


def test_kafka_is_sasl_ssl_keeps_its_data_in_a_volume_and_has_an_external_listener(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    script = (ROOT / "docker" / "kafka-start.sh").read_text(encoding="utf-8")
    data_dir = re.search(r"DATA=\$\{KAFKA_DATA_DIR:-(\S+)\}", script)
    assert data_dir
    assert any(v["type"] == "volume" and v["target"] == data_dir.group(1) for v in kafka["volumes"])
    assert any(p["target"] == 9094 and p["published"] == "9094" for p in kafka["ports"])
    assert "9092" not in {p["published"] for p in kafka["ports"]}  # the internal listener stays inside
    assert "listener.security.protocol.map=INTERNAL:SASL_SSL,EXTERNAL:SASL_SSL,CONTROLLER:PLAINTEXT" in script


def test_kibana_has_its_three_encryption_keys(services: dict[str, Any]) -> None:
    """Kibana's image turns XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY into the setting
    xpack.encryptedSavedObjects.encryptionKey (upper case, dots as underscores)."""
    env = services["kibana"]["environment"]
    for setting in ("xpack.encryptedSavedObjects.encryptionKey", "xpack.security.encryptionKey",
                    "xpack.reporting.encryptionKey"):
        value = env[setting.upper().replace(".", "_")]
        assert len(value) >= 32, setting
    assert env["ELASTICSEARCH_HOSTS"].startswith("https://")


def test_logwarden_services_use_least_privilege_credentials(services: dict[str, Any]) -> None:
    known = set(config.ENV.values()) | AGREED_SETTINGS
    users: dict[str, tuple[str | None, str | None]] = {}
    for name, service in logwarden_services(services).items():
        env = service["environment"]
        settings = {k for k in env if k.startswith("LOGWARDEN_")}
        assert settings <= known, (name, settings - known)
        assert env["LOGWARDEN_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env["LOGWARDEN_ES"].startswith("https://") and env["LOGWARDEN_ES_VERIFY"] == "true"
        assert "@" not in env["LOGWARDEN_ES"]  # no password inside the URL
        users[name] = (env.get("LOGWARDEN_KAFKA_USER"), env.get("LOGWARDEN_ES_USER"))
    # the one-shot that creates topics, templates and roles, and the by-hand demo that does everything
    assert users["setup"] == users["demo"] == ("admin", "elastic")
    assert services["demo"]["profiles"] == ["demo"]
    for name, (kafka_user, es_user) in users.items():
        if name not in ("setup", "demo"):
            assert kafka_user not in ADMINS and es_user not in ADMINS, name
    assert users["indexer"] == ("indexer", "logwarden_indexer")
    assert users["stream"][0] == "stream" and users["ship-kafka"][0] == "shipper"
