"""Kafka -> Elasticsearch indexer (decision 4: op_type create with the event's deterministic _id).

A consumer-group member on logwarden/consume.py's loop: each polled batch is bulk-indexed into
`logwarden-<dataset>-YYYY.MM.DD` (date from the event's @timestamp), and the batch's offsets are
committed only after Elasticsearch accepted every document of it:

- 201 created: indexed; 409 conflict: already there (a replay or a retry), counted, not an error;
  alerts go in with op_type index instead (200 when there already): a correlation episode's
  later version replaces the earlier one under the same _id;
- 429 / 5xx items, timeouts and connection errors: retried with capped exponential backoff,
  for as long as it takes (offsets stay uncommitted, so a crash re-reads the batch);
- a refusal in the middle of a run (401 credentials, 403 permission for the request or for an
  item, a certificate that is not trusted): not an outage and never a dead letter; the batch
  stays uncommitted and is retried with the same backoff, logged as a refusal with its reason
  once per change (logwarden/refusals.py); with `--once` it is exit 3 at once;
- a request Elasticsearch took but did not answer within `es_timeout` (a read timeout) means a
  busy server, not an absent one: sending the same request again would most likely time out
  again (and with `index --once` two such timeouts outlasted its patience: exit 3 on a loaded
  box), so it is sent again in halves, with a warning, down to SLOW_SPLIT_FLOOR documents; only
  a request that small timing out counts as an outage. The documents the timed-out request
  created come back as 409 (counted as already indexed): nothing is indexed twice;
- a request Elasticsearch refuses as a whole (400, 413) is split in halves until the document
  that causes it is alone, and that one is dead-lettered: one bad message never blocks the rest;
- any other rejection (mapping errors, ...): produced to the dead-letter topic with the reason,
  acknowledged by Kafka, then counted; the dead-letter topic is itself indexed.

What reaches the _bulk body is checked first, because the body is newline-delimited and a value
is spliced into it: a value must be UTF-8 JSON holding one object (a second JSON value after it,
as in `{..}\\n{"delete":..}`, is refused), and a value spread over several lines is re-serialised
onto one; the `_id` (header `id`, else `event.id`) must be 1-512 bytes of printable UTF-8, and
the index name is built from a validated date (a message with no id at all gets a hash of its
topic and bytes). Anything else becomes a dead letter whose id
includes topic, partition and offset, so two bad messages with the same bytes stay two letters.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, Elasticsearch, TransportError
from urllib3.exceptions import ReadTimeoutError

from logwarden.atomic_file import append_line
from logwarden.config import Config
from logwarden.consume import (
    BatchAbandoned,
    ConsumeLoop,
    LoopCounters,
    Outage,
    StopFlag,
    consumer_and_producer,
    deliver,
    retry_kafka,
)
from logwarden.errors import ServerError
from logwarden.es_io import bare_url
from logwarden.refusals import Refusal
from logwarden.safe_text import redact_credentials
from logwarden.server_errors import describe
from logwarden.shippers.base import DATASETS, DEADLETTER, DeadLetter, dumps

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {429, 500, 502, 503, 504}
SPLIT_STATUS = {400, 413}  # the whole request refused because of (at least) one document in it
REFUSED_STATUS = {401, 403}  # credentials or permission (a request or an item): waited out, never dead-lettered
SLOW_SPLIT_FLOOR = 100  # a read timeout of a larger request halves it; one this small is an outage
ID_MAX_BYTES = 512  # Elasticsearch's limit for _id
TIMESTAMP_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})T")
# What logwarden's own producers write: compact JSON on one line, @timestamp the first key. Such a
# value with a valid id header goes into _bulk without a parse (see Indexer.prepare).
OWN_HEAD = b'{"@timestamp":"'
OWN_DATE = re.compile(rb"(\d{4})-(\d{2})-(\d{2})T")


def _own_layout_day(value: bytes) -> str | None:
    """`YYYY.MM.DD` when `value` is in the producers' own layout (one line, starts with the
    @timestamp key, ends with `}`), else None. Plain byte tests: cheaper than a parse or a scan."""
    if not value.startswith(OWN_HEAD) or not value.endswith(b"}") or b"\n" in value or b"\r" in value:
        return None
    m = OWN_DATE.match(value, len(OWN_HEAD))
    if not m:
        return None
    year, month, day = m[1].decode(), m[2].decode(), m[3].decode()
    return f"{year}.{month}.{day}" if _valid_day(year, month, day) else None
INGESTED_KEY = b'ingested"'  # "ingested" or "event.ingested" as a key


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def with_ingested(body: bytes, stamp: bytes) -> bytes:
    """`body` (one JSON object on one line) with `event.ingested` set to `stamp` when it has none:
    the moment the indexer handed it to Elasticsearch, what silence detection measures "heard" on
    (logwarden/detection/silence.py). Added as a dotted key before the closing brace, which
    Elasticsearch maps into `event`; a body that mentions "ingested" anywhere is parsed to decide."""
    if INGESTED_KEY in body:
        try:
            doc = json.loads(body)
        except ValueError:
            return body  # Elasticsearch refuses it and it becomes a dead letter (index_batch)
        event = doc.get("event") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or "event.ingested" in doc or (isinstance(event, dict) and "ingested" in event):
            return body
    head = body.rstrip()
    if not head.endswith(b"}"):
        return body
    inner = head[:-1].rstrip()
    sep = b"" if inner.endswith(b"{") else b","
    return inner + sep + b'"event.ingested":"' + stamp + b'"}'
INDEX_NAME = re.compile(r"[a-z0-9][a-z0-9._+-]*\Z")
INDEX_NAME_MAX_BYTES = 255
# Dead letters have no event time (their @timestamp is when they were received), so a daily index
# would take the same dead letter again when its input is shipped again on another day: they all
# go to one index, where their deterministic ids keep them once.
DEADLETTER_INDEX_SUFFIX = "all"
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f]")
REJECTED_DEADLETTERS = "rejected-deadletters.jsonl"  # under the state folder: dead letters Elasticsearch refused
SINK_MAX_BLOCK_MS = 10_000  # a dead-letter send waits this long for Kafka, then backs off (stop stays honoured)


@dataclass
class IndexStats(LoopCounters):
    created: int = 0
    existing: int = 0  # 409: the same _id was indexed before (replay / retry)
    dead_lettered: int = 0
    retries: int = 0  # Elasticsearch requests retried (unreachable, 429, 5xx, answered too late)
    refused: int = 0  # Elasticsearch requests refused (401, 403, certificate) and retried
    per_index: dict[str, int] = field(default_factory=dict)


@dataclass
class _Doc:
    index: str
    id: str
    body: bytes  # the document on one line, as it goes into _bulk
    topic: str
    partition: int
    offset: int
    value: bytes  # the Kafka value as it came (kept for a dead letter)


def _header_id(headers: list[tuple[str, bytes]] | None) -> bytes | None:
    for key, value in headers or []:
        if key == "id":
            return value or b""
    return None


def _check_id(raw: bytes) -> tuple[str, str]:
    """(id, "") for a usable _id, ("", why not) otherwise."""
    if not raw:
        return "", "empty id"
    if len(raw) > ID_MAX_BYTES:
        return "", f"id of {len(raw)} bytes (Elasticsearch allows {ID_MAX_BYTES})"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "", "id is not UTF-8"
    if UNPRINTABLE.search(text):
        return "", "id holds control characters"
    return text, ""


@functools.lru_cache(maxsize=4096)
def _valid_day(year: str, month: str, day: str) -> bool:
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def _day(timestamp: object) -> str | None:
    """`YYYY.MM.DD` of an ISO 8601 @timestamp, or None when it is not one."""
    m = TIMESTAMP_DAY.match(timestamp) if isinstance(timestamp, str) else None
    if not m or not _valid_day(m[1], m[2], m[3]):
        return None
    return f"{m[1]}.{m[2]}.{m[3]}"


@functools.lru_cache(maxsize=4096)
def _valid_index(name: str) -> bool:
    return bool(INDEX_NAME.match(name)) and len(name.encode()) <= INDEX_NAME_MAX_BYTES


class Indexer:
    """The indexer's batch handler: messages -> _bulk documents or dead letters."""

    def __init__(self, cfg: Config, es: Elasticsearch, dead_sink: Any, stop: StopFlag | None = None,
                 patience: float | None = None) -> None:
        self.cfg = cfg
        self.es = es
        self.dead_sink = dead_sink
        self.stop = stop or StopFlag()
        self.stats = IndexStats()
        self.dl_topic = cfg.topic(DEADLETTER)
        self.es_outage = Outage(f"Elasticsearch at {redact_credentials(cfg.elasticsearch)}", self.stop, log, patience)
        self.es_refusal = Refusal(f"Elasticsearch at {bare_url(cfg)}", self.stop, log,
                                  drain=patience is not None)
        self.kafka_outage = Outage(f"Kafka at {cfg.kafka} (dead letters)", self.stop, log, patience)

    # -- message -> bulk document
    def _dataset(self, topic: str) -> str:
        prefix = self.cfg.topic_prefix
        return topic[len(prefix):] if topic.startswith(prefix) else topic

    def _index(self, topic: str, day: str) -> str:
        """The index of a document of `topic` dated `day`: daily, except dead letters (one index)."""
        dataset = self._dataset(topic)
        return f"{self.cfg.index_prefix}{dataset}-{DEADLETTER_INDEX_SUFFIX if dataset == DEADLETTER else day}"

    def _dead(self, record: Any, reason: str) -> DeadLetter:
        return DeadLetter(f"kafka:{record.topic}/{record.partition}", record.value or b"", reason,
                          self._dataset(record.topic), position=record.offset)

    def prepare(self, record: Any) -> _Doc | DeadLetter:
        """The bulk document for a Kafka record (topic, partition, offset, value, headers), or the
        dead letter saying why there is none."""
        value: bytes | None = record.value
        if not value:
            return self._dead(record, "empty Kafka message")
        header = _header_id(record.headers)
        doc_id = ""
        if header is not None:
            doc_id, problem = _check_id(header)
            if problem:
                return self._dead(record, f"bad id header: {problem}")
            own_day = _own_layout_day(value)
            if own_day is not None:
                # One line (no bulk separator can hide in it), an object with its date first: it cannot
                # add a bulk action; if it is not valid JSON after all, Elasticsearch refuses that item
                # alone and it becomes a dead letter (index_batch). A parse here would cost the indexer
                # a fifth of its time.
                index = self._index(record.topic, own_day)
                if _valid_index(index):
                    return _Doc(index, doc_id, value, record.topic, record.partition, record.offset, value)
        try:
            text = value.decode("utf-8")
            doc = json.loads(text)
        except RecursionError:
            return self._dead(record, "message is not JSON: nested too deeply to parse")
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError ("Extra data" too)
            return self._dead(record, f"message is not JSON: {exc}")
        if not isinstance(doc, dict):
            return self._dead(record, "message is not a JSON object")
        if "\n" in text or "\r" in text:  # one object, but over several lines: put it on one
            try:
                value = dumps(doc)
            except RecursionError:
                return self._dead(record, "message is not JSON: nested too deeply to re-serialise")
        if header is None:
            event = doc.get("event")
            event_id = event.get("id") if isinstance(event, dict) else None
            if isinstance(event_id, str) and event_id:
                doc_id, problem = _check_id(event_id.encode("utf-8", "surrogateescape"))
                if problem:
                    return self._dead(record, f"bad event.id: {problem}")
            else:  # no id given: the same bytes on the same topic always get the same one
                doc_id = hashlib.blake2b(record.topic.encode() + b"\x1f" + value, digest_size=16).hexdigest()
        day = _day(doc.get("@timestamp"))
        if day is None:
            return self._dead(record, "document has no valid @timestamp")
        index = self._index(record.topic, day)
        if not _valid_index(index):
            return self._dead(record, f"no valid index name for topic {record.topic!r}")
        return _Doc(index, doc_id, value, record.topic, record.partition, record.offset, record.value)

    # -- one batch
    def handle(self, records: list[Any]) -> None:
        """Index a polled batch; returns when every message is created, already existed, or is a
        dead letter acknowledged by Kafka.

        Raises:
            BatchAbandoned: a stop was requested while a server was unreachable.
        """
        docs: list[_Doc] = []
        dead: list[DeadLetter] = []
        for record in records:
            prepared = self.prepare(record)
            if isinstance(prepared, DeadLetter):
                dead.append(prepared)
            else:
                docs.append(prepared)
        if dead:
            for letter in dead:
                log.debug("dead letter from %s@%d: %s", letter.source, letter.position, letter.reason)
            deliver(self.dead_sink, dead, self.kafka_outage)
            self.stats.dead_lettered += len(dead)
        if docs:
            self.index_batch(docs)

    def index_batch(self, docs: list[_Doc]) -> None:
        """Returns when every doc is created, already existed, or was dead-lettered (and acked).

        Raises:
            BatchAbandoned: a stop was requested while Elasticsearch was unreachable.
            ServerError: Elasticsearch refused the request itself (authentication, permissions).
        """
        pending = docs
        while pending:
            retry: list[_Doc] = []
            refused: list[tuple[_Doc, int, str]] = []
            rejected: list[tuple[_Doc, str]] = []
            for d, status, reason in self._bulk(pending):
                if status == 201:
                    self.stats.created += 1
                    self.stats.per_index[d.index] = self.stats.per_index.get(d.index, 0) + 1
                elif status in (200, 409):  # there already (an alert: replaced by this version)
                    self.stats.existing += 1
                elif status in RETRYABLE_STATUS:
                    retry.append(d)
                elif status in REFUSED_STATUS:
                    refused.append((d, status, reason))
                else:
                    rejected.append((d, reason))
            if rejected:
                self._dead_letter(rejected)
            pending = retry + [d for d, _, _ in refused]
            if not refused:
                self.es_refusal.accepted()
            if refused:
                _, status, reason = refused[0]
                what = "refused the credentials" if status == 401 else "permission missing"
                detail = reason.removeprefix(f"Elasticsearch rejected ({status}) ")
                self._refused(f"Elasticsearch at {bare_url(self.cfg)}: {what} ({status}) for "
                              f"{len(refused)} document(s): {detail}", len(pending))
            elif pending:
                self._wait(f"{len(pending)} document(s) refused with 429/5xx")

    def _wait(self, why: str) -> None:
        self.stats.retries += 1
        if self.es_outage.failed(why):
            raise BatchAbandoned(f"Elasticsearch: {why}")

    def _refused(self, line: str, pending: int) -> None:
        """Wait out a refusal (logwarden/refusals.py).

        Raises:
            BatchAbandoned: a stop was requested meanwhile.
            ServerError: a drain (`--once`) was refused.
        """
        self.stats.refused += 1
        if self.es_refusal.refused(line, pending):
            raise BatchAbandoned(f"Elasticsearch refused: {line}")

    def _bulk(self, docs: list[_Doc]) -> list[tuple[_Doc, int, str]]:
        """(doc, status, reason) for each doc, once Elasticsearch answered the request."""
        body = bytearray()
        ingested = _now_iso().encode()
        for d in docs:
            # alerts: a correlation episode's later version replaces the earlier one (same _id)
            op = "index" if self._dataset(d.topic) == "alerts" else "create"
            body += json.dumps({op: {"_index": d.index, "_id": d.id}}).encode() + b"\n"
            body += with_ingested(d.body, ingested) + b"\n"
        while True:
            try:
                resp = self.es.bulk(operations=bytes(body),  # type: ignore[arg-type]  # raw NDJSON is accepted
                                    filter_path="errors,items.*.status,items.*.error.type,items.*.error.reason")
            except ConnectionTimeout as exc:
                if len(docs) >= 2 * SLOW_SPLIT_FLOOR and _answer_timed_out(exc):
                    self.stats.retries += 1
                    log.warning("Elasticsearch at %s did not answer a bulk request of %d documents within %ss; "
                                "sending it again in halves", redact_credentials(self.cfg.elasticsearch), len(docs),
                                self.cfg.es_timeout)
                    half = len(docs) // 2
                    return self._bulk(docs[:half]) + self._bulk(docs[half:])
                self._wait(f"unreachable: {exc}")
                continue
            except ConnectionError as exc:
                certificate = describe(exc, self.cfg)  # not trusted (any other TLS failure is an outage)
                if certificate:
                    self._refused(certificate, len(docs))
                else:
                    self._wait(f"unreachable: {exc}")
                continue
            except ApiError as exc:
                if exc.meta.status in RETRYABLE_STATUS:
                    self._wait(f"bulk refused with {exc.meta.status}")
                    continue
                if exc.meta.status in REFUSED_STATUS:
                    self._refused(describe(exc, self.cfg) or f"Elasticsearch refused the bulk request "
                                                             f"({exc.meta.status})", len(docs))
                    continue
                if exc.meta.status in SPLIT_STATUS:
                    self.es_outage.succeeded()
                    if len(docs) == 1:
                        return [(docs[0], exc.meta.status, f"Elasticsearch refused the request ({exc.meta.status}): "
                                                           f"{' '.join(str(exc).split())[:500]}")]
                    half = len(docs) // 2
                    return self._bulk(docs[:half]) + self._bulk(docs[half:])
                raise ServerError(f"Elasticsearch refused the bulk request ({exc.meta.status}): {exc}") from exc
            except TransportError as exc:
                self._wait(f"transport error: {exc}")
                continue
            self.es_outage.succeeded()
            out = []
            for d, item in zip(docs, resp.get("items", []), strict=True):
                result = item.get("create") or item.get("index") or {}
                status = int(result.get("status", 0))
                err = result.get("error") or {}
                out.append((d, status, f"Elasticsearch rejected ({status}) {err.get('type')}: {err.get('reason')}"))
            return out

    def _dead_letter(self, rejected: list[tuple[_Doc, str]]) -> None:
        letters = []
        for d, reason in rejected:
            if d.topic == self.dl_topic:
                # a dead letter Elasticsearch refuses: keep it on disk rather than loop forever
                # (OutputError, exit 2, when it cannot be written: the batch stays uncommitted)
                path = self.cfg.state_path / REJECTED_DEADLETTERS
                append_line(path, json.dumps({"reason": reason, "value": d.value.decode("utf-8", "replace")}).encode()
                            + b"\n")
                log.warning("dead letter refused by Elasticsearch, kept in %s: %s", path, reason)
            else:
                letters.append(DeadLetter(f"kafka:{d.topic}/{d.partition}", d.value, reason,
                                          self._dataset(d.topic), position=d.offset))
        if letters:
            deliver(self.dead_sink, letters, self.kafka_outage)
        self.stats.dead_lettered += len(rejected)


