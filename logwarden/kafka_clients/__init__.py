"""The small producer and consumer interfaces every logwarden Kafka client goes through, and the
choice of client.

kafka-python (pure Python, the default) costs 22-32 us of CPU per message in `send()` and its I/O
thread; confluent-kafka (librdkafka, C) 13-19, TLS included (docs/kafka-client.md). Both sit behind
`Producer` (logwarden/kafka_clients/interface.py), so KafkaSink, the syslog spool and every
service keep one code path whichever is installed:

- `send(topic, key, value, headers)` returns a `Delivery` future at once; its callbacks run when
  the broker acknowledged the message or it failed (from the client's own thread).
- `flush(timeout)` waits until everything sent was acknowledged or failed;
  `close(timeout)` flushes for up to `timeout` then drops what is still pending (its futures fail).

Consumers (`Consumer`: the indexer, `stream`, `ship kafka`) go through the same choice: poll
records per partition, commit explicit offsets, seek (also from `stream`'s rebalance listener),
position/committed/end offsets for `--once`, close; kafka-python's shapes for both clients. A
group member shares the group's partitions round robin (interface.py `GROUP_ASSIGNORS`), with
either client, unless its options name another `partition_assignment_strategy`.

Errors are kafka-python's (`kafka.errors.KafkaError` and subclasses) for both clients, so every
`except KafkaError` and the dead-letter/spool/checkpoint/commit decisions stay exactly as they are.
The admin client stays kafka-python (logwarden/kafka_io.py).

The setting `kafka_client` (LOGWARDEN_KAFKA_CLIENT) picks the implementation; `confluent`
without the `confluent-kafka` package (`pip install 'logwarden[fast]'`) is a ConfigError (exit 2).
"""

from __future__ import annotations

from typing import Any

from logwarden.config import CONFLUENT_MISSING, Config
from logwarden.errors import ConfigError
from logwarden.kafka_clients.interface import (
    CONFLUENT,
    GROUP_ASSIGNORS,
    KAFKA_PYTHON,
    Consumer,
    Delivery,
    Producer,
    RebalanceListener,
    Record,
)


def make_producer(cfg: Config, options: dict[str, Any]) -> Producer:
    """A producer of `cfg.kafka_client` with kafka-python-named `options` (plus the connection
    settings of `kafka_io.client_options(cfg)`, already in `options`); it is connected: a broker
    that cannot be reached fails here.

    Raises:
        ConfigError: `confluent` chosen and confluent-kafka not installed.
        KafkaError: no broker answered (KafkaTimeoutError) or the options were refused.
    """
    if cfg.kafka_client == CONFLUENT:
        try:
            from logwarden.kafka_clients.confluent import ConfluentProducer
        except ImportError as exc:
            raise ConfigError(CONFLUENT_MISSING) from exc
        return ConfluentProducer(options)
    from logwarden.kafka_clients.python import KafkaPythonProducer

    return KafkaPythonProducer(options)


def make_consumer(cfg: Config, options: dict[str, Any], topics: list[str],
                  listener: RebalanceListener | None = None) -> Consumer:
    """A consumer of `cfg.kafka_client` with kafka-python-named `options` (connection settings
    included), subscribed to `topics`, `listener` told of rebalances; it is connected.

    Raises:
        ConfigError: `confluent` chosen and confluent-kafka not installed.
        KafkaError: no broker answered (NoBrokersAvailable, KafkaTimeoutError) or the options were refused.
    """
    if options.get("group_id"):
        options = {"partition_assignment_strategy": GROUP_ASSIGNORS, **options}
    if cfg.kafka_client == CONFLUENT:
        try:
            from logwarden.kafka_clients.confluent_consumer import ConfluentConsumer
        except ImportError as exc:
            raise ConfigError(CONFLUENT_MISSING) from exc
        return ConfluentConsumer(options, topics, listener)
    from logwarden.kafka_clients.python import KafkaPythonConsumer

    return KafkaPythonConsumer(options, topics, listener)


__all__ = ["CONFLUENT", "GROUP_ASSIGNORS", "KAFKA_PYTHON", "Consumer", "Delivery", "Producer", "RebalanceListener",
           "Record", "make_consumer", "make_producer"]
