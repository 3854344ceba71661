"""Elasticsearch wiring: the client and template installation."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from elasticsearch import Elasticsearch

from logwarden.config import Config


def client(cfg: Config, **overrides: Any) -> Elasticsearch:
    options: dict[str, Any] = {"request_timeout": float(cfg.es_timeout), "max_retries": 0, "retry_on_timeout": False}
    options.update(overrides)
    return Elasticsearch(cfg.elasticsearch, **options)


def templates() -> dict[str, dict[str, Any]]:
    """Index templates shipped in pipelines/elasticsearch/*.json, by name (the file stem)."""
    folder = resources.files("logwarden.pipelines") / "elasticsearch"
    out = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            out[entry.name[: -len(".json")]] = json.loads(entry.read_text(encoding="utf-8"))
    return out


def install_templates(es: Elasticsearch) -> list[str]:
    names = []
    for name, body in templates().items():
        es.indices.put_index_template(name=name, **body)
        names.append(name)
    return names


def delete_indices(es: Elasticsearch, pattern: str) -> int:
    """Delete the indices matching `pattern`, by name (wildcard deletes are refused by default,
    and 40 names per request keep the request line under Elasticsearch's 4 KiB limit)."""
    names = sorted(es.indices.get(index=pattern, allow_no_indices=True, expand_wildcards="all"))
    for i in range(0, len(names), 40):
        es.indices.delete(index=",".join(names[i:i + 40]), ignore_unavailable=True)
    return len(names)
