"""The indexer reconciles: every message of the event topics becomes a document in its dataset's
index or a dead letter, whatever the value holds. A seeded mix of good events (the shippers' own
encoding of parsed corpus lines) and bad values (truncated, random bytes, invalid UTF-8, a JSON
array, a second JSON value after a newline, 3,000 levels deep, values Elasticsearch's mapping
refuses, an id header of 600 bytes or none, empty, 3 MB) is produced to the real Kafka;
`index --once` runs until it consumes nothing more (its own dead letters are indexed too), and
Elasticsearch must hold messages = events + dead letters (+ dead letters Elasticsearch itself
refused, kept on disk)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from logwarden.config import Config
from logwarden.es_io import client
from logwarden.kafka_io import encode
from logwarden.shippers import autodetect
from logwarden.shippers.base import Event
from tests.services.helpers import produce_raw
from tests.support.cli import cli
from tests.support.namespaces import count

from . import corpus

pytestmark = pytest.mark.servers

MESSAGES = 600


def good_events(seed: int) -> list[Event]:
    items = [autodetect.parse_line(raw, f"corpus-{seed}", i) for i, raw in
             enumerate(corpus.text_records(seed, MESSAGES * 3, long_line=0))]
    return [item for item in items if isinstance(item, Event)]


def bad_value(rng: random.Random, event: Event) -> tuple[bytes, list[tuple[str, bytes]]]:
    """A broken version of `event`'s message: (value, headers)."""
    value = encode(event.doc)
    header = [("id", event.id.encode())]
    kind = rng.randrange(12)
    if kind == 0:
        return value[: rng.randrange(1, len(value))], header
    if kind == 1:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))), header
    if kind == 2:
        return value.replace(b'"', b'"\xff\xfe', 1), header
    if kind == 3:
        return b"[" + value + b"]", header
    if kind == 4:
        return value + b'\n{"delete":{"_index":"x","_id":"y"}}', header
    if kind == 5:
        return b'{"a":' * 3000 + b"1" + b"}" * 3000, header
    if kind == 6:  # Elasticsearch's mapping refuses these
        doc = json.loads(value) | {"@timestamp": "not a time"}
        return json.dumps(doc).encode(), header
    if kind == 7:
        doc = json.loads(value) | {"source": {"ip": "010.0.0.2", "port": "abc"}}
        return json.dumps(doc).encode(), header
    if kind == 8:
        doc = json.loads(value) | {"event": "a string where an object is mapped"}
        return json.dumps(doc).encode(), header
    if kind == 9:
        return value, [("id", b"i" * 600)]
    if kind == 10:
        return b"", []
    return value[:-1] + b',"pad":"' + b"P" * 3_000_000 + b'"}', header


def test_indexer_messages_in_equal_documents_plus_dead_letters(ns: Config, tmp_path: Path) -> None:
    rng = random.Random(500)
    events = good_events(500)
    assert len(events) >= MESSAGES
    by_topic: dict[str, list[tuple[bytes, list[tuple[str, bytes]]]]] = {}
    good = 0
    for event in events[:MESSAGES]:
        if rng.random() < 0.6:
            message = (encode(event.doc), [("id", event.id.encode())])
            good += 1
        else:
            message = bad_value(rng, event)
        by_topic.setdefault(ns.topic(event.dataset), []).append(message)
    for topic, messages in by_topic.items():
        produce_raw(ns, topic, messages)

    consumed = dead_lettered = 0
    for _ in range(5):  # the dead letters of one run are indexed by the next
        run = cli(ns, "index", "--once", "--json")
        assert run.returncode == 0, run.stderr[-3000:]
        stats = json.loads(run.stdout.strip().splitlines()[-1])
        consumed += stats["consumed"]
        dead_lettered += stats["dead_lettered"]
        if stats["consumed"] == 0:
            break
    es = client(ns)
    letters = count(es, ns, "deadletter")
    documents = count(es, ns) - letters
    on_disk = Path(ns.state) / "rejected-deadletters.jsonl"
    kept = len(on_disk.read_bytes().splitlines()) if on_disk.exists() else 0
    assert consumed == MESSAGES + dead_lettered  # every message once, then its dead letter once
    assert documents + letters + kept == MESSAGES, (documents, letters, kept)
    assert documents >= good and letters + kept == dead_lettered > 0
