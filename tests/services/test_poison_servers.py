"""Hostile and broken Kafka messages against the indexer and the stream detector, on the real
servers: each becomes a dead letter (or a counted skip in `stream`), everything else is indexed,
and nothing crashes, loops, or reaches Elasticsearch as a bulk instruction."""

from __future__ import annotations

import base64
import json

import pytest

from logwarden.es_io import client
from logwarden.pipelines.indexer import run_indexer
from tests.support.cli import cli
from tests.support.es_reads import while_shards_start
from tests.support.namespaces import count

from .helpers import event, produce, produce_raw

pytestmark = pytest.mark.servers

EIGHT_MB = 8 * 1024 * 1024
DEEP = 100_000


def _dead_letters(es, cfg) -> list[dict]:
    index = f"{cfg.index_prefix}deadletter-*"
    while_shards_start(es.indices.refresh, index=index, ignore_unavailable=True, allow_no_indices=True)
    hits = while_shards_start(es.search, index=index, size=100, ignore_unavailable=True,
                              allow_no_indices=True)["hits"]["hits"]
    return [h["_source"] for h in hits]


def _poison(cfg) -> list[tuple[bytes, list[tuple[str, bytes]]]]:
    """The four poison messages of issue 14, in the windows topic."""
    valid = event(900).doc | {"event": {"code": "4625", "kind": "event"}}
    return [
        (json.dumps(event(901).doc).encode(), [("id", b"a" * 600)]),  # id longer than ES's 512 bytes
        (json.dumps(valid, indent=2).encode(), [("id", b"pretty-printed")]),  # one object, many lines
        (bytes(range(256)) * (EIGHT_MB // 256), [("id", b"eight-megabytes")]),  # binary, not UTF-8
        (b"[" * DEEP + b"]" * DEEP, [("id", b"deep")]),  # nested 100,000 levels
    ]


def test_bulk_injection_cannot_touch_other_documents(ns):
    """A value with a newline and a `delete` action after it: before, the line went into the
    _bulk body as it was and Elasticsearch deleted the victim document."""
    victim = event(1)
    produce(ns, [victim])
    assert run_indexer(ns, once=True, group_id="g1").created == 1
    index = f"{ns.index_prefix}windows-2020.04.14"
    compact = {"separators": (",", ":")}  # as the shippers write it
    injected = (json.dumps(event(2).doc, **compact).encode() + b"\n"
                + json.dumps({"delete": {"_index": index, "_id": victim.id}}, **compact).encode())
    produce_raw(ns, ns.topic("windows"), [(injected, [("id", b"injector")])])
    stats = run_indexer(ns, once=True, group_id="g1")
    es = client(ns)
    assert es.exists(index=index, id=victim.id)
    assert count(es, ns, "windows") == 1
    assert stats.dead_lettered == 1 and stats.per_index.get(index) is None
    [letter] = _dead_letters(es, ns)
    assert "not JSON" in letter["event"]["reason"] and "Extra data" in letter["event"]["reason"]
    assert letter["event"]["original"] == injected.decode()  # kept as data, newline and all


def test_poison_messages_become_dead_letters_and_the_rest_is_indexed(ns):
    good = [event(i) for i in range(20)]
    produce(ns, good[:10])
    produce_raw(ns, ns.topic("windows"), _poison(ns))
    produce(ns, good[10:])
    stats = run_indexer(ns, once=True, group_id="g1")
    # the 20 good ones and the pretty-printed one, put on one line; the dead letters produced
    # meanwhile are read and indexed by the same run
    assert stats.per_index == {f"{ns.index_prefix}windows-2020.04.14": 21,
                               next(i for i in stats.per_index if "deadletter" in i): 3}
    assert stats.dead_lettered == 3
    assert stats.consumed == 24 + 3
    es = client(ns)
    assert count(es, ns, "windows") == 21
    pretty = es.get(index=f"{ns.index_prefix}windows-2020.04.14", id="pretty-printed")["_source"]
    assert pretty["winlog"]["event_data"]["TargetUserName"] == "user900"
    letters = {d["log"]["offset"]: d for d in _dead_letters(es, ns)}
    reasons = sorted(d["event"]["reason"] for d in letters.values())
    assert len(letters) == 3
    assert any("id of 600 bytes" in r for r in reasons)
    assert any("nested too deeply" in r for r in reasons)
    [big] = [d for d in letters.values() if "original_base64" in d["event"]]
    kept = base64.b64decode(big["event"]["original_base64"])
    assert 0 < len(kept) <= 1024 * 1024  # fits a default broker's 1 MB limit, base64 or not
    assert kept == (bytes(range(256)) * (EIGHT_MB // 256))[:len(kept)]
    assert f"input of {EIGHT_MB} bytes truncated to its first {len(kept)}" in big["event"]["reason"]
    # a second run has nothing left to do: no crash loop, no re-reading
    again = run_indexer(ns, once=True, group_id="g1")
    assert again.consumed == 0


def test_identical_bad_messages_stay_separate_dead_letters(ns):
    """Five messages with the same bytes at five offsets: five dead letters (before, their ids
    were equal and Elasticsearch kept one)."""
    produce_raw(ns, ns.topic("firewall"), [(b"{not json", [])] * 5)
    stats = run_indexer(ns, once=True, group_id="g1")
    assert stats.dead_lettered == 5
    es = client(ns)
    letters = _dead_letters(es, ns)
    assert len(letters) == 5
    # each names where it was read: topic/partition and offset, five different places
    assert len({(d["logwarden"]["origin"], d["log"]["offset"]) for d in letters}) == 5
    assert {d["logwarden"]["origin"] for d in letters} <= {f"kafka:{ns.topic('firewall')}/0",
                                                    f"kafka:{ns.topic('firewall')}/1"}
    # read again (a new group: a replay from the start), they are recognised, not doubled
    replay = run_indexer(ns, once=True, group_id="g2")
    assert replay.created == 0 and count(es, ns, "deadletter") == 5


def test_stream_skips_poison_messages_and_exits_0(ns):
    """`stream --once` over the same poison: before, the deep value raised RecursionError and
    the command exited 3 blaming Kafka."""
    produce(ns, [event(i) for i in range(5)])
    produce_raw(ns, ns.topic("windows"), _poison(ns))
    run = cli(ns, "stream", "--once", "--json", "--group", "s1", timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    stats = json.loads(run.stdout.strip().splitlines()[-1])
    assert stats["consumed"] == 9
    assert stats["undecodable"] == 2  # the binary value and the deep one
    assert stats["uncommitted"] == 0


def test_broken_json_in_the_producers_own_layout_is_refused_by_elasticsearch_alone(ns):
    """A value that looks like what logwarden's producers write (one line, @timestamp first, an id
    header) skips the indexer's JSON parse; when it is broken after all, Elasticsearch refuses that
    item alone: it becomes a dead letter and its neighbours in the same bulk are indexed."""
    good = [event(10), event(11)]
    produce(ns, [good[0]])
    broken = b'{"@timestamp":"2020-04-14T00:22:00.000Z","event":{"code":"4625"},"x":}'
    produce_raw(ns, ns.topic("windows"), [(broken, [("id", b"broken-own-layout")])])
    produce(ns, [good[1]])
    stats = run_indexer(ns, once=True, group_id=f"{ns.topic_prefix}own-layout")
    es = client(ns)
    assert count(es, ns, "windows") == 2 and stats.per_index[f"{ns.index_prefix}windows-2020.04.14"] == 2
    assert stats.dead_lettered == 1  # (then indexed from the dead-letter topic like any dead letter)
    [letter] = _dead_letters(es, ns)
    assert letter["event"]["original"] == broken.decode()
