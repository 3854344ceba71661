"""`logwarden setup`: index templates into Elasticsearch, topics into Kafka."""

from __future__ import annotations

import argparse

from logwarden.config import load


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("setup", help="install index templates (Elasticsearch) and create topics (Kafka)")
    p.add_argument("--no-kafka", action="store_true", help="only the Elasticsearch templates")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from elasticsearch import ApiError, TransportError

    from logwarden import es_io

    cfg = load(args.config)
    try:
        names = es_io.install_templates(es_io.client(cfg))
    except (ApiError, TransportError) as exc:
        print(f"setup: Elasticsearch at {cfg.elasticsearch} refused the templates: {exc}")
        return 3
    print(f"index templates installed: {', '.join(names)}")
    if not args.no_kafka:
        from logwarden.kafka_io import KafkaError, ensure_topics

        try:
            created = ensure_topics(cfg)
        except KafkaError as exc:
            print(f"setup: Kafka at {cfg.kafka} not reachable: {exc}")
            return 3
        print(f"topics created: {', '.join(created) if created else 'none (all exist)'}")
    return 0