def _answer_timed_out(exc: ConnectionTimeout) -> bool:
    """Whether the connection was made and the answer is what did not come in time (urllib3's
    read timeout, found among the client's causes), as opposed to a connection that could not be
    made in time."""
    causes: list[BaseException] = [*exc.errors]
    current: BaseException | None = exc
    while current is not None and len(causes) < 20:  # the client's chain is 2-3 long; never loop
        causes.append(current)
        current = current.__cause__ or current.__context__
    return any(isinstance(cause, ReadTimeoutError) for cause in causes)


def topics(cfg: Config) -> list[str]:
    return [cfg.topic(d) for d in (*DATASETS, DEADLETTER)]


def run_indexer(cfg: Config, once: bool = False, group_id: str | None = None,
                max_messages: int | None = None, stop: StopFlag | None = None,
                kafka_options: dict[str, Any] | None = None) -> IndexStats:
    """Run the indexer until SIGTERM/SIGINT or `stop` (with `once`: until the topics are drained).

    `kafka_options` go to the consumer and the dead-letter producer (tests route them through a
    proxy they can cut).

    Returns:
        The counters (also logged).
    Raises:
        ServerError: with `once`, Kafka or Elasticsearch unreachable for ONCE_PATIENCE seconds;
            or Elasticsearch refusing the requests themselves.
    """
    from logwarden.consume import BOOTSTRAP_TIMEOUT_MS, ONCE_PATIENCE
    from logwarden.es_io import client
    from logwarden.kafka_io import KafkaSink, ensure_topics, make_consumer

    stop = stop or StopFlag()
    options = {"bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS, **(kafka_options or {})}
    patience = ONCE_PATIENCE if once else None
    indexer_stats = IndexStats()
    with stop.on_signals():
        startup = Outage(f"Kafka at {cfg.kafka}", stop, log, patience)
        if retry_kafka(lambda: ensure_topics(cfg, bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS), startup) is None:
            return indexer_stats
        group = group_id or cfg.group("indexer")
        with consumer_and_producer(
                lambda: make_consumer(cfg, topics(cfg), group, **options),
                lambda: KafkaSink(cfg, client_id="logwarden-indexer", max_block_ms=SINK_MAX_BLOCK_MS, **options),
                startup) as clients:
            if clients is None:
                return indexer_stats
            consumer, sink = clients
            indexer = Indexer(cfg, client(cfg), sink, stop, patience)
            indexer.stats.kafka_retries = startup.retries
            ConsumeLoop(consumer, indexer, stop, cfg.kafka, log).run(once=once, max_messages=max_messages)
            if once:
                indexer.es.indices.refresh(index=f"{cfg.index_prefix}*")
        stats = indexer.stats
        log.info("indexer stopped: consumed %d, created %d, already indexed %d, dead letters %d, "
                 "Elasticsearch retries %d, Kafka retries %d, left uncommitted %d", stats.consumed, stats.created,
                 stats.existing, stats.dead_lettered, stats.retries, stats.kafka_retries, stats.uncommitted)
        return stats

