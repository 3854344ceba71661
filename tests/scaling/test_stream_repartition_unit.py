"""The repartition path of `stream` without servers: correlation families and their keys, and
the per-partition state fed the router's records as Kafka would deliver them to N members
(each key's records in one partition, in production order), with every record delivered twice
and the state saved, dropped and reloaded mid-way (a partition moving to another member) —
the alert ids stay hunt's."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import pytest

from logwarden.detection.alerts import alert_for_fired, alert_for_match, doc_host, doc_time
from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector, run_batch
from logwarden.detection.evaluate import flatten
from logwarden.detection.repartition import KEY_SEP, Router, families, parse
from logwarden.detection.stream_state import PartitionStates
from logwarden.shippers.base import Event

from .stream_events import incident_events

TOPIC = "lw.stream-repartition"


class _Msg:
    def __init__(self, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = TOPIC, partition, offset


def _records(detector: Detector, router: Router, events: list[Event], partitions: int) -> tuple[
        list[list[dict[str, Any]]], set[str]]:
    """The records each repartition partition receives (in production order) and the ids of the
    single-event alerts."""
    parts: list[list[dict[str, Any]]] = [[] for _ in range(partitions)]
    singles: set[str] = set()
    for offset, ev in enumerate(events):
        flat = flatten(ev.doc)
        matched = detector.match(flat)
        singles.update(alert_for_match(r, flat, ev.id)["event"]["id"] for r in matched if r.generate)
        origin = {"topic": "lw.windows", "partition": zlib.crc32(ev.key.encode()) % 3, "offset": offset}
        hits = [r.id for r in matched if router.interested(r.id)]
        for rec in router.records("lw.windows", hits, flat, ev.id, doc_time(flat), doc_host(flat), origin):
            parts[zlib.crc32(rec.key.encode()) % partitions].append(rec.doc)
    return parts, singles


def test_chained_correlations_form_one_family_keyed_by_their_group() -> None:
    ruleset = load_ruleset(None)
    by_name = {c.name: c.id for c in ruleset.correlations}
    fams = {f.name: f for f in families(ruleset.correlations)}
    chain = next(f for f in fams.values() if by_name["lw_corr_bruteforce"] in {c.id for c in f.correlations})
    assert {c.id for c in chain.correlations} == {by_name["lw_corr_bruteforce"], by_name["lw_corr_bruteforce_success"]}
    assert chain.keyed
    assert all(f.keyed for f in fams.values())
    assert len(fams) == len(ruleset.correlations) - 1  # one chain of two, the rest alone

    router = Router(ruleset.correlations)
    failed = incident_events()[0]
    flat = flatten(failed.doc)
    rules = [r.id for r in Detector(ruleset).match(flat) if router.interested(r.id)]
    recs = router.records("lw.windows", rules, flat, failed.id, 0.0, "h", {"topic": "lw.windows", "partition": 0,
                                                                           "offset": 7})
    assert recs and all(r.key.endswith(KEY_SEP + failed.doc["source"]["ip"]) for r in recs)
    assert [r.doc["seq"] for r in recs] == list(range(len(recs)))
    assert "winlog" not in recs[0].doc["fields"]  # the hit's fields, not the event
    assert parse(recs[0].doc) is not None and parse({"family": "x"}) is None


@pytest.mark.parametrize("partitions", [1, 2, 3])
def test_partition_states_fed_twice_and_moved_give_hunt_alert_ids(tmp_path: Path, partitions: int) -> None:
    ruleset = load_ruleset(None)
    events = incident_events()
    expected = {a["event"]["id"] for a in run_batch(Detector(ruleset), [(e.id, e.doc) for e in events])}
    router = Router(ruleset.correlations)
    parts, got = _records(Detector(ruleset), router, events, partitions)
    fams = families(ruleset.correlations)

    states = PartitionStates(tmp_path / "state", TOPIC, fams)
    skipped = 0
    for p, docs in enumerate(parts):
        delivered = docs[: len(docs) // 2] * 2 + docs[len(docs) // 2:]  # the first half delivered twice
        half = len(delivered) // 2
        for offset, doc in enumerate(delivered):
            if offset == half:  # the partition moves: saved, revoked, assigned to a new member
                states.save(states.advance([_Msg(p, offset - 1)]))
                skipped += states.duplicates
                states = PartitionStates(tmp_path / "state", TOPIC, fams)
                assert states._load(p).offset == offset
            record = parse(doc)
            assert record is not None
            for fired in states.feed(p, record):
                got.add(alert_for_fired(fired)["event"]["id"])
    skipped += states.duplicates
    assert skipped == sum(len(docs) // 2 for docs in parts)  # every second copy, and only those
    assert got == expected, f"missing {len(expected - got)}, extra {len(got - expected)}"
