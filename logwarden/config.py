"""Configuration: defaults, then a YAML file, then environment variables (highest).

    kafka: 127.0.0.1:19092            LOGWARDEN_KAFKA
    elasticsearch: http://127.0.0.1:19200   LOGWARDEN_ES
    home: .lab                        LOGWARDEN_HOME   (runtime data, logs; downloads are cached
                                                        in ~/.cache/logwarden or LOGWARDEN_CACHE)
    es_timeout: 60                    LOGWARDEN_ES_TIMEOUT (seconds per request)
    state: .lab/state                 LOGWARDEN_STATE  (shipper checkpoints)

The file is `logwarden.yml` in the working directory, or the path in LOGWARDEN_CONFIG / --config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

ENV = {
    "kafka": "LOGWARDEN_KAFKA",
    "elasticsearch": "LOGWARDEN_ES",
    "home": "LOGWARDEN_HOME",
    "state": "LOGWARDEN_STATE",
    "topic_prefix": "LOGWARDEN_TOPIC_PREFIX",
    "index_prefix": "LOGWARDEN_INDEX_PREFIX",
    "es_timeout": "LOGWARDEN_ES_TIMEOUT",
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

    @property
    def home_path(self) -> Path:
        return Path(self.home).resolve()

    @property
    def state_path(self) -> Path:
        return Path(self.state).resolve() if self.state else self.home_path / "state"

    def topic(self, dataset: str) -> str:
        return f"{self.topic_prefix}{dataset}"

    def index_pattern(self, dataset: str) -> str:
        return f"{self.index_prefix}{dataset}-*"


class ConfigError(ValueError):
    pass


def load(path: str | None = None) -> Config:
    cfg = Config()
    file = path or os.environ.get("LOGWARDEN_CONFIG")
    if not file and Path("logwarden.yml").exists():
        file = "logwarden.yml"
    if file:
        try:
            data = yaml.safe_load(Path(file).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config {file}: {exc}") from exc
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
    return cfg
