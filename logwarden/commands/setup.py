"""`logwarden setup`: index templates into Elasticsearch, topics into Kafka, for the configured
index and topic prefixes."""

from __future__ import annotations

import argparse

from logwarden.config import load
from logwarden.errors import ServerError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("setup", help="install index templates (Elasticsearch) and create topics (Kafka)")
    p.add_argument("--no-kafka", action="store_true", help="only the Elasticsearch templates")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Raises:
        ServerError: Elasticsearch or Kafka refused or could not be reached.
    """
    from elasticsearch import ApiError, TransportError

    from logwarden import es_io, server_errors

    cfg = load(args.config)
    try:
        names = es_io.install_templates(es_io.client(cfg), cfg.index_prefix)
    except (ApiError, TransportError) as exc:
        raise ServerError(server_errors.describe(exc, cfg)
                          or f"Elasticsearch at {cfg.es_shown} refused the templates: {exc}") from exc
    print(f"index templates installed: {', '.join(names)} (indices {cfg.index_prefix}*)")
    if not args.no_kafka:
        from logwarden.kafka_io import KafkaError, ensure_topics

        try:
            created = ensure_topics(cfg)
        except KafkaError as exc:
            raise ServerError(f"Kafka at {cfg.kafka} not reachable: {exc}") from exc
        print(f"topics created: {', '.join(created) if created else 'none (all exist)'}")
    return 0
