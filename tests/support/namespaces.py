"""A test's own namespace on the shared servers: topic and index prefixes and a state folder.

Everyone's tests run against the same Kafka and Elasticsearch; a namespace keeps their topics and
indices apart, and `cleanup` deletes only what the namespace created.
"""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

from logwarden.config import Config


def isolated(cfg: Config, tmp_path: Path) -> Config:
    """A copy of `cfg`: same servers, own topics (`lwt<id>.`), own indices (`logwarden-t<id>-`),
    own state folder under `tmp_path`."""
    tag = uuid.uuid4().hex[:8]
    namespaced = copy.copy(cfg)
    namespaced.topic_prefix = f"lwt{tag}."
    namespaced.index_prefix = f"logwarden-t{tag}-"
    namespaced.state = str(tmp_path / "state")
    return namespaced


def cleanup(cfg: Config) -> None:
    """Delete a namespace's indices and topics (keeps the shared lab small)."""
    from logwarden.es_io import client, delete_indices
    from logwarden.kafka_io import delete_topics

    delete_indices(client(cfg), f"{cfg.index_prefix}*")
    delete_topics(cfg, cfg.topic_prefix)


def count(es: Any, cfg: Config, dataset: str = "*", query: dict[str, Any] | None = None) -> int:
    """How many documents the namespace's `dataset` indices hold (after a refresh), matching
    `query` when given."""
    index = f"{cfg.index_prefix}{dataset}-*"
    es.indices.refresh(index=index, ignore_unavailable=True, allow_no_indices=True)
    body = {"query": query} if query else {}
    return int(es.count(index=index, ignore_unavailable=True, allow_no_indices=True, **body)["count"])
