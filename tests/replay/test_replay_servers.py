"""The replay on the real path (real Kafka and Elasticsearch, own namespace): every INCIDENT.md
row's rules fire in `detect` on Elasticsearch from events that went shipper -> Kafka -> indexer,
the background raises none; a second replay indexes nothing new; `lab replay` and `lab demo`."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from logwarden.config import Config
from logwarden.detection.alerts import verdict
from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector
from logwarden.detection.es import EsDetector
from logwarden.es_io import client
from logwarden.replay import engines, path, run
from logwarden.replay.model import ROWS
from tests.support.cli import cli

pytestmark = pytest.mark.servers
START, END = datetime(2020, 4, 13, tzinfo=UTC), datetime(2020, 4, 15, tzinfo=UTC)


def test_every_row_is_detected_on_elasticsearch_and_the_background_is_quiet(ns: Config, tmp_path: Path) -> None:
    done = run.replay(ns, tmp_path / "replay", seed=5)
    assert done.produced == done.records == done.indexed
    es = client(ns)
    es.indices.refresh(index=f"{ns.index_prefix}*")
    stored = es.count(index=",".join(ns.index_pattern(d) for d in ("windows", "firewall", "av")))["count"]
    assert stored == done.records
    runner = EsDetector(ns, es, Detector(load_ruleset(None)))
    alerts = runner.run_once(START, END)
    runner.write(alerts)
    entries, background, foreign = run.timeline(alerts, path.event_rows(done.files))
    assert (background, foreign) == (0, 0)
    for row in ROWS:
        assert set(row.rules) <= {e.rule for e in entries if e.row == row.key}, row.key
    es.indices.refresh(index=ns.index_pattern("alerts"))
    assert es.count(index=ns.index_pattern("alerts"))["count"] == len(alerts)
    # the stream engine over the same topics (the demo's line): the same alerts, ids included (the
    # correlation hits of a source spraying several hosts, read out of time order, are put back in
    # order by stream's reorder buffer: docs/scaling.md)
    streamed = engines.stream_alerts(ns, load_ruleset(None))
    assert streamed.consumed == done.records
    assert _single(streamed.alerts) == _single(alerts) and len(_single(alerts)) > 100
    assert _correlated(streamed.alerts) == _correlated(alerts) and _correlated(alerts)
    line = engines.agreement(alerts, streamed, set(path.event_rows(done.files)))
    assert line.startswith("stream --once over the replayed topics: ") and f"from {done.records} messages" in line
    assert line.endswith(", the same as detect's (rule, alert id, group)"), line
    again = run.replay(ns, tmp_path / "replay", seed=5)  # same seed: same ids, nothing new
    assert (again.indexed, again.already_indexed) == (0, done.records)


def _single(alerts: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {verdict(a) for a in alerts if a["sigma"]["type"] == "rule"}


def _correlated(alerts: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {(rule, group) for rule, _, group in (verdict(a) for a in alerts if a["sigma"]["type"] != "rule")}


def test_lab_replay_and_demo_commands(ns: Config, tmp_path: Path) -> None:
    usage = cli(ns, "lab", "replay")
    assert usage.returncode == 2 and "phobos" in usage.stderr
    replayed = cli(ns, "lab", "replay", "phobos", "--seed", "2", "--out", str(tmp_path / "r"), "--json")
    assert replayed.returncode == 0, replayed.stderr
    counts = json.loads(replayed.stdout)
    assert counts["produced"] == counts["records"] > 900
    home = copy.copy(ns)
    home.home = str(tmp_path / "home")
    demo = cli(home, "lab", "demo", "--external")
    assert demo.returncode == 0, demo.stderr
    out = demo.stdout
    for row in ROWS:
        assert f"{row.when} - {row.what}" in out
    positions = [out.index(f"{row.when} - {row.what}") for row in ROWS]
    assert positions == sorted(positions)
    assert "NOT DETECTED" not in out
    assert "stream --once over the replayed topics: " in out  # the stream engine's line
    assert "WIN-TAX-PROD  user=Administrator  source=185.220.101.47" in out
    report = tmp_path / "home" / "replay" / "report.html"
    assert f"HTML report: {report}" in out and report.stat().st_size > 10_000
    assert (tmp_path / "home" / "replay" / "kibana-dashboards.ndjson").read_text().count("\n") > 5
    assert (tmp_path / "home" / "replay" / "kibana-rules.ndjson").read_text().count("\n") > 5
