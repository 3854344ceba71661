"""Helpers of the services' real-server tests: events and raw messages produced to Kafka."""

from __future__ import annotations

from logwarden.kafka_io import KafkaSink
from logwarden.shippers.base import Event, event_id


def event(i: int, tag: str = "svc") -> Event:
    """A 4625 failed RDP logon, as the Windows shipper produces it."""
    doc = {
        "@timestamp": f"2020-04-14T00:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
        "event": {"code": "4625", "kind": "event"},
        "host": {"name": f"srv-{i % 3}"},
        "source": {"ip": f"203.0.113.{i % 250}"},
        "winlog": {"event_id": "4625", "event_data": {"TargetUserName": f"user{i}", "LogonType": "10"}},
    }
    return Event(event_id(tag, i), "windows", f"srv-{i % 3}", doc, i)


def produce(cfg, items) -> None:
    """Events and dead letters through the shippers' sink (acknowledged on return)."""
    sink = KafkaSink(cfg)
    for item in items:
        sink.send(item)
    sink.close()


def produce_raw(cfg, topic: str, messages: list[tuple[bytes, list[tuple[str, bytes]]]]) -> None:
    """(value, headers) pairs as they are, bypassing the shippers' encoding (acknowledged)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=cfg.kafka.split(","), max_request_size=10 * 1024 * 1024, acks="all")
    for value, headers in messages:
        producer.send(topic, value=value, headers=headers).get(timeout=60)
    producer.close()
