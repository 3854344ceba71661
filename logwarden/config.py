"""Configuration: defaults, then a YAML file, then environment variables (highest).

    kafka: 127.0.0.1:19092            LOGWARDEN_KAFKA
    elasticsearch: http://127.0.0.1:19200   LOGWARDEN_ES
    home: .lab                        LOGWARDEN_HOME   (runtime data, logs; downloads are cached
                                                        in ~/.cache/logwarden or LOGWARDEN_CACHE)
    es_timeout: 60                    LOGWARDEN_ES_TIMEOUT (seconds per request)
    state: .lab/state                 LOGWARDEN_STATE  (checkpoints, stream state, detect's searched-to mark)
    internal_networks: ""             LOGWARDEN_INTERNAL_NETWORKS (the site's own CIDRs, comma-separated;
                                                        see logwarden/networks.py)
    silence: on                       LOGWARDEN_SILENCE (detect's silence alerts, on|off)
    silence_gap: 30m                  LOGWARDEN_SILENCE_GAP (quiet this long = silent; per family:
                                                        "30m, av=24h, firewall=10m")
    silence_baseline: 24h             LOGWARDEN_SILENCE_BASELINE (window of a source's usual rate)
    kafka_partitions: 2               LOGWARDEN_KAFKA_PARTITIONS (partitions of each topic `setup` creates:
                                                        the most members of one consumer group that work)
    stream_reorder_grace: 5s          LOGWARDEN_STREAM_REORDER_GRACE (event-time disorder `stream` puts right
                                                        before counting correlations; alerts wait this long)
    kafka_client: kafka-python        LOGWARDEN_KAFKA_CLIENT (producers: kafka-python|confluent; confluent
                                                        needs `pip install 'logwarden[fast]'`, docs/kafka-client.md)

Secured connections (docs/security.md describes each; empty means "not used"):

    es_ca_file          LOGWARDEN_ES_CA_FILE       PEM CA that signed Elasticsearch's HTTPS certificate
    es_fingerprint      LOGWARDEN_ES_FINGERPRINT   or: SHA-256 of the server's certificate (hex, ':' allowed)
    es_verify: true     LOGWARDEN_ES_VERIFY        false turns certificate checks off (a warning each run)
    es_api_key          LOGWARDEN_ES_API_KEY       the encoded API key (base64 "id:key"); or:
    es_user/es_password LOGWARDEN_ES_USER/_PASSWORD  basic authentication
    kafka_security_protocol: PLAINTEXT  LOGWARDEN_KAFKA_SECURITY_PROTOCOL  PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL
    kafka_sasl_mechanism: SCRAM-SHA-512 LOGWARDEN_KAFKA_SASL_MECHANISM     SCRAM-SHA-512|SCRAM-SHA-256|PLAIN
    kafka_user/kafka_password           LOGWARDEN_KAFKA_USER/_PASSWORD     SASL credentials
    kafka_ca_file, kafka_cert_file, kafka_key_file  LOGWARDEN_KAFKA_CA_FILE/_CERT_FILE/_KEY_FILE (PEM)

A password inside the Elasticsearch URL (`https://user:pw@host`) still works; it is redacted
wherever the URL is shown. `Config`'s repr never shows a secret. A config file that holds a
secret and can be read by group or others is used, with a warning naming it.

The file is `logwarden.yml` in the working directory, or the path in LOGWARDEN_CONFIG / --config.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import stat
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from logwarden import networks
from logwarden.bounded_yaml import YamlLimitError, load_file
from logwarden.durations import parse_duration
from logwarden.errors import ConfigError
from logwarden.safe_text import redact_credentials
from logwarden.silence_settings import parse_settings

__all__ = ["ENV", "MAX_CONFIG_BYTES", "SECRETS", "Config", "ConfigError", "load", "validate"]

MAX_CONFIG_BYTES = 64 * 1024  # a logwarden.yml holds a dozen settings: a few hundred bytes

log = logging.getLogger(__name__)

ENV = {
    "kafka": "LOGWARDEN_KAFKA",
    "elasticsearch": "LOGWARDEN_ES",
    "home": "LOGWARDEN_HOME",
    "state": "LOGWARDEN_STATE",
    "topic_prefix": "LOGWARDEN_TOPIC_PREFIX",
    "index_prefix": "LOGWARDEN_INDEX_PREFIX",
    "es_timeout": "LOGWARDEN_ES_TIMEOUT",
    "internal_networks": "LOGWARDEN_INTERNAL_NETWORKS",
    "es_ca_file": "LOGWARDEN_ES_CA_FILE",
    "es_fingerprint": "LOGWARDEN_ES_FINGERPRINT",
    "es_api_key": "LOGWARDEN_ES_API_KEY",
    "es_user": "LOGWARDEN_ES_USER",
    "es_password": "LOGWARDEN_ES_PASSWORD",
    "es_verify": "LOGWARDEN_ES_VERIFY",
    "kafka_security_protocol": "LOGWARDEN_KAFKA_SECURITY_PROTOCOL",
    "kafka_sasl_mechanism": "LOGWARDEN_KAFKA_SASL_MECHANISM",
    "kafka_user": "LOGWARDEN_KAFKA_USER",
    "kafka_password": "LOGWARDEN_KAFKA_PASSWORD",
    "kafka_ca_file": "LOGWARDEN_KAFKA_CA_FILE",
    "kafka_cert_file": "LOGWARDEN_KAFKA_CERT_FILE",
    "kafka_key_file": "LOGWARDEN_KAFKA_KEY_FILE",
    "kafka_client": "LOGWARDEN_KAFKA_CLIENT",
    "silence": "LOGWARDEN_SILENCE",
    "silence_gap": "LOGWARDEN_SILENCE_GAP",
    "silence_baseline": "LOGWARDEN_SILENCE_BASELINE",
    "kafka_partitions": "LOGWARDEN_KAFKA_PARTITIONS",
    "stream_reorder_grace": "LOGWARDEN_STREAM_REORDER_GRACE",
}
# The settings that are secrets: never printed, never in a repr, and a file holding one must
# not be readable by others.
SECRETS = ("es_api_key", "es_password", "kafka_password")
KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
DEFAULT_KAFKA_PARTITIONS = 2
MAX_KAFKA_PARTITIONS = 1000
KAFKA_CLIENTS = ("kafka-python", "confluent")  # logwarden/kafka_clients/
CONFLUENT_MISSING = (f"kafka_client ({ENV['kafka_client']}) is 'confluent' but the confluent-kafka package is not "
                     "installed: pip install 'logwarden[fast]', or use kafka-python")


@dataclass
class Config:
    kafka: str = "127.0.0.1:19092"
    elasticsearch: str = "http://127.0.0.1:19200"
    home: str = ".lab"
    state: str = ""
    topic_prefix: str = "logwarden."
    index_prefix: str = "logwarden-"
    es_timeout: str = "60"  # seconds per Elasticsearch request
    internal_networks: str = ""  # the site's own CIDRs, comma-separated, added to logwarden.networks.INTERNAL
    es_ca_file: str = ""  # PEM file of the CA that signed Elasticsearch's certificate
    es_fingerprint: str = ""  # SHA-256 of Elasticsearch's certificate, instead of a CA file
    es_api_key: str = field(default="", repr=False)  # encoded API key (what the create-key API returns)
    es_user: str = ""
    es_password: str = field(default="", repr=False)
    es_verify: str = "true"  # "false": no certificate verification (debugging only)
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_user: str = ""
    kafka_password: str = field(default="", repr=False)
    kafka_ca_file: str = ""  # PEM CA for the brokers' certificates
    kafka_cert_file: str = ""  # PEM client certificate (mutual TLS), with kafka_key_file
    kafka_key_file: str = ""
    kafka_client: str = "kafka-python"  # the producers' client library (logwarden/kafka_clients/)
    silence: str = "on"  # detect's silence alerts (logwarden/detection/silence.py)
    silence_gap: str = "30m"  # default gap, then `family=duration` overrides
    silence_baseline: str = "24h"  # window of the usual rate
    kafka_partitions: str = str(DEFAULT_KAFKA_PARTITIONS)  # partitions of the topics `setup` creates
    stream_reorder_grace: str = "5s"  # stream's reorder buffer (logwarden/detection/reorder.py)

    @property
    def es_shown(self) -> str:
        """The Elasticsearch URL safe to print (any password replaced by `***`)."""
        return redact_credentials(self.elasticsearch)

    @property
    def es_verify_certs(self) -> bool:
        return self.es_verify.strip().lower() != "false"

    @property
    def kafka_sasl(self) -> bool:
        return self.kafka_security_protocol.startswith("SASL_")

    @property
    def kafka_tls(self) -> bool:
        return self.kafka_security_protocol in ("SSL", "SASL_SSL")

    def secrets(self) -> list[str]:
        """The secret values this configuration holds (settings and a URL password), for checks
        that output never contains them."""
        values = [getattr(self, name) for name in SECRETS]
        password = urlsplit(self.elasticsearch).password
        return [v for v in (*values, password or "") if v]

    @property
    def home_path(self) -> Path:
        return Path(self.home).resolve()

    @property
    def state_path(self) -> Path:
        return Path(self.state).resolve() if self.state else self.home_path / "state"

    @property
    def partitions(self) -> int:
        """`kafka_partitions` as a number (`validate` refused anything else)."""
        return int(self.kafka_partitions)

    @property
    def reorder_grace(self) -> float:
        """`stream_reorder_grace` in seconds (`validate` refused anything else)."""
        return parse_duration(self.stream_reorder_grace)

    def topic(self, dataset: str) -> str:
        return f"{self.topic_prefix}{dataset}"

    def group(self, service: str) -> str:
        """The default Kafka consumer group of a service (`indexer`, `stream`): under the topic
        prefix, so two deployments (or test namespaces) on one broker never share a group."""
        return f"{self.topic_prefix}{service}"

    def index_pattern(self, dataset: str) -> str:
        return f"{self.index_prefix}{dataset}-*"


def load(path: str | None = None) -> Config:
    cfg = Config()
    file = path or os.environ.get("LOGWARDEN_CONFIG")
    if not file and Path("logwarden.yml").exists():
        file = "logwarden.yml"
    if file:
        try:
            data = load_file(Path(file), MAX_CONFIG_BYTES, "MAX_CONFIG_BYTES", "logwarden.yml") or {}
        except YamlLimitError as exc:  # huge file, alias bomb: refused before anything is built
            raise ConfigError(f"config {file}: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"cannot read config {file}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config {file} is not UTF-8 (byte {exc.start})") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"config {file} is not valid YAML: {' '.join(str(exc).split())}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config {file}: expected a mapping at top level")
        known = {f.name for f in fields(Config)}
        for key, value in data.items():
            if key not in known:
                raise ConfigError(f"config {file}: unknown key {key!r} (known: {', '.join(sorted(known))})")
            setattr(cfg, key, str(value).lower() if isinstance(value, bool) else str(value))
        _warn_if_exposed(Path(file), cfg)
    for key, var in ENV.items():
        if os.environ.get(var):
            setattr(cfg, key, os.environ[var])
    validate(cfg)
    return cfg


def _warn_if_exposed(file: Path, cfg: Config) -> None:
    """Log a warning when `file` holds a secret and its mode lets group or others read it."""
    if not cfg.secrets():
        return
    try:
        mode = file.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning("config %s holds a secret and is readable by %s (mode %s): chmod 600 it", file,
                    "group and others" if mode & stat.S_IROTH and mode & stat.S_IRGRP
                    else "others" if mode & stat.S_IROTH else "its group", oct(mode & 0o777))


_PREFIX = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")
_FINGERPRINT = re.compile(r"[0-9A-Fa-f]{64}\Z")
_TOPIC_PREFIX = re.compile(r"[A-Za-z0-9._-]+\Z")


def _check_hostport(value: str, what: str) -> None:
    for entry in value.split(","):
        host, sep, port = entry.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{what}: {entry.strip()!r} is not HOST:PORT with a port from 1 to 65535")


def validate(cfg: Config) -> None:
    """Refuse values no server call could use, naming the setting and its variable.

    Raises:
        ConfigError: the first bad value.
    """
    _check_hostport(cfg.kafka, f"kafka ({ENV['kafka']})")
    url = urlsplit(cfg.elasticsearch)
    try:
        port_ok = url.port is None or 0 < url.port < 65536
    except ValueError:
        port_ok = False
    if url.scheme not in ("http", "https") or not url.hostname or not port_ok:
        shown = redact_credentials(cfg.elasticsearch)
        raise ConfigError(f"elasticsearch ({ENV['elasticsearch']}): {shown!r} is not an http(s)://HOST:PORT URL")
    try:
        timeout = float(cfg.es_timeout)
    except ValueError:
        timeout = -1.0
    if not 0 < timeout <= 3600:
        raise ConfigError(f"es_timeout ({ENV['es_timeout']}): {cfg.es_timeout!r} is not a number of seconds "
                          "in (0, 3600]")
    if not _PREFIX.match(cfg.index_prefix):
        raise ConfigError(f"index_prefix ({ENV['index_prefix']}): {cfg.index_prefix!r} must be lowercase letters, "
                          "digits, '.', '_' or '-', not starting with one of '._-'")
    try:
        networks.parse_extra(cfg.internal_networks)
    except ValueError as exc:
        raise ConfigError(f"internal_networks ({ENV['internal_networks']}): {exc}") from exc
    try:
        parse_settings(cfg.silence, cfg.silence_gap, cfg.silence_baseline)
    except ValueError as exc:
        raise ConfigError(f"silence settings ({ENV['silence']}, {ENV['silence_gap']}, "
                          f"{ENV['silence_baseline']}): {exc}") from exc
    if not (cfg.kafka_partitions.isdigit() and 1 <= int(cfg.kafka_partitions) <= MAX_KAFKA_PARTITIONS):
        raise ConfigError(f"kafka_partitions ({ENV['kafka_partitions']}): {cfg.kafka_partitions!r} is not a whole "
                          f"number in [1, {MAX_KAFKA_PARTITIONS}]")
    try:
        parse_duration(cfg.stream_reorder_grace)
    except ValueError as exc:
        raise ConfigError(f"stream_reorder_grace ({ENV['stream_reorder_grace']}): {exc}") from exc
    if not _TOPIC_PREFIX.match(cfg.topic_prefix):
        raise ConfigError(f"topic_prefix ({ENV['topic_prefix']}): {cfg.topic_prefix!r} may hold only letters, "
                          "digits, '.', '_' and '-'")
    _validate_security(cfg)


def _check_file(value: str, name: str) -> None:
    if value and not Path(value).is_file():
        raise ConfigError(f"{name} ({ENV[name]}): {value!r} is not a readable file")
    if value:
        try:
            with open(value, "rb"):
                pass
        except OSError as exc:
            raise ConfigError(f"{name} ({ENV[name]}): cannot read {value!r}: {exc.strerror or exc}") from exc


def _validate_security(cfg: Config) -> None:
    """The connection-security settings: known values, credentials in pairs, files that exist."""
    if cfg.es_verify.strip().lower() not in ("true", "false"):
        raise ConfigError(f"es_verify ({ENV['es_verify']}): {cfg.es_verify!r} is not true or false")
    if cfg.es_fingerprint and not _FINGERPRINT.match(cfg.es_fingerprint.replace(":", "")):
        raise ConfigError(f"es_fingerprint ({ENV['es_fingerprint']}): expected the certificate's SHA-256 "
                          "as 64 hex digits (':' separators allowed)")
    if cfg.es_fingerprint and cfg.es_ca_file:
        raise ConfigError(f"es_ca_file ({ENV['es_ca_file']}) and es_fingerprint ({ENV['es_fingerprint']}): "
                          "set one of them, not both")
    if cfg.es_api_key and (cfg.es_user or cfg.es_password):
        raise ConfigError(f"es_api_key ({ENV['es_api_key']}) and es_user/es_password: set one way to "
                          "authenticate, not both")
    if bool(cfg.es_user) != bool(cfg.es_password):
        missing = "es_password" if cfg.es_user else "es_user"
        raise ConfigError(f"{missing} ({ENV[missing]}) is not set: es_user and es_password go together")
    url = urlsplit(cfg.elasticsearch)
    if url.username and (cfg.es_user or cfg.es_api_key):
        raise ConfigError(f"elasticsearch ({ENV['elasticsearch']}) holds credentials and es_user/es_api_key "
                          "is set too: keep one")
    _check_file(cfg.es_ca_file, "es_ca_file")
    if cfg.kafka_security_protocol not in KAFKA_PROTOCOLS:
        raise ConfigError(f"kafka_security_protocol ({ENV['kafka_security_protocol']}): "
                          f"{cfg.kafka_security_protocol!r} is not one of {', '.join(KAFKA_PROTOCOLS)}")
    if cfg.kafka_sasl_mechanism not in SASL_MECHANISMS:
        raise ConfigError(f"kafka_sasl_mechanism ({ENV['kafka_sasl_mechanism']}): "
                          f"{cfg.kafka_sasl_mechanism!r} is not one of {', '.join(SASL_MECHANISMS)}")
    if cfg.kafka_sasl and not (cfg.kafka_user and cfg.kafka_password):
        raise ConfigError(f"kafka_security_protocol {cfg.kafka_security_protocol} needs kafka_user "
                          f"({ENV['kafka_user']}) and kafka_password ({ENV['kafka_password']})")
    if bool(cfg.kafka_cert_file) != bool(cfg.kafka_key_file):
        raise ConfigError(f"kafka_cert_file ({ENV['kafka_cert_file']}) and kafka_key_file "
                          f"({ENV['kafka_key_file']}) go together")
    for name in ("kafka_ca_file", "kafka_cert_file", "kafka_key_file"):
        _check_file(getattr(cfg, name), name)
    if cfg.kafka_client not in KAFKA_CLIENTS:
        raise ConfigError(f"kafka_client ({ENV['kafka_client']}): {cfg.kafka_client!r} is not one of "
                          f"{', '.join(KAFKA_CLIENTS)}")
    if cfg.kafka_client == "confluent" and importlib.util.find_spec("confluent_kafka") is None:
        raise ConfigError(CONFLUENT_MISSING)
