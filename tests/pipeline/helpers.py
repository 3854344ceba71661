"""Helpers for real-server tests: an isolated namespace (topic and index prefixes) per test."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import uuid
from pathlib import Path

from logwarden.config import Config

ROOT = Path(__file__).resolve().parents[2]


def isolated(cfg: Config, tmp_path: Path) -> Config:
    """Same servers, own topics (`lwt<id>.`), own indices (`logwarden-t<id>-`), own state dir."""
    tag = uuid.uuid4().hex[:8]
    c = copy.copy(cfg)
    c.topic_prefix = f"lwt{tag}."
    c.index_prefix = f"logwarden-t{tag}-"
    c.state = str(tmp_path / "state")
    return c


def cleanup(cfg: Config) -> None:
    """Delete a test namespace's indices and topics (keeps the shared lab small)."""
    from logwarden.es_io import client, delete_indices
    from logwarden.kafka_io import delete_topics

    delete_indices(client(cfg), f"{cfg.index_prefix}*")
    delete_topics(cfg, cfg.topic_prefix)


def env_for(cfg: Config) -> dict[str, str]:
    return {
        **os.environ,
        "LOGWARDEN_KAFKA": cfg.kafka,
        "LOGWARDEN_ES": cfg.elasticsearch,
        "LOGWARDEN_TOPIC_PREFIX": cfg.topic_prefix,
        "LOGWARDEN_INDEX_PREFIX": cfg.index_prefix,
        "LOGWARDEN_STATE": cfg.state,
        "LOGWARDEN_HOME": cfg.home,
        "LOGWARDEN_ES_TIMEOUT": cfg.es_timeout,
    }


def cli(cfg: Config, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logwarden.cli", *args], env=env_for(cfg), cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def popen(cfg: Config, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "logwarden.cli", *args], env=env_for(cfg), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def count(es, cfg: Config, dataset: str = "*", query: dict | None = None) -> int:
    index = f"{cfg.index_prefix}{dataset}-*"
    es.indices.refresh(index=index, ignore_unavailable=True, allow_no_indices=True)
    body = {"query": query} if query else {}
    return int(es.count(index=index, ignore_unavailable=True, allow_no_indices=True, **body)["count"])
