"""Every panel of dashboards/logwarden.ndjson run against the real Elasticsearch after the incident
sample went through the real pipeline (ship -> Kafka -> index -> detect), in its own namespace.

The queries and aggregations are read from the NDJSON (data view title from the reference,
Lucene query from searchSourceJSON, aggs from visState), so what is tested is the file Kibana
imports. Each panel must show incident data; where the top bucket means something, it must be
the right one (the attacker on top of the failed-logon sources, the compromised server on top of
the spraying table, ...)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from logwarden.dashboards import OUT, parse_ndjson
from logwarden.dashboards.query import PanelResult, panel_queries, run_panel
from logwarden.es_io import client, install_templates
from logwarden.kafka_io import ensure_topics
from tests.devices.lines import HUORONG_ROWS
from tests.support.cli import cli, shipped
from tests.support.namespaces import cleanup, isolated
from tests.support.paths import ROOT

from . import incident

pytestmark = pytest.mark.servers

# panel id -> (minimum hits, expected top bucket of the outermost bucket agg or None)
EXPECT: dict[str, tuple[int, object]] = {
    # Incident timeline / RDP and logons
    "failed-logons-over-time": (36, incident.ATTACKER),
    "failed-logon-sources": (36, incident.ATTACKER),
    "failed-logon-accounts": (36, "administrator"),  # Administrator + administrator
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
    "firewall-devices": (2, "Fortinet"),
    "firewall-intrusion-alerts": (1, None),  # one each: FortiGate IPS and the Huawei attack lines (ALSO)
    "av-brute-force": (1, "203.0.113.100"),
    # Alerts
    "alerts-over-time-by-rule": (1, None),
    "alerts-over-time-by-level": (1, None),
    "alerts-by-rule": (1, None),
    "alerts-by-host-and-rule": (1, incident.VICTIM),
    "alerts-by-severity": (1, None),
    "alerts-top-hosts": (1, incident.VICTIM),  # + Huorong's brute-force alerts; the miner host follows (ALSO)
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
    # Source health and silence: the last ingest per source shows every source of the sample; the
    # sample is fresh, so no source is silent here (tests/silence/test_silence_servers.py runs the
    # silence panels on a namespace where sources stop)
    "windows-sources-last-heard": (50, None),
    "firewall-sources-last-heard": (1, None),
    "av-sources-last-heard": (3, incident.MINER_HOST),
    "last-event-per-host": (50, None),
    "silence-alerts": (0, None),
    "silence-alerts-over-time": (0, None),
    "silent-sources": (0, None),
    # no syslog receiver in this sample (files only): tests/silence/test_sender_servers.py fills it
    "syslog-senders-last-heard": (0, None),
}

# panel id -> bucket keys that must be among the outermost buckets
ALSO: dict[str, tuple[object, ...]] = {
    "logon-spraying": (incident.ATTACKER,),  # more events, but one target host: ranked below
    "smb-fan-out": (incident.SMB_BUSY,),
    "alerts-top-hosts": (incident.MINER_HOST,),
    "firewall-intrusion-alerts": ("SMB Remote Code Execution Attempt", "Huawei SECE: Arp Miss Attack"),
    "alerts-by-rule": ("Logon Brute Force From One Source", "Brute Force Followed By A Successful Logon",
                       "Internal Host Logging On To Many Hosts", "Event Log Cleared (System 104)",
                       "Ransom Note Created", "Inbound RDP Allowed From A Public Address"),
    "alerts-over-time-by-level": ("high", "critical"),
    "alerts-by-severity": ("high", "critical"),
    "alerts-by-host-and-rule": (incident.MINER_HOST,),
    "alerts-tactics": ("initial-access", "lateral-movement", "defense-evasion", "impact"),
    "av-detections": ("Win.Ransomware.Phobos-9843210-0", "Win.Coinminer.WannaMine-6"),
    "events-per-dataset": ("system.security", "system.system", "windows.sysmon_operational", "windows.defender",
                           "fortinet_fortigate.log", "clamav.log"),
    "failed-logon-accounts": ("admin", "test"),
    "firewall-devices": ("Huawei",),
    "windows-sources-last-heard": (incident.VICTIM,),
    "last-event-per-host": (incident.VICTIM, incident.MINER_HOST),
}


def _huorong_db(path):
    """A Huorong log.db (HrLogV3) holding a brute-force protection row and a database update."""
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE HrLogV3 (id INTEGER PRIMARY KEY, fname TEXT, ts INTEGER, detail TEXT)")
    con.executemany("INSERT INTO HrLogV3 VALUES (?, ?, ?, ?)", [(r["id"], r["fname"], r["ts"], r["detail"])
                                                              for r in HUORONG_ROWS if r["fname"] != "filemon"])
    con.commit()
    con.close()
    return path


@pytest.fixture(scope="module")
def sample(lab, tmp_path_factory):
    """(the namespace's Config, panel id -> result), the namespace deleted afterwards."""
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
            ("ship", "file", str(ROOT / "shippers/huawei_usg/testdata/test-huawei_usg.log"), "--source",
             "huawei_usg", "--json"),
            ("ship", "file", str(_huorong_db(tmp / "log.db")), "--source", "huorong", "--host", incident.VICTIM,
             "--json"),
            ("index", "--once", "--json"),
            ("detect", "--once", "--json"),
        ]
        for args in steps:
            r = cli(cfg, *args, timeout=180)
            if args[0] == "ship":  # exit 1 exactly when the input had dead letters (golden files have bad lines)
                shipped(r)
            else:
                assert r.returncode == 0, f"{args}: {r.returncode}\n{r.stderr[-3000:]}"
        es.indices.refresh(index=f"{cfg.index_prefix}*")
        objects = parse_ndjson(OUT.read_text(encoding="utf-8"))
        out = {}
        for pq in panel_queries(objects, cfg.index_prefix, "2020-01-01T00:00:00Z", "now+1d"):
            assert pq.index.startswith(cfg.index_prefix)
            out[pq.panel] = run_panel(es, pq)
        yield cfg, out
    finally:
        cleanup(cfg)


@pytest.fixture(scope="module")
def results(sample) -> dict[str, PanelResult]:
    return sample[1]


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
    missing = [k for k in ALSO.get(panel, ()) if k not in r.buckets]
    assert not missing, f"{r.query.title}: {missing} not among {detail}"


def test_query_command(sample):
    """`logwarden dashboards query --json` prints the same numbers for the same namespace."""
    cfg, results = sample
    r = cli(cfg, "dashboards", "query", "--json", "--from", "2020-01-01T00:00:00Z", "--to", "now+1d", timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert {(d["panel"], d["hits"], d["top"]) for d in lines} == {(k, v.hits, v.top) for k, v in results.items()}
