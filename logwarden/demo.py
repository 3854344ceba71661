"""The demo (`make demo`, `logwarden lab demo`): the incident replayed end to end and caught.

`run` replays INCIDENT.md (logwarden/replay/) through the shippers, Kafka and the indexer, runs
the Sigma rules on Elasticsearch, on the Kafka topics (`stream --once`, compared with detect in
one line: logwarden/replay/engines.py) and over the generated files, and prints the alerts as a
timeline per INCIDENT.md row, then where the HTML report and the Kibana import files are. Steps
go to stdout for a person; failures are the typed errors of logwarden/errors.py.

`write_events` and `counts` (a small 4625 burst, the RDP 4624, a 1102, counted per event code
and host) stay for the tests that need a few Windows events of our own.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from logwarden.config import Config
from logwarden.errors import InputError
from logwarden.replay.model import ROWS
from logwarden.shippers.windows import synth

ATTACKER = "185.220.101.47"  # an internet address (documentation of the scenario, not a target)
VICTIM = "WIN-TAX-PROD"
START = datetime(2020, 4, 14, 0, 5, 0)


def write_events(folder: Path, failures: int = 40) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    xml = []
    record = 1000
    for i in range(failures):
        record += 1
        user = ("administrator", "admin", "Administrator", "test", "user")[i % 5]
        xml.append(synth.security_4625(VICTIM, START + timedelta(seconds=2 * i), record, target_user=user,
                                       ip=ATTACKER, port=str(49152 + i)))
    record += 1
    success_time = START + timedelta(seconds=2 * failures + 5)
    xml.append(synth.security_4624(VICTIM, success_time, record, target_user="Administrator", ip=ATTACKER,
                                   port="50222", logon_type=10))
    record += 1
    xml.append(synth.security_1102(VICTIM, START + timedelta(minutes=45), record, subject_user="Administrator"))
    path = folder / "incident-start-security.xml"
    path.write_text(synth.events(*xml), encoding="utf-8")
    return path


def counts(cfg: Config) -> list[dict[str, Any]]:
    from logwarden.es_io import client

    es = client(cfg)
    es.indices.refresh(index=cfg.index_pattern("windows"))
    resp = es.search(
        index=cfg.index_pattern("windows"), size=0,
        aggs={"code": {"terms": {"field": "event.code", "size": 100},
                       "aggs": {"host": {"terms": {"field": "host.name", "size": 100}}}}},
    )
    rows = []
    for code in resp["aggregations"]["code"]["buckets"]:
        for host in code["host"]["buckets"]:
            rows.append({"event.code": code["key"], "host.name": host["key"], "documents": host["doc_count"]})
    return rows


REPLAY_START = datetime(2020, 4, 13, tzinfo=UTC)  # the replay's events lie within these two days
REPLAY_END = datetime(2020, 4, 15, tzinfo=UTC)


def run(cfg: Config, out: Any = print, start_lab: bool = True, seed: int = 1,
        insecure: bool = False) -> int:
    """The incident replayed and caught: lab, setup, replay (shippers -> Kafka -> indexer ->
    Elasticsearch), `detect` on Elasticsearch and `stream --once` on the topics (their agreement
    in one line), `hunt` over the generated files for the HTML
    report, the Kibana import files; prints the alert timeline per INCIDENT.md row. Returns 0.

    Raises:
        ServerError: the servers could not be started or reached.
        InputError: an INCIDENT.md row raised no alert, or the benign background raised one.
    """
    from logwarden.dashboards import SRC
    from logwarden.dashboards import render as render_dashboards
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.engine import Detector
    from logwarden.detection.es import EsDetector
    from logwarden.detection.hunt import hunt, write_html
    from logwarden.detection.kibana_rules import export
    from logwarden.detection.kibana_rules import render as render_rules
    from logwarden.es_io import client
    from logwarden.replay import engines, path
    from logwarden.replay import run as replay_run
    from logwarden.runtime.lab import Lab

    started = time.perf_counter()
    if start_lab:
        out("1/6 lab: starting Kafka and Elasticsearch on loopback (first run downloads them)...")
        lab = Lab(cfg, insecure=insecure)
        lab.up()
        cfg = lab.cfg  # the secured lab's client settings
    else:
        out(f"1/6 servers: Kafka {cfg.kafka}, Elasticsearch {cfg.es_shown} (not started by logwarden)")
    folder = cfg.home_path / "replay"
    out(f"2/6 replay phobos (seed {seed}): INCIDENT.md as native logs under {folder}, each through its shipper")
    done = replay_run.replay(cfg, folder, seed=seed)
    out(f"    {done.records} records in {len(done.files)} files -> Kafka {done.produced} -> Elasticsearch "
        f"{done.indexed} new ({done.already_indexed} already indexed)")
    out("3/6 detect: the Sigma rules on Elasticsearch -> " + cfg.index_pattern("alerts"))
    ruleset = load_ruleset(None)
    runner = EsDetector(cfg, client(cfg), Detector(ruleset))
    alerts = runner.run_once(REPLAY_START, REPLAY_END)
    runner.write(alerts)
    out(f"    {len(alerts)} alerts ({runner.stats.created} new, {runner.stats.existing} already there)")
    streamed = engines.stream_alerts(cfg, ruleset)
    out("4/6 hunt: the same rules over the generated files, no servers -> HTML report")
    path.write_ecs(done.files, folder)
    hunted, stats = hunt(path.hunt_inputs(folder), Detector(ruleset))
    report = folder / "report.html"
    with report.open("w", encoding="utf-8") as fh:
        write_html(hunted, fh, stats)
    out(f"    {len(hunted)} alerts from {stats.events} events")
    out("5/6 Kibana import files")
    dashboards = folder / "kibana-dashboards.ndjson"
    dashboards.write_text(render_dashboards(SRC, cfg.index_prefix), encoding="utf-8")
    rules = folder / "kibana-rules.ndjson"
    rules.write_text(render_rules(export(ruleset, cfg.index_prefix)), encoding="utf-8")
    events = path.event_rows(done.files)
    entries, background, foreign = replay_run.timeline(alerts, events)
    out("6/6 the incident as Elasticsearch alerts, per INCIDENT.md row (time, host, user, source, rule):")
    for text in replay_run.timeline_lines(entries):
        out("    " + text)
    if foreign:
        out(f"    ({foreign} alerts on other data in {cfg.index_prefix}* indices, not the replay's, left out)")
    out(engines.agreement(alerts, streamed, set(events)))
    out(f"HTML report: {report}")
    out(f"Kibana: dashboards {dashboards} (Stack Management > Saved objects > Import); "
        f"detection rules {rules} (Security > Rules > Import)")
    out(f"demo took {time.perf_counter() - started:.0f}s")
    missed = [row.key for row in ROWS if row.rules and not any(e.row == row.key for e in entries)]
    if missed or background:
        raise InputError(f"demo: rows without an alert: {', '.join(missed) or 'none'}; "
                         f"alerts from the benign background: {background}")
    return 0
