"""The dashboards on the incident replay, as Kibana opens them: `lab replay phobos` (shippers ->
Kafka -> indexer -> Elasticsearch, own namespace), `detect` over the replay's days, then every
panel of dashboards/logwarden.ndjson runs on Elasticsearch over the range its dashboard opens on
(the saved timeFrom/timeTo, not a range chosen by the test) and must return incident data.

test_panels_servers.py checks the same panels on a hand-made sample with exact top buckets and
the dead-letter panels (the replay writes no bad records)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from logwarden.config import Config
from logwarden.dashboards import OUT, parse_ndjson
from logwarden.dashboards.query import PanelResult, panel_queries, run_panel
from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector
from logwarden.detection.es import EsDetector
from logwarden.es_io import client
from logwarden.replay import run
from tests.support.namespaces import cleanup, isolated

pytestmark = pytest.mark.servers

ATTACKER = "185.220.101.47"  # logwarden/replay/site.py: the internet brute-forcer
SPRAYER = "192.168.10.21"  # the compromised WIN-TAX-PROD spraying the LAN at 00:22

# Panels the replay cannot fill, each for a reason: it writes no unreadable record (dead letters);
# its perimeter device is SecGate with no IPS events, and its Huorong rows hold no brute-force
# protection entry. The hand-made sample of test_panels_servers.py fills them.
NOT_IN_REPLAY = {"dead-letters-by-reason", "dead-letters-over-time", "dead-letters-by-source", "dead-letters-total",
                 "firewall-intrusion-alerts", "av-brute-force",
                 # the replay is shipped in one go: no source falls silent (tests/silence fills these)
                 "silence-alerts", "silence-alerts-over-time", "silent-sources",
                 # the replay ships files through their readers, not through a syslog receiver
                 "syslog-senders-last-heard"}

# panel id -> the top bucket the replay must put first
TOP = {
    "failed-logon-sources": ATTACKER,
    "failed-logons-over-time": ATTACKER,
    "logon-spraying": SPRAYER,
    "rdp-logons-public": ATTACKER,
    "logs-cleared": "WIN-TAX-PROD",
    "new-services": "securebootthemes",
}
# panel id -> bucket keys that must be among the outermost buckets
AMONG = {
    "ransom-notes": ("WIN-TAX-PROD", "WIN-TAX-TEST"),
    "phobos-renames": ("WIN-TAX-PROD", "WIN-TAX-TEST"),
    "alerts-top-hosts": ("WIN-TAX-PROD", "WIN-TAX-TEST"),
    "alerts-by-host-and-rule": ("WIN-TAX-PROD", "WIN-TAX-TEST"),
    "alerts-by-severity": ("high", "critical"),
    "alerts-by-rule": ("Ransom Note Created", "Phobos Encrypted File Name",
                       "Inbound RDP Allowed From A Public Address"),
    "alerts-tactics": ("initial-access", "impact"),
    "av-detections-over-time": ("Huorong Internet Security",),
}


@pytest.fixture(scope="module")
def replayed(lab, tmp_path_factory) -> Iterator[dict[str, PanelResult]]:
    """panel id -> its result on the replay, over the range its dashboard opens on."""
    tmp = tmp_path_factory.mktemp("dashboards-replay")
    cfg: Config = isolated(lab.cfg, tmp)
    try:
        done = run.replay(cfg, tmp / "replay", seed=3)
        assert done.indexed == done.records > 0
        es = client(cfg)
        es.indices.refresh(index=f"{cfg.index_prefix}*")
        runner = EsDetector(cfg, es, Detector(load_ruleset(None)))
        alerts = runner.run_once(datetime(2020, 4, 13, tzinfo=UTC), datetime(2020, 4, 15, tzinfo=UTC))
        runner.write(alerts)
        assert alerts
        es.indices.refresh(index=f"{cfg.index_prefix}*")
        objects = parse_ndjson(OUT.read_text(encoding="utf-8"))
        yield {pq.panel: run_panel(es, pq) for pq in panel_queries(objects, cfg.index_prefix)}
    finally:
        cleanup(cfg)


def test_every_dashboard_opens_on_the_replay_days():
    objects = parse_ndjson(OUT.read_text(encoding="utf-8"))
    for d in (o for o in objects if o["type"] == "dashboard"):
        a = d["attributes"]
        assert a["timeRestore"] is True, a["title"]
        assert (a["timeFrom"], a["timeTo"]) == ("2020-04-13T00:00:00.000Z", "2020-04-15T00:00:00.000Z"), a["title"]


def test_the_exclusions_are_real(replayed):
    """A panel listed as not filled by the replay is empty; when the replay grows to fill it, the
    test says so and the panel joins the checked ones."""
    assert NOT_IN_REPLAY <= set(replayed)
    assert {p for p in NOT_IN_REPLAY if replayed[p].hits} == set()


@pytest.mark.parametrize("panel", sorted(set(TOP) | set(AMONG)))
def test_panel_top_buckets(replayed, panel):
    r = replayed[panel]
    detail = json.dumps({"hits": r.hits, "buckets": r.buckets[:10]}, default=str)
    if panel in TOP:
        assert r.top == TOP[panel], f"{r.query.title}: {detail}"
    missing = [k for k in AMONG.get(panel, ()) if k not in r.buckets]
    assert not missing, f"{r.query.title}: {missing} not among {detail}"


def test_every_other_panel_shows_replay_data(replayed):
    empty = {}
    for panel, r in replayed.items():
        if panel in NOT_IN_REPLAY:
            continue
        # a bucketed panel needs buckets, a metric or document table needs hits
        if r.hits == 0 or (r.query.bucket_aggs and not r.buckets):
            empty[panel] = (r.query.dashboard, r.query.title, r.hits)
    assert not empty, empty
