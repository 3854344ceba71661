"""Helpers of the services' real-server tests: events and raw messages produced to Kafka, a
topic read back, consumer groups, and a service run as a subprocess."""

from __future__ import annotations

from typing import Any

from logwarden.kafka_io import KafkaSink, client_options
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

    producer = KafkaProducer(**client_options(cfg), max_request_size=10 * 1024 * 1024, acks="all")
    for value, headers in messages:
        producer.send(topic, value=value, headers=headers).get(timeout=60)
    producer.close()


def read_topic(cfg, topic: str, **options: Any) -> list[Any]:
    """Every message of `topic` from its beginning (kafka-python ConsumerRecords), read until three
    polls in a row (about 3 s) bring nothing new; `options` go to the consumer (max_poll_records)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, **client_options(cfg), auto_offset_reset="earliest", enable_auto_commit=False,
                             group_id=None, **options)
    records: list[Any] = []
    quiet = 0
    try:
        while quiet < 3:
            batch = consumer.poll(timeout_ms=1000)
            quiet = 0 if batch else quiet + 1
            records.extend(m for msgs in batch.values() for m in msgs)
    finally:
        consumer.close()
    return records


def group(cfg, name: str) -> str:
    """A consumer group of the test's own: group ids are not namespaced by the topic prefix, and
    two tests sharing one (in parallel runs) would rebalance each other."""
    return f"{cfg.topic_prefix}{name}"


def group_state(cfg, group_id: str) -> tuple[str, int]:
    """(state, number of members) of a consumer group, as the broker sees it now."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**client_options(cfg))
    try:
        info = admin.describe_groups([group_id])[group_id]
    finally:
        admin.close()
    return info["group_state"], len(info["members"])


def committed_everything(cfg, group_id: str, topics: list[str]) -> bool:
    """True when the group's committed offsets reached the end of every partition of `topics`."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    admin = KafkaAdminClient(**client_options(cfg))
    probe = KafkaConsumer(**client_options(cfg))
    try:
        committed = admin.list_group_offsets({group_id: None}).get(group_id, {})
        parts = [TopicPartition(t, p) for t in topics for p in (probe.partitions_for_topic(t) or ())]
        ends = probe.end_offsets(parts)
    finally:
        probe.close()
        admin.close()
    return all(ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp]) for tp in parts)


class Service:
    """A `logwarden` service in a subprocess, its stderr collected line by line as it comes."""

    def __init__(self, cfg, *args: str, env: dict[str, str] | None = None) -> None:
        import subprocess
        import sys
        import threading

        from tests.support.cli import env_for
        from tests.support.paths import ROOT

        self.proc = subprocess.Popen([sys.executable, "-m", "logwarden.cli", *args],
                                     env={**env_for(cfg), **(env or {})}, cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 120) -> None:
        """Return once a stderr line holds `text`; fail after `timeout` seconds or if the service ended."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.proc.poll() is not None:
                self._reader.join(5)
                raise AssertionError(f"the service ended ({self.proc.returncode}) before logging {text!r}: "
                                     + "\n".join(self.lines[-20:]))
            time.sleep(0.2)
        raise AssertionError(f"no {text!r} in the service's log after {timeout}s: " + "\n".join(self.lines[-20:]))

    def stop(self, timeout: float = 90) -> tuple[int, str]:
        """SIGTERM, then (exit code, stdout)."""
        import signal

        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=timeout)  # stdout is one summary line: no pipe fills up meanwhile
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        self._reader.join(10)
        return self.proc.returncode, out

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)
