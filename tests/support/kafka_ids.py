"""Read back the `id` header of every message in some of a namespace's topics: the real-server
tests reconcile what a shipper sent against what reached Kafka by these ids (each record's id
travels as a header, so no document is decoded)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from logwarden.config import Config
from logwarden.kafka_io import client_options


def id_headers(cfg: Config, datasets: Iterable[str], done: Callable[[list[bytes]], bool],
               timeout: float = 120) -> list[bytes]:
    """Every `id` header (repeats kept) in the topics of `datasets`, from the start, read until
    `done(ids)` holds or `timeout` seconds passed, plus what arrives in 3 s more (a copy that
    came late would otherwise go unseen)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(*(cfg.topic(d) for d in datasets), **client_options(cfg),
                             auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    ids: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not done(ids):
            for records in consumer.poll(timeout_ms=1000).values():
                ids.extend(dict(r.headers)["id"] for r in records)
        for records in consumer.poll(timeout_ms=3000).values():
            ids.extend(dict(r.headers)["id"] for r in records)
    finally:
        consumer.close()
    return ids
