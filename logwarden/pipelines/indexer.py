"""Kafka -> Elasticsearch indexer (decision 4: op_type create with the event's deterministic _id).

One consumer-group member reads the logwarden topics, bulk-indexes each polled batch into
`logwarden-<dataset>-YYYY.MM.DD` (date from the event's @timestamp), and commits offsets only
after Elasticsearch accepted every document of the batch:

- 201 created: indexed; 409 conflict: already there (a replay or a retry), counted, not an error;
- 429 / 5xx items, timeouts and connection errors: retried with capped exponential backoff,
  for as long as it takes (offsets stay uncommitted, so a crash re-reads the batch);
- any other rejection (mapping errors, ...): produced to the dead-letter topic with the reason,
  acknowledged by Kafka, then counted; the dead-letter topic is itself indexed.

Messages are never re-serialised: the value bytes from Kafka go into the _bulk body as they are.
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, Elasticsearch, TransportError

from logwarden.config import Config
from logwarden.shippers.base import DATASETS, DEADLETTER, DeadLetter

TIMESTAMP = re.compile(rb'"@timestamp":"(\d{4})-(\d{2})-(\d{2})T')
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
MAX_BACKOFF = 30.0


@dataclass
class IndexStats:
    consumed: int = 0
    created: int = 0
    existing: int = 0  # 409: the same _id was indexed before (replay / retry)
    dead_lettered: int = 0
    retries: int = 0
    batches: int = 0
    per_index: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Doc:
    index: str
    id: str
    value: bytes
    topic: str
    key: bytes | None


class Indexer:
    def __init__(self, cfg: Config, es: Elasticsearch, consumer: Any, producer_sink: Any,
                 log: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> None:
        self.cfg = cfg
        self.es = es
        self.consumer = consumer
        self.dead_sink = producer_sink
        self.log = log
        self.stats = IndexStats()
        self.stopping = False
        self.dl_topic = cfg.topic(DEADLETTER)

    # -- message -> bulk document
    def _dataset(self, topic: str) -> str:
        prefix = self.cfg.topic_prefix
        return topic[len(prefix):] if topic.startswith(prefix) else topic

    def prepare(self, topic: str, key: bytes | None, value: bytes | None,
                headers: list[tuple[str, bytes]] | None) -> _Doc | DeadLetter:
        source = f"kafka:{topic}"
        if not value:
            return DeadLetter(source, b"", "empty Kafka message", self._dataset(topic))
        doc_id = next((v.decode("ascii", "replace") for k, v in headers or [] if k == "id"), "")
        m = TIMESTAMP.search(value)
        if not m or not doc_id:
            try:
                doc = json.loads(value)
            except ValueError as exc:
                return DeadLetter(source, value, f"message is not JSON: {exc}", self._dataset(topic))
            if not isinstance(doc, dict):
                return DeadLetter(source, value, "message is not a JSON object", self._dataset(topic))
            doc_id = doc_id or str((doc.get("event") or {}).get("id") or "")
            doc_id = doc_id or hashlib.blake2b(topic.encode() + b"\x1f" + value, digest_size=16).hexdigest()
            ts = doc.get("@timestamp")
            m = TIMESTAMP.search(b'"@timestamp":"' + str(ts).encode() + b'"') if ts else None
            if not m:
                return DeadLetter(source, value, "document has no valid @timestamp", self._dataset(topic))
        day = b".".join(m.groups()).decode()
        index = f"{self.cfg.index_prefix}{self._dataset(topic)}-{day}"
        return _Doc(index, doc_id, value, topic, key)

    # -- one batch
    def index_batch(self, docs: list[_Doc]) -> None:
        """Returns when every doc is created, already existed, or was dead-lettered (and acked)."""
        pending = docs
        attempt = 0
        while pending:
            if self.stopping and attempt:
                raise InterruptedError("stopping with a batch not fully indexed (offsets not committed)")
            body = bytearray()
            for d in pending:
                body += json.dumps({"create": {"_index": d.index, "_id": d.id}}).encode() + b"\n"
                body += d.value + b"\n"
            try:
                resp = self.es.bulk(operations=bytes(body),
                                    filter_path="errors,items.*.status,items.*.error.type,items.*.error.reason")
            except (ConnectionError, ConnectionTimeout) as exc:
                attempt = self._backoff(attempt, f"Elasticsearch unreachable: {exc}")
                continue
            except ApiError as exc:
                if exc.meta.status in RETRYABLE_STATUS:
                    attempt = self._backoff(attempt, f"bulk rejected with {exc.meta.status}")
                    continue
                raise
            except TransportError as exc:
                attempt = self._backoff(attempt, f"transport error: {exc}")
                continue
            retry: list[_Doc] = []
            rejected: list[tuple[_Doc, str]] = []
            for d, item in zip(pending, resp.get("items", []), strict=True):
                result = item["create"]
                status = result.get("status", 0)
                if status in (200, 201):
                    self.stats.created += 1
                    self.stats.per_index[d.index] = self.stats.per_index.get(d.index, 0) + 1
                elif status == 409:
                    self.stats.existing += 1
                elif status in RETRYABLE_STATUS:
                    retry.append(d)
                else:
                    err = result.get("error") or {}
                    rejected.append((d, f"Elasticsearch rejected ({status}) {err.get('type')}: {err.get('reason')}"))
            if rejected:
                self._dead_letter(rejected)
            pending = retry
            if pending:
                attempt = self._backoff(attempt, f"{len(pending)} document(s) to retry (429/5xx)")

    def _dead_letter(self, rejected: list[tuple[_Doc, str]]) -> None:
        for d, reason in rejected:
            if d.topic == self.dl_topic:
                # a dead letter Elasticsearch refuses: keep it on disk rather than loop forever
                path = self.cfg.state_path / "rejected-deadletters.jsonl"
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "ab") as fh:
                    fh.write(json.dumps({"reason": reason, "value": d.value.decode("utf-8", "replace")}).encode())
                    fh.write(b"\n")
                self.log(f"dead letter refused by Elasticsearch, kept in {path}: {reason}")
            else:
                self.dead_sink.send(DeadLetter(f"kafka:{d.topic}", d.value, reason, self._dataset(d.topic)))
            self.stats.dead_lettered += 1
        self.dead_sink.flush()

    def _backoff(self, attempt: int, why: str) -> int:
        delay = min(MAX_BACKOFF, 0.5 * (2**attempt))
        self.stats.retries += 1
        self.log(f"indexer: {why}; retrying in {delay:.1f}s")
        time.sleep(delay)
        return attempt + 1

    # -- the loop
    def run(self, once: bool = False, idle_timeout: float = 5.0, max_messages: int | None = None) -> IndexStats:
        """Consume and index until stopped; with `once`, until every assigned partition is drained."""
        assigned_deadline = time.monotonic() + 60
        while not self.stopping:
            records = self.consumer.poll(timeout_ms=500, max_records=5000)
            if not records:
                if once and self._drained():
                    break
                if once and not self.consumer.assignment() and time.monotonic() > assigned_deadline:
                    raise RuntimeError("no partitions assigned after 60s: is Kafka up and are the topics created?")
                continue
            docs: list[_Doc] = []
            dead: list[DeadLetter] = []
            for tp, msgs in records.items():
                for msg in msgs:
                    self.stats.consumed += 1
                    prepared = self.prepare(tp.topic, msg.key, msg.value, msg.headers)
                    (dead if isinstance(prepared, DeadLetter) else docs).append(prepared)
            if dead:
                for d in dead:
                    self.dead_sink.send(d)
                self.dead_sink.flush()
                self.stats.dead_lettered += len(dead)
            if docs:
                self.index_batch(docs)
            self.consumer.commit()
            self.stats.batches += 1
            if max_messages is not None and self.stats.consumed >= max_messages:
                break
        return self.stats

    def _drained(self) -> bool:
        from logwarden.kafka_io import drained

        return drained(self.consumer)


def topics(cfg: Config) -> list[str]:
    return [cfg.topic(d) for d in (*DATASETS, DEADLETTER)]


def run_indexer(cfg: Config, once: bool = False, group_id: str = "logwarden-indexer",
                max_messages: int | None = None) -> IndexStats:
    from logwarden.es_io import client
    from logwarden.kafka_io import KafkaSink, ensure_topics, make_consumer

    ensure_topics(cfg)
    consumer = make_consumer(cfg, topics(cfg), group_id)
    sink = KafkaSink(cfg)
    indexer = Indexer(cfg, client(cfg), consumer, sink)

    def stop(signum: int, frame: object) -> None:
        indexer.stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        stats = indexer.run(once=once, max_messages=max_messages)
        if once:
            indexer.es.indices.refresh(index=f"{cfg.index_prefix}*")
        return stats
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        consumer.close(autocommit=False)
        sink.close()
