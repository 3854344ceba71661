"""The indexer's checks on what goes into a _bulk body, and its split of a refused request (no
servers: a scripted Elasticsearch)."""

from __future__ import annotations

import json
from collections import namedtuple
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from logwarden.config import Config
from logwarden.pipelines.indexer import Indexer, _Doc
from logwarden.shippers.base import DeadLetter

Record = namedtuple("Record", "topic partition offset value headers")
CFG = Config(topic_prefix="lw.", index_prefix="logwarden-")
DOC = {"@timestamp": "2020-04-14T00:22:00.000Z", "event": {"code": "4625"}}


def _record(value: bytes | None, headers: list[tuple[str, bytes]] | None = None, offset: int = 7) -> Record:
    return Record("lw.windows", 1, offset, value, [("id", b"abc")] if headers is None else headers)


class ListSink:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, item: Any) -> None:
        self.sent.append(item)

    def flush(self) -> None:
        pass


def _indexer(es: Any = None) -> Indexer:
    return Indexer(CFG, es, ListSink())


def test_a_compact_object_goes_through_as_it_came() -> None:
    value = json.dumps(DOC, separators=(",", ":")).encode()
    got = _indexer().prepare(_record(value))
    assert isinstance(got, _Doc)
    assert (got.index, got.id, got.body) == ("logwarden-windows-2020.04.14", "abc", value)


@pytest.mark.parametrize("value", [
    json.dumps(DOC, indent=2).encode(),
    json.dumps(DOC).replace(", ", ",\r\n").encode(),
])
def test_an_object_over_several_lines_is_put_on_one(value: bytes) -> None:
    got = _indexer().prepare(_record(value))
    assert isinstance(got, _Doc)
    assert b"\n" not in got.body and b"\r" not in got.body and json.loads(got.body) == DOC


@pytest.mark.parametrize(("value", "headers", "reason"), [
    (b"", None, "empty Kafka message"),
    (json.dumps(DOC).encode() + b'\n{"delete":{"_index":"x","_id":"y"}}', None, "Extra data"),
    (json.dumps(DOC).encode() + b' {"delete":{}}', None, "Extra data"),
    (json.dumps(DOC).encode("utf-16"), None, "not JSON"),
    (b"[" * 100_000 + b"]" * 100_000, None, "nested too deeply"),
    (b"[1, 2]", None, "not a JSON object"),
    (json.dumps(DOC).encode(), [("id", b"x" * 513)], "id of 513 bytes"),
    (json.dumps(DOC).encode(), [("id", b"")], "empty id"),
    (json.dumps(DOC).encode(), [("id", b"\xff\xfe")], "not UTF-8"),
    (json.dumps(DOC).encode(), [("id", b"a\nb")], "control characters"),
    (json.dumps({**DOC, "@timestamp": "2020-13-45T00:00:00Z"}).encode(), None, "@timestamp"),
    (json.dumps({**DOC, "@timestamp": 1586823720}).encode(), None, "@timestamp"),
    (json.dumps({"event": {"id": "y" * 600}, "@timestamp": DOC["@timestamp"]}).encode(), [], "bad event.id"),
])
def test_what_cannot_go_into_the_body_is_a_dead_letter(value: bytes, headers: Any, reason: str) -> None:
    got = _indexer().prepare(_record(value, headers))
    assert isinstance(got, DeadLetter)
    assert reason in got.reason
    assert (got.source, got.position, got.raw) == ("kafka:lw.windows/1", 7, value)


def test_dead_letters_of_equal_bytes_at_other_offsets_have_other_ids() -> None:
    ids = {_indexer().prepare(_record(b"{not json", offset=o)).id for o in range(5)}  # type: ignore[union-attr]
    assert len(ids) == 5


def test_without_any_id_the_same_bytes_get_the_same_id() -> None:
    value = json.dumps(DOC).encode()
    first, second = (_indexer().prepare(_record(value, [], offset=o)) for o in (1, 2))
    assert isinstance(first, _Doc) and isinstance(second, _Doc) and first.id == second.id


class RefusingES:
    """Refuses a whole request (400) whenever it holds the poison document."""

    def __init__(self) -> None:
        self.requests = 0

    def bulk(self, operations: bytes, filter_path: str) -> dict:
        self.requests += 1
        lines = operations.decode().splitlines()
        if any('"poison"' in line for line in lines[1::2]):
            meta = ApiResponseMeta(400, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
            raise ApiError("illegal_argument_exception", meta=meta, body={})
        return {"items": [{"create": {"status": 201}} for _ in lines[::2]]}


def test_a_refused_request_is_split_until_the_bad_document_is_alone() -> None:
    es = RefusingES()
    indexer = _indexer(es)
    records = [_record(json.dumps({**DOC, "n": i}).encode(), [("id", f"d{i}".encode())], offset=i) for i in range(16)]
    records[11] = _record(json.dumps({**DOC, "poison": True}).encode(), [("id", b"bad")], offset=11)
    indexer.handle(records)
    assert indexer.stats.created == 15 and indexer.stats.dead_lettered == 1
    [letter] = indexer.dead_sink.sent
    assert letter.position == 11 and "refused the request (400)" in letter.reason
    assert es.requests <= 2 * 4 + 1  # halving: a few requests per level, not one per document


@pytest.mark.parametrize("received", ["2026-12-04T23:59:59.000+00:00", "2026-12-05T00:00:01.000+00:00"])
def test_a_dead_letter_goes_to_one_index_whatever_day_it_was_received(received: str) -> None:
    """A dead letter is dated when it was received: shipped again the next day, a daily index
    would take it a second time (found by a CI run across midnight UTC); one index keeps it once."""
    from logwarden.kafka_io import deadletter_value

    item = DeadLetter("C:/logs/a.evtx", b"\x00corrupt", "EVTX chunk checksum", "windows", 4096, received=received)
    for value in (deadletter_value(item), json.dumps(json.loads(deadletter_value(item)), indent=1).encode()):
        got = _indexer().prepare(Record("lw.deadletter", 0, 3, value, [("id", item.id.encode())]))
        assert isinstance(got, _Doc)
        assert (got.index, got.id) == ("logwarden-deadletter-all", item.id)
