"""Hostile Windows input through the real servers: `ship evtx` -> Kafka -> `index --once` ->
Elasticsearch. Repaired records arrive searchable and flagged, the rest are dead letters with
their reasons, a restart ships nothing twice and never stops on the same record."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from logwarden.es_io import client
from logwarden.shippers.windows import synth
from logwarden.shippers.windows.evtx_layout import CHUNK_SIZE, FILE_HEADER_SIZE
from tests.support.cli import cli, shipped
from tests.support.namespaces import count
from tests.support.paths import need_shared

pytestmark = pytest.mark.servers
HOST = "税务服务器"




def record(n: int, user: str) -> str:
    return json.dumps({"Event": {"System": {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}}, "EventID": 4625,
        "TimeCreated": {"#attributes": {"SystemTime": f"2020-04-14T00:22:{n:02d}.0000000Z"}},
        "EventRecordID": n, "Channel": "Security", "Computer": "TAX-TEST"},
        "EventData": {"TargetUserName": user, "IpAddress": "203.0.113.7"}}}, ensure_ascii=False)


def ship(cfg, *args: str) -> dict:
    return shipped(cli(cfg, "ship", "evtx", *args, "--json", "--no-progress"))


def index_once(cfg) -> None:
    """`index --once` in a consumer group of this namespace: the default group is shared by every
    indexer on the shared Kafka, and its rebalances held partitions away from a test for over 60 s."""
    done = cli(cfg, "index", "--once", "--json", "--group", f"{cfg.topic_prefix}indexer")
    assert done.returncode == 0, done.stderr[-3000:]


def test_hostile_text_input_is_shipped_indexed_and_restarts_cleanly(ns, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    lone = record(1, "admin").replace('"admin"', '"adm\\ud800in"')
    deep = record(2, "x").replace('"x"', '{"a":' * 1000 + "1" + "}" * 1000)
    (folder / "surrogate.jsonl").write_text("\n".join([lone, deep, record(3, "guest")]) + "\n", encoding="utf-8")
    (folder / "utf16.jsonl").write_bytes((record(4, "管理员") + "\r\n").encode("utf-16"))
    gbk = synth.security_4688(HOST, "2020-04-14T00:57:00.0000000Z", 5, new_process_name="C:\\x.exe",
                              command_line="vssadmin delete shadows /all /quiet", parent_process_name="C:\\cmd.exe")
    (folder / "gbk.xml").write_bytes(re.sub(r'<Data Name="NewProcessName">[^<]*</Data>', "", gbk).encode("gbk"))
    first = ship(ns, str(folder))
    assert (first["records"], first["produced"], first["dead_letters"]) == (5, 4, 1)
    again = ship(ns, str(folder))  # a restart: nothing left to ship, no record fails again
    assert again["produced"] == 0 and again["dead_letters"] == 0
    replay = ship(ns, str(folder), "--from-start")
    assert replay["produced"] == 4
    index_once(ns)
    es = client(ns)
    assert count(es, ns, "windows") == 4  # the replay did not duplicate
    assert count(es, ns, "deadletter", {"term": {"error.message": "line 2: record nested deeper than 64 levels"}}) == 1
    assert count(es, ns, "windows", {"term": {"log.flags": "lone-surrogate-replaced"}}) == 1
    hit = es.search(index=f"{ns.index_prefix}windows-*", query={"term": {"log.flags": "lone-surrogate-replaced"}})
    assert hit["hits"]["hits"][0]["_source"]["user"]["name"] == "adm\ufffdin"
    assert count(es, ns, "windows", {"term": {"user.name": "管理员"}}) == 1
    proc = es.search(index=f"{ns.index_prefix}windows-*", query={"term": {"event.code": "4688"}})["hits"]["hits"]
    assert proc[0]["_source"]["host"]["name"] == HOST
    assert proc[0]["_source"]["process"]["command_line"] == "vssadmin delete shadows /all /quiet"


@pytest.mark.shared
def test_zeroed_evtx_chunk_reaches_the_dead_letter_topic(ns, tmp_path: Path) -> None:
    path = tmp_path / "damaged.evtx"
    shutil.copyfile(need_shared("evtx/evtx-rs-samples/samples/Security_with_size_t.evtx"), path)
    path.chmod(0o644)
    with open(path, "r+b") as fh:
        fh.seek(FILE_HEADER_SIZE + CHUNK_SIZE)
        fh.write(bytes(CHUNK_SIZE))
    summary = ship(ns, str(path))
    assert (summary["records"], summary["produced"], summary["dead_letters"]) == (636, 537, 99)
    assert summary["reasons"] == {"chunk 1 unreadable (zeroed)": 99}  # the summary keys reasons by their head
    index_once(ns)
    es = client(ns)
    assert count(es, ns, "windows") == 537
    reason = {"term": {"error.message": "chunk 1 unreadable (zeroed): records 115-213 lost"}}
    assert count(es, ns, "deadletter", reason) == count(es, ns, "deadletter") == 99
    lost = es.search(index=f"{ns.index_prefix}deadletter-*", query=reason, size=99)["hits"]["hits"]
    assert sorted(h["_source"]["event"]["original"] for h in lost) == sorted(
        f"{path}: record {n} lost" for n in range(115, 214))
