"""Every panel of dashboards/logwarden.ndjson run against the real Elasticsearch after the incident
sample went through the real pipeline (ship -> Kafka -> index -> detect), in its own namespace.

The queries and aggregations are read from the NDJSON (data view title from the reference,
Lucene query from searchSourceJSON, aggs from visState), so what is tested is the file Kibana
imports. Each panel must show incident data; where the top bucket means something, it must be
the right one (the attacker on top of the failed-logon sources, the compromised server on top of
the spraying table, ...)."""

from __future__ import annotations

import json

import pytest

from logwarden.dashboards import OUT, parse_ndjson
from logwarden.dashboards.query import PanelResult, panel_queries, run_panel
from logwarden.es_io import client, install_templates
from logwarden.kafka_io import ensure_topics
from tests.conftest import ROOT
from tests.pipeline.helpers import cleanup, cli, isolated

from . import incident

pytestmark = pytest.mark.servers

# panel id -> (minimum hits, expected top bucket of the outermost bucket agg or None)
EXPECT: dict[str, tuple[int, object]] = {
    # Incident timeline / RDP and logons
    "failed-logons-over-time": (36, incident.ATTACKER),
    "failed-logon-sources": (36, incident.ATTACKER),
    "failed-logon-accounts": (36, "Administrator"),
    "rdp-logons-public": (1, incident.ATTACKER),
    "rdp-logons-public-list": (1, None),
    "logon-spraying": (43, incident.VICTIM_IP),
    "logon-types": (7, "Network"),
    "failed-logons-total": (36, None),
    # Defense evasion & ransomware
    "logs-cleared": (2, incident.VICTIM),
    "log-clearing-commands": (1, None),
    "shadow-copy-deletion": (1, None),
    "shadow-copy-deletion-hosts": (1, incident.VICTIM),
    "ransom-notes": (6, incident.VICTIM),
    "phobos-renames": (1, incident.VICTIM),
    "files-over-time": (7, incident.VICTIM),
    "new-services": (3, "securebootthemes"),
    "new-services-list": (3, None),
    # Firewall & AV
    "rdp-inbound-public": (1, "203.0.113.45"),
    "rdp-inbound-over-time": (1, "203.0.113.45"),
    "smb-fan-out": (20, incident.SMB_WORM),
    "denied-connections": (1, None),
    "av-detections": (3, None),
    "av-detections-hosts": (3, incident.MINER_HOST),
    "av-detections-over-time": (3, "ClamAV"),
    "defender-detections": (1, "Trojan:Win32/CoinMiner.A"),
    # Alerts
    "alerts-over-time-by-rule": (1, None),
    "alerts-over-time-by-level": (1, None),
    "alerts-by-rule": (1, None),
    "alerts-top-hosts": (1, incident.VICTIM),
    "alerts-high-critical": (1, None),
    "alerts-tactics": (1, None),
    "alerts-list": (1, None),
    # Pipeline health
    "dead-letters-by-reason": (1, None),
    "dead-letters-over-time": (1, "firewall"),
    "dead-letters-by-source": (1, None),
    "events-per-dataset": (50, "system.security"),
    "events-over-time": (50, "system.security"),
    "events-per-host": (50, incident.VICTIM),
    "dead-letters-total": (1, None),
}


@pytest.fixture(scope="module")
def results(lab, tmp_path_factory) -> dict[str, PanelResult]:
    tmp = tmp_path_factory.mktemp("dashboards")
    cfg = isolated(lab.cfg, tmp)
    es = client(cfg)
    install_templates(es)
    ensure_topics(cfg)
    try:
        xml = incident.windows_xml(tmp / "in")
        fg = incident.fortigate_log(tmp / "in", ROOT / "shippers/fortigate/testdata/test-fortigate.log")
        steps = [
            ("ship", "evtx", str(xml), "--json", "--no-progress"),
            ("ship", "file", str(fg), "--source", "fortigate", "--json"),
            ("ship", "file", str(ROOT / "shippers/clamav/testdata/test-clamav.log"), "--source", "clamav",
             "--host", incident.MINER_HOST, "--json"),
            ("index", "--once", "--json"),
            ("detect", "--once", "--json"),
        ]
        for args in steps:
            r = cli(cfg, *args, timeout=180)
            # ship file exits 1 when the input had dead letters (the golden file has bad lines)
            assert r.returncode in (0, 1) and r.stdout.strip(), f"{args}: {r.returncode}\n{r.stderr[-3000:]}"
            if args[0] != "ship":
                assert r.returncode == 0, f"{args}: {r.stderr[-3000:]}"
        es.indices.refresh(index=f"{cfg.index_prefix}*")
        objects = parse_ndjson(OUT.read_text(encoding="utf-8"))
        out = {}
        for pq in panel_queries(objects, cfg.index_prefix, "2020-01-01T00:00:00Z", "now+1d"):
            assert pq.index.startswith(cfg.index_prefix)
            out[pq.panel] = run_panel(es, pq)
        yield out
    finally:
        cleanup(cfg)


def test_every_panel_has_an_expectation(results):
    assert set(results) == set(EXPECT), "panels added or removed: update EXPECT"


@pytest.mark.parametrize("panel", sorted(EXPECT))
def test_panel_shows_incident_data(results, panel):
    r = results[panel]
    minimum, top = EXPECT[panel]
    detail = json.dumps({"index": r.query.index, "hits": r.hits, "buckets": r.buckets[:10]}, default=str)
    assert r.hits >= minimum, f"{r.query.title}: {detail}"
    if top is not None:
        assert r.top == top, f"{r.query.title}: {detail}"
