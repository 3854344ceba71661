"""Elasticsearch wiring: the client and template installation.

The index template is generated from the field schema by logwarden/schema_template.py for the configured
index prefix, so `setup` with LOGWARDEN_INDEX_PREFIX=soc- installs a `soc-*` template and the
documents get the declared mappings whatever the prefix.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from logwarden import schema_template
from logwarden.config import Config


def client(cfg: Config, **overrides: Any) -> Elasticsearch:
    options: dict[str, Any] = {"request_timeout": float(cfg.es_timeout), "max_retries": 0, "retry_on_timeout": False}
    options.update(overrides)
    return Elasticsearch(cfg.elasticsearch, **options)


def templates(index_prefix: str = schema_template.DEFAULT_INDEX_PREFIX) -> dict[str, dict[str, Any]]:
    """The index templates for `index_prefix`, by name (one: every dataset shares the schema)."""
    return {schema_template.template_name(index_prefix): schema_template.index_template(index_prefix)}


def install_templates(es: Elasticsearch, index_prefix: str = schema_template.DEFAULT_INDEX_PREFIX) -> list[str]:
    """Put the templates for `index_prefix` (replacing earlier versions of the same name).

    Returns:
        The names installed.
    Raises:
        elasticsearch.ApiError / TransportError: the server refused or was unreachable.
    """
    names = []
    for name, body in templates(index_prefix).items():
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
