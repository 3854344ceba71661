"""Configuration: defaults, then a YAML file, then environment variables (highest).

    kafka: 127.0.0.1:19092            LOGWARDEN_KAFKA
    elasticsearch: http://127.0.0.1:19200   LOGWARDEN_ES
    home: .lab                        LOGWARDEN_HOME   (runtime data, logs; downloads are cached
                                                        in ~/.cache/logwarden or LOGWARDEN_CACHE)
    es_timeout: 60                    LOGWARDEN_ES_TIMEOUT (seconds per request)
    state: .lab/state                 LOGWARDEN_STATE  (shipper checkpoints)
    internal_networks: ""             LOGWARDEN_INTERNAL_NETWORKS (the site's own CIDRs, comma-separated;
                                                        see logwarden/networks.py)
    silence: on                       LOGWARDEN_SILENCE (detect's silence alerts, on|off)
    silence_gap: 30m                  LOGWARDEN_SILENCE_GAP (quiet this long = silent; per family:
                                                        "30m, av=24h, firewall=10m")
    silence_baseline: 24h             LOGWARDEN_SILENCE_BASELINE (window of a source's usual rate)

The file is `logwarden.yml` in the working directory, or the path in LOGWARDEN_CONFIG / --config.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from logwarden import networks
from logwarden.errors import ConfigError
from logwarden.safe_text import redact_credentials
from logwarden.silence_settings import parse_settings

__all__ = ["ENV", "Config", "ConfigError", "load", "validate"]

ENV = {
    "kafka": "LOGWARDEN_KAFKA",
    "elasticsearch": "LOGWARDEN_ES",
    "home": "LOGWARDEN_HOME",
    "state": "LOGWARDEN_STATE",
    "topic_prefix": "LOGWARDEN_TOPIC_PREFIX",
    "index_prefix": "LOGWARDEN_INDEX_PREFIX",
    "es_timeout": "LOGWARDEN_ES_TIMEOUT",
    "internal_networks": "LOGWARDEN_INTERNAL_NETWORKS",
    "silence": "LOGWARDEN_SILENCE",
    "silence_gap": "LOGWARDEN_SILENCE_GAP",
    "silence_baseline": "LOGWARDEN_SILENCE_BASELINE",
}


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
    silence: str = "on"  # detect's silence alerts (logwarden/detection/silence.py)
    silence_gap: str = "30m"  # default gap, then `family=duration` overrides
    silence_baseline: str = "24h"  # window of the usual rate

    @property
    def es_shown(self) -> str:
        """The Elasticsearch URL safe to print (any password replaced by `***`)."""
        return redact_credentials(self.elasticsearch)

    @property
    def home_path(self) -> Path:
        return Path(self.home).resolve()

    @property
    def state_path(self) -> Path:
        return Path(self.state).resolve() if self.state else self.home_path / "state"

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
            data = yaml.safe_load(Path(file).read_text(encoding="utf-8")) or {}
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
            setattr(cfg, key, str(value))
    for key, var in ENV.items():
        if os.environ.get(var):
            setattr(cfg, key, os.environ[var])
    validate(cfg)
    return cfg


_PREFIX = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")
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
    if not _TOPIC_PREFIX.match(cfg.topic_prefix):
        raise ConfigError(f"topic_prefix ({ENV['topic_prefix']}): {cfg.topic_prefix!r} may hold only letters, "
                          "digits, '.', '_' and '-'")
