"""The indexer and an Elasticsearch too busy to answer a large bulk request within `es_timeout`
(no servers: a scripted Elasticsearch that, like the real one, still carries out a request whose
answer the client stopped waiting for).

Before: a read timeout was "unreachable", the same request was sent again and timed out again,
and `index --once` (60 s of patience) exited 3 after the second 60 s timeout; seen in
tests/pipeline/test_end_to_end_servers.py at load 14-15. Now the request is sent again in halves;
only a timeout of a small request, or a connection that cannot be made, is an outage."""

from __future__ import annotations

import json
import logging
from collections import namedtuple
from typing import Any

import pytest
from elasticsearch import ConnectionTimeout
from urllib3 import HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError

from logwarden.config import Config
from logwarden.consume import ONCE_PATIENCE
from logwarden.errors import ServerError
from logwarden.pipelines.indexer import SLOW_SPLIT_FLOOR, Indexer
from tests.services.test_indexer_unit import ListSink

Record = namedtuple("Record", "topic partition offset value headers")
CFG = Config(topic_prefix="lw.", index_prefix="logwarden-", elasticsearch="https://127.0.0.1:19200")
DOC = {"@timestamp": "2020-04-14T00:22:00.000Z", "event": {"code": "4625"}}
OUTAGE = "unreachable ("
POOL = HTTPSConnectionPool("127.0.0.1", 19200)  # named in the timeout errors, never connected


def _read_timeout() -> ConnectionTimeout:
    """What the Elasticsearch client raises: urllib3's read timeout as the cause, `errors` empty."""
    timeout = ConnectionTimeout("Connection timed out during request")
    timeout.__cause__ = ReadTimeoutError(POOL, "/_bulk", "Read timed out. (read timeout=60)")
    return timeout


class BusyES:
    """Answers a bulk request of at most `answers_up_to` documents; a larger one is carried out
    (its documents created) but its answer never comes: the client's read timeout."""

    def __init__(self, answers_up_to: int, timeout: ConnectionTimeout | None = None) -> None:
        self.answers_up_to = answers_up_to
        self.timeout = timeout or _read_timeout()
        self.stored: set[str] = set()
        self.request_sizes: list[int] = []

    def bulk(self, operations: bytes, filter_path: str) -> dict:
        lines = operations.decode().splitlines()
        ids = [json.loads(action)["create"]["_id"] for action in lines[::2]]
        self.request_sizes.append(len(ids))
        statuses = [409 if doc_id in self.stored else 201 for doc_id in ids]
        self.stored.update(ids)
        if len(ids) > self.answers_up_to:
            raise self.timeout
        return {"items": [{"create": {"status": status}} for status in statuses]}


def _indexer(es: Any, patience: float) -> Indexer:
    return Indexer(CFG, es, ListSink(), patience=patience)


def _records(n: int) -> list[Record]:
    return [Record("lw.windows", 0, i, json.dumps({**DOC, "n": i}).encode(), [("id", f"d{i}".encode())])
            for i in range(n)]


def test_a_bulk_request_answered_too_late_is_sent_again_in_halves(caplog: pytest.LogCaptureFixture) -> None:
    n = 5000
    es = BusyES(answers_up_to=1500)
    indexer = _indexer(es, ONCE_PATIENCE)  # as `index --once`
    with caplog.at_level(logging.INFO, logger="logwarden.pipelines.indexer"):
        indexer.handle(_records(n))
    assert es.stored == {f"d{i}" for i in range(n)}
    # the timed-out requests created their documents: the halves find them there, none twice
    assert indexer.stats.created + indexer.stats.existing == n and indexer.stats.dead_lettered == 0
    assert indexer.stats.existing == n  # 5000 and 2500 timed out, and ES had created every one
    assert es.request_sizes == [5000, 2500, 1250, 1250, 2500, 1250, 1250]
    assert indexer.stats.retries == 3
    assert indexer.es_outage.outages == 0 and OUTAGE not in caplog.text  # busy is not away
    assert caplog.text.count("did not answer a bulk request of") == 3
    assert "bulk request of 5000 documents within 60s; sending it again in halves" in caplog.text


def test_a_small_request_answered_too_late_is_an_outage() -> None:
    """Halving stops at SLOW_SPLIT_FLOOR: a server that cannot answer that few documents in time
    is not working, and `index --once` gives up after its patience (exit 3)."""
    es = BusyES(answers_up_to=0)
    indexer = _indexer(es, 0.0)
    with pytest.raises(ServerError, match="unreachable for"):
        indexer.handle(_records(4 * SLOW_SPLIT_FLOOR))
    assert es.request_sizes[:3] == [4 * SLOW_SPLIT_FLOOR, 2 * SLOW_SPLIT_FLOOR, SLOW_SPLIT_FLOOR]
    assert set(es.request_sizes[3:]) == {SLOW_SPLIT_FLOOR}  # the same smallest request, retried
    assert indexer.es_outage.outages == 1


def test_a_connection_not_made_in_time_is_an_outage_at_once() -> None:
    """A connect timeout (nothing answers at that address) is no busy server: no halving."""
    timeout = ConnectionTimeout("Connection timed out during request")
    timeout.__cause__ = ConnectTimeoutError(None, "timed out (connect timeout=60)")
    es = BusyES(answers_up_to=0, timeout=timeout)
    indexer = _indexer(es, 0.0)
    with pytest.raises(ServerError, match="unreachable for"):
        indexer.handle(_records(5000))
    assert set(es.request_sizes) == {5000}
