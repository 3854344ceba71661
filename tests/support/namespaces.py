"""A test's own namespace on the shared servers: topic and index prefixes and a state folder.

Everyone's tests run against the same Kafka and Elasticsearch; a namespace keeps their topics and
indices apart, and `cleanup` deletes only what the namespace created.
"""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import Iterable, Iterator
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
    """Delete a namespace's indices, its index template (if `setup` installed one) and its topics
    (keeps the shared lab small)."""
    from logwarden.es_io import client
    from logwarden.kafka_io import delete_topics

    cleanup_indices_and_template(client(cfg), cfg)
    delete_topics(cfg, cfg.topic_prefix)


@contextlib.contextmanager
def es_namespace(lab_cfg: Config, prefix: str, docs: Iterable[tuple[str, dict[str, Any]]],
                 day: str) -> Iterator[tuple[Config, Any]]:
    """(config, client) for indices of a namespace of our own (`logwarden-<prefix><id>-*`, the
    project's template for that prefix) holding `docs` [(id, document)] in the windows index of
    `day` (YYYY.MM.DD); the indices and the template are deleted afterwards."""
    from logwarden.es_io import client, install_templates
    from logwarden.shippers.base import dumps

    cfg = copy.copy(lab_cfg)
    cfg.index_prefix = f"logwarden-{prefix}{uuid.uuid4().hex[:8]}-"
    es = client(cfg)
    install_templates(es, cfg.index_prefix)
    try:
        body = b"".join(dumps({"create": {"_index": f"{cfg.index_prefix}windows-{day}", "_id": eid}}) + b"\n"
                        + dumps(doc) + b"\n" for eid, doc in docs)
        assert not es.bulk(body=body, refresh="wait_for")["errors"]  # type: ignore[arg-type]  # NDJSON bytes
        yield cfg, es
    finally:
        cleanup_indices_and_template(es, cfg)


def cleanup_indices_and_template(es: Any, cfg: Config) -> None:
    """Delete the namespace's indices and its index template (no topics)."""
    from logwarden.es_io import delete_indices
    from logwarden.schema_template import DEFAULT_INDEX_PREFIX, template_name

    delete_indices(es, f"{cfg.index_prefix}*")
    if cfg.index_prefix != DEFAULT_INDEX_PREFIX:  # never the shared default template
        es.options(ignore_status=404).indices.delete_index_template(name=template_name(cfg.index_prefix))


def count(es: Any, cfg: Config, dataset: str = "*", query: dict[str, Any] | None = None) -> int:
    """How many documents the namespace's `dataset` indices hold (after a refresh), matching
    `query` when given."""
    index = f"{cfg.index_prefix}{dataset}-*"
    from tests.support.es_reads import while_shards_start

    while_shards_start(es.indices.refresh, index=index, ignore_unavailable=True, allow_no_indices=True)
    body = {"query": query} if query else {}
    return int(while_shards_start(es.count, index=index, ignore_unavailable=True, allow_no_indices=True,
                                  **body)["count"])
