"""The incident's devices on the real data path: their syslog lines through `logwarden ship
syslog` (TCP, autodetect per message; a Sangfor line once more in GBK, and a Sangfor record one
key per line in an octet-counted frame), Huorong's rows through
`ship file --source huorong` (a log.db), then `logwarden index --once` and `logwarden detect --once`: the RDP
from the internet, SMB fan-out and AV detection rules write their alerts to Elasticsearch, each
on the devices and events it should."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from logwarden.es_io import client
from tests.support.cli import cli
from tests.support.namespaces import count
from tests.textlogs.test_syslog_servers import send_tcp, start_receiver

from .lines import ATTACKERS, HUORONG_AV_RULES, HUORONG_ROWS, RDP_SOURCES, SMB_SPREADERS, firewall_lines

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]

RDP = "Inbound RDP Allowed From A Public Address"
SMB_SPREAD = "One Internal Source Reaching Many Hosts On SMB"
AV = "Antivirus Detection"
MINER = "Antivirus Detected A Cryptominer"
BRUTE = "Endpoint Protection Reports A Brute-Force Attack"
# the one-key-per-line form of a Sangfor record, whole only in an octet-counted TCP frame
MULTILINE = ("<134>Apr 14 00:20:16 SANGFOR-AF fwlog: 日志类型:服务控制或应用控制\n用户:(null)\n源IP:203.0.113.64\n"
             "源端口:50216\n目的IP:192.168.10.24\n目的端口:3389\n应用类型:远程登录\n应用名称:RDP\n系统动作:允许")
GBK_LINE = ("<134>Apr 14 00:20:15 SANGFOR-AF fwlog: 日志类型:服务控制或应用控制, 用户:王五, 源IP:203.0.113.63, "
            "源端口:50215, 目的IP:192.168.10.23, 目的端口:3389, 应用类型:远程登录, 应用名称:RDP, 系统动作:允许")


def _alert_events(es: Any, cfg: Any) -> dict[str, list[dict[str, Any]]]:
    """rule name -> the source documents of its alerts (looked up by event id)."""
    es.indices.refresh(index=f"{cfg.index_prefix}*")
    hits = es.search(index=f"{cfg.index_prefix}alerts-*", size=1000)["hits"]["hits"]
    ids = {i for h in hits for i in h["_source"]["sigma"]["events"]}
    docs = es.search(index=f"{cfg.index_prefix}firewall-*,{cfg.index_prefix}av-*", size=2000,
                     query={"terms": {"event.id": sorted(ids)}})["hits"]["hits"]
    by_id = {d["_source"]["event"]["id"]: d["_source"] for d in docs}
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for h in hits:
        out[h["_source"]["rule"]["name"]] += [by_id[i] for i in h["_source"]["sigma"]["events"]]
    return out


def test_device_logs_ship_index_and_fire_the_incident_rules(ns, tmp_path: Path) -> None:
    messages = [ln.encode("utf-8") for ln in firewall_lines()] + [GBK_LINE.encode("gbk")]
    proc, _, tcp_addr = start_receiver(ns, "--max-messages", str(len(messages) + 1))
    send_tcp(tcp_addr, messages, octet=False)
    send_tcp(tcp_addr, [MULTILINE.encode("utf-8")], octet=True)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=90)  # its --grace and the producer's flush
    assert proc.returncode == 0, err[-3000:]
    counts = json.loads(out.strip().splitlines()[-1])
    assert counts["received"] == counts["parsed"] == len(messages) + 1 and counts["dead"] == 0

    db = tmp_path / "log.db"  # Huorong's own layout: table HrLogV3 (id, fname, ts, detail)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE HrLogV3 (id INTEGER PRIMARY KEY, fname TEXT, ts INTEGER, detail TEXT)")
    con.executemany("INSERT INTO HrLogV3 VALUES (?, ?, ?, ?)",
                    [(r["id"], r["fname"], r["ts"], r["detail"]) for r in HUORONG_ROWS])
    con.commit()
    con.close()
    ship = cli(ns, "ship", "file", str(db), "--source", "huorong", "--host", "SRV-TAX01", "--json")
    assert ship.returncode == 0, ship.stderr[-3000:]
    assert json.loads(ship.stdout.strip().splitlines()[-1])["parsed"] == len(HUORONG_ROWS)

    index = cli(ns, "index", "--once", "--json")
    assert index.returncode == 0, index.stderr[-3000:]
    assert json.loads(index.stdout.strip().splitlines()[-1])["dead_lettered"] == 0
    es = client(ns)
    assert count(es, ns, "firewall") == len(messages) + 1
    assert count(es, ns, "av") == len(HUORONG_ROWS)
    assert count(es, ns, "firewall", {"term": {"user.name": "王五"}}) == 1  # GBK decoded
    attacks = es.search(index=f"{ns.index_prefix}firewall-*", size=50, query={"bool": {"filter": [
        {"term": {"event.kind": "alert"}}, {"term": {"event.category": "intrusion_detection"}}]}})["hits"]["hits"]
    assert {(h["_source"]["event"]["module"], h["_source"]["source"]["ip"]) for h in attacks} >= ATTACKERS
    assert all(h["_source"]["log"]["source"]["address"].startswith("127.0.0.1:") for h in attacks)  # the sender

    detect = cli(ns, "detect", "--once", "--json")
    assert detect.returncode == 0, detect.stderr[-3000:]
    fired = _alert_events(es, ns)
    rdp: dict[str, set[str]] = defaultdict(set)
    for doc in fired[RDP]:
        rdp[doc["event"]["module"]].add(doc["source"]["ip"])
    expected = {device: set(ips) for device, ips in RDP_SOURCES.items()}
    expected["sangfor"] |= {"203.0.113.63", "203.0.113.64"}  # the GBK line, the multi-line record
    assert rdp == expected
    assert {(d["event"]["module"], d["source"]["ip"]) for d in fired[SMB_SPREAD]} == set(SMB_SPREADERS.items())
    assert {d["rule"]["name"] for d in fired[AV]} == HUORONG_AV_RULES
    assert {d["host"]["name"] for d in fired[AV]} == {"SRV-TAX01"}
    assert [d["rule"]["name"] for d in fired[MINER]] == ["Trojan/CoinMiner.WannaMine.c"]
    # Huorong's brute-force protection row: an alert in the alert index, naming the attacker
    assert [(d["source"]["ip"], d["host"]["name"]) for d in fired[BRUTE]] == [("203.0.113.100", "SRV-TAX01")]
