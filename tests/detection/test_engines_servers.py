"""All rule cases through the real path, then the three engines compared (decision 7).

events -> Kafka (own topics) -> stream engine (alerts to Kafka) ; -> indexer -> Elasticsearch
-> es engine ; and the same events through hunt. Every case (and its mixed-case twin) must get
its expected verdict in every engine, and the three engines must return the same alerts.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from logwarden.detection.alerts import verdict
from logwarden.detection.cases import Case, load_cases
from logwarden.detection.engine import Detector, run_batch
from logwarden.shippers.base import Event, event_id
from tests.support.cases import mixed_case

pytestmark = pytest.mark.servers

CASES = [c for c in load_cases() if not c.building_block]


def _shift(doc: dict[str, Any], hours: int) -> dict[str, Any]:
    ts = datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00")) + timedelta(hours=hours)
    doc["@timestamp"] = ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return doc


def _dataset(doc: dict[str, Any]) -> str:
    return "windows" if "winlog" in doc else str(doc["logwarden"]["family"]).lower()


def build_events() -> tuple[list[tuple[str, dict[str, Any]]], dict[str, tuple[Case, set[str]]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    owner: dict[str, tuple[Case, set[str]]] = {}
    for k, case in enumerate(CASES):
        for variant in ("plain", "mixed"):
            hours = 2 * k + (variant == "mixed")  # correlation windows are <= 30 min: cases never meet
            ids = set()
            for eid, doc in case.events:
                d = _shift(mixed_case(doc) if variant == "mixed" else dict(doc), hours)
                new = eid if variant == "plain" else event_id("mixed", eid)
                d["event"] = {**d["event"], "id": new}
                events.append((new, d))
                ids.add(new)
            owner[f"{case.name}-{variant}"] = (case, ids)
    events.sort(key=lambda e: (e[1]["@timestamp"], e[0]))
    return events, owner


class RecordingSink:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.alerts: list[dict[str, Any]] = []

    def send(self, item: Event) -> None:
        self.alerts.append(item.doc)
        self.inner.send(item)

    def flush(self) -> None:
        self.inner.flush()


@pytest.fixture(scope="module")
def served(lab, ruleset):
    from logwarden.detection.es import EsDetector
    from logwarden.detection.stream import SOURCES, StreamRunner
    from logwarden.es_io import client, templates
    from logwarden.kafka_io import KafkaSink, ensure_topics, make_consumer
    from logwarden.pipelines.indexer import run_indexer

    tag = f"lwdet{uuid.uuid4().hex[:8]}"
    cfg = dataclasses.replace(lab.cfg, topic_prefix=f"{tag}.", index_prefix=f"{tag}-")
    es = client(cfg)
    body = templates()["logwarden"]
    es.indices.put_index_template(name=tag, index_patterns=[f"{tag}-*"], priority=500, template=body["template"])
    ensure_topics(cfg, partitions=1)  # one partition: correlations across hosts see one order
    events, owner = build_events()
    sink = KafkaSink(cfg)
    for eid, doc in events:
        sink.send(Event(eid, _dataset(doc), str((doc.get("host") or {}).get("name") or ""), doc))
    sink.close()

    consumer = make_consumer(cfg, [cfg.topic(d) for d in SOURCES], f"{tag}-stream")
    rec = RecordingSink(KafkaSink(cfg))
    try:
        StreamRunner(cfg, Detector(ruleset), consumer, rec).run(once=True)
    finally:
        consumer.close()
        rec.inner.close()
    run_indexer(cfg, once=True, group_id=f"{tag}-indexer")
    runner = EsDetector(cfg, es, Detector(ruleset))
    es_alerts = runner.run_once(None, None)
    runner.write(es_alerts)  # the stream engine's alerts (same ids) may already be indexed
    first = (runner.stats.created, runner.stats.existing)
    runner = EsDetector(cfg, es, Detector(ruleset))  # detection run again (a new process, no state)
    runner.write(runner.run_once(None, None))
    hunt_alerts = run_batch(Detector(ruleset), events)
    yield {
        "owner": owner, "stream": rec.alerts, "es": es_alerts, "hunt": hunt_alerts, "runner": runner,
        "first": first, "es_client": es, "tag": tag,
    }
    if os.environ.get("LOGWARDEN_KEEP_TEST_INDICES"):
        return
    names = list(es.indices.get(index=f"{tag}-*", allow_no_indices=True, ignore_unavailable=True))
    if names:
        es.indices.delete(index=",".join(names))
    es.indices.delete_index_template(name=tag)


def _fired(alerts: list[dict[str, Any]], case: Case, ids: set[str]) -> bool:
    return any(a["rule"]["id"] == case.rule_id and ids & set(a["sigma"]["events"]) for a in alerts)


@pytest.mark.parametrize("engine", ["hunt", "stream", "es"])
def test_cases_in_engine(served, engine: str) -> None:
    wrong = [name for name, (case, ids) in served["owner"].items()
             if _fired(served[engine], case, ids) is not case.expect]
    assert wrong == [], f"{engine}: wrong verdicts: {wrong}"


def test_engines_agree(served) -> None:
    hunt = sorted(verdict(a) for a in served["hunt"])
    assert len(set(hunt)) == len(hunt)  # hunt: one alert per id (a correlation episode's last version)
    # stream reports every version of an episode under the episode's id: one verdict per id
    assert sorted(set(verdict(a) for a in served["stream"])) == hunt
    assert sorted(verdict(a) for a in served["es"]) == hunt


def test_es_exact_rules_lose_nothing_in_confirmation(served) -> None:
    runner = served["runner"]
    # dropped hits only come from rules whose query had to be widened
    assert runner.stats.dropped == 0 or runner.stats.inexact_rules


def test_es_alerts_written_once(served) -> None:
    runner = served["runner"]
    assert sum(served["first"]) == len(served["es"])
    assert runner.stats.created == 0  # the second pass created nothing
    assert runner.stats.existing == len(served["es"])
