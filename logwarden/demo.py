"""The demo: Windows events of our own (no third-party logs), shipped and indexed on the local
runtime, then counted in Elasticsearch per event code and host.

The scenario is the start of the incident (INCIDENT.md): a burst of failed RDP logons (4625)
from an internet address against the internet-facing tax server, the successful RDP logon
(4624, logon type 10) that follows, and the Security log being cleared (1102).

`run` prints the steps for a person (stdout); failures are the typed errors of logwarden/errors.py
raised by the lab and the clients, and a `ServerError` when Elasticsearch ends up without the
documents Kafka acknowledged.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from logwarden.config import Config
from logwarden.errors import ServerError
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


def run(cfg: Config, out: Any = print, start_lab: bool = True, insecure: bool = False) -> int:
    """Ship, index and count the demo events; returns 0.

    Raises:
        ServerError: the servers could not be started or reached, or the documents are missing.
    """
    from logwarden.es_io import client, install_templates
    from logwarden.kafka_io import KafkaSink, ensure_topics
    from logwarden.pipelines.indexer import run_indexer
    from logwarden.runtime.lab import Lab
    from logwarden.shippers.checkpoint import Checkpoints
    from logwarden.shippers.ship import ship_files
    from logwarden.shippers.windows import iter_file

    if start_lab:
        out("1/5 lab: starting Kafka and Elasticsearch on loopback (first run downloads them)...")
        lab = Lab(cfg, insecure=insecure)
        lab.up()
        cfg = lab.cfg  # the secured lab's client settings
    else:
        out(f"1/5 servers: Kafka {cfg.kafka}, Elasticsearch {cfg.es_shown} (not started by logwarden)")
    out("2/5 setup: index templates and topics")
    install_templates(client(cfg))
    ensure_topics(cfg)
    path = write_events(cfg.home_path / "demo")
    out(f"3/5 ship: {path}")
    sink = KafkaSink(cfg)
    try:
        summary = ship_files([path], lambda p, skip: iter_file(p, skip=skip), sink,
                             Checkpoints(cfg.state_path / "demo-ship.json"), progress=False)
    finally:
        sink.close()
    out(f"    records: {summary.records}  produced: {summary.produced}  dead letters: {summary.dead_letters}  "
        f"already shipped earlier: {summary.already_shipped}")
    out("4/5 index: Kafka -> Elasticsearch")
    stats = run_indexer(cfg, once=True)
    out(f"    consumed: {stats.consumed}  created: {stats.created}  already indexed: {stats.existing}  "
        f"dead letters: {stats.dead_lettered}")
    out(f"5/5 documents in Elasticsearch ({cfg.index_pattern('windows')}), per event code and host:")
    rows = counts(cfg)
    if sum(row["documents"] for row in rows) < summary.produced:
        raise ServerError(f"Elasticsearch holds {sum(row['documents'] for row in rows)} documents in "
                          f"{cfg.index_pattern('windows')}, Kafka acknowledged {summary.produced}")
    out(f"    {'event.code':<12}{'host.name':<20}{'documents':>10}")
    for row in rows:
        out(f"    {row['event.code']:<12}{row['host.name']:<20}{row['documents']:>10}")
    es = client(cfg)
    hit = es.search(index=cfg.index_pattern("windows"), size=1,
                    query={"bool": {"filter": [{"term": {"event.code": "4624"}},
                                               {"term": {"winlog.logon.type": "RemoteInteractive"}},
                                               {"term": {"source.ip": "0.0.0.0/0"}}]}})["hits"]["hits"]
    if hit:
        src = hit[0]["_source"]
        out(f"    RDP logon: {src['user']['name']} from {src['source']['ip']} on {src['host']['name']} "
            f"at {src['@timestamp']}")
    out(f"Kibana users: point an index pattern at {cfg.index_pattern('windows')} "
        "(docker-compose.yml runs the full stack).")
    return 0
