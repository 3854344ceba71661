"""Files -> shipper -> Kafka -> indexer -> Elasticsearch, on the real servers, counts reconciled."""

from __future__ import annotations

import json
import signal
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from logwarden.es_io import client
from logwarden.shippers.base import DeadLetter
from logwarden.shippers.windows import iter_file, iter_paths, synth
from tests.support.cli import cli, popen, shipped
from tests.support.namespaces import count

pytestmark = pytest.mark.servers




def _expected(paths: list[Path]) -> tuple[dict[str, set[str]], int]:
    """What the parser produces, per file: the set of event ids; and the dead-letter total."""
    ids: dict[str, set[str]] = defaultdict(set)
    dead = 0
    for path in paths:
        for item in iter_file(path):
            if isinstance(item, DeadLetter):
                dead += 1
            else:
                ids[str(path)].add(item.id)
    return ids, dead


def _events_per_file(paths: list[Path]) -> dict[str, int]:
    return {str(p): sum(1 for it in iter_file(p) if not isinstance(it, DeadLetter)) for p in paths}


def _ids_in_es(es, cfg, ids: set[str]) -> int:
    found = 0
    batch = sorted(ids)
    for i in range(0, len(batch), 10_000):
        found += count(es, cfg, "windows", {"terms": {"event.id": batch[i:i + 10_000]}})
    return found


def _ship_and_index(cfg, *paths: str, extra: tuple[str, ...] = ()) -> tuple[dict, dict]:
    ship = shipped(cli(cfg, "ship", "evtx", *paths, "--json", "--no-progress", *extra))
    index = cli(cfg, "index", "--once", "--json")  # the group conftest.indexed_samples used too
    assert index.returncode == 0, index.stderr[-3000:]
    return ship, json.loads(index.stdout.strip().splitlines()[-1])


def test_every_shared_evtx_file_end_to_end(indexed_samples):
    ns, ship, index, root = indexed_samples.cfg, indexed_samples.ship, indexed_samples.index, indexed_samples.root
    paths = list(iter_paths([root]))
    assert len(paths) > 250
    expected, dead = _expected(paths)
    all_ids = set().union(*expected.values())
    # the shipper read every record: events + dead letters; the corrupt files did not crash it
    assert ship["files"] == len(paths)
    per_file = _events_per_file(paths)
    assert {p: f["events"] for p, f in ship["per_file"].items()} == per_file
    assert ship["produced"] == sum(per_file.values())
    assert ship["dead_letters"] == dead > 0
    es = client(ns)
    # documents out == distinct events in (identical records in two sample files share one id)
    assert count(es, ns, "windows") == len(all_ids)
    assert count(es, ns, "deadletter") == dead
    for path, ids in expected.items():
        assert _ids_in_es(es, ns, ids) == len(ids), path
    assert index["consumed"] == ship["produced"] + ship["dead_letters"]
    assert index["created"] + index["existing"] + index["dead_lettered"] == index["consumed"]

    # ship everything again, ignoring the checkpoint: nothing new in Elasticsearch
    ship2, index2 = _ship_and_index(ns, str(root), extra=("--from-start",))
    assert ship2["produced"] == ship["produced"]
    assert index2["created"] == 0 and index2["existing"] == ship["produced"] + ship["dead_letters"]
    assert count(es, ns, "windows") == len(all_ids)
    # and with the checkpoint: nothing is even read again
    ship3, _ = _ship_and_index(ns, str(root))
    assert ship3["records"] == 0 and ship3["already_shipped"] == ship["records"]

    # a 4625 from the SMB password-guessing sample: source.ip is an ip, event_data searchable,
    # @timestamp is the record's TimeCreated
    import evtx

    smb = root / "DeepBlueCLI" / "evtx" / "smb-password-guessing-security.evtx"
    raw = next(rec for rec in (json.loads(r["data"]) for r in evtx.PyEvtxParser(str(smb)).records_json())
               if rec["Event"]["System"]["EventID"] == 4625)
    system = raw["Event"]["System"]
    q = {"bool": {"filter": [
        {"term": {"winlog.record_id": str(system["EventRecordID"])}},
        {"term": {"winlog.computer_name": system["Computer"]}},
        {"term": {"event.code": "4625"}},
    ]}}
    hits = es.search(index=f"{ns.index_prefix}windows-*", query=q)["hits"]["hits"]
    assert len(hits) == 1
    doc = hits[0]["_source"]
    created = system["TimeCreated"]["#attributes"]["SystemTime"]
    assert _instant(doc["@timestamp"]) == _instant(created)
    ip = doc["source"]["ip"]
    prefix = ".".join(ip.split(".")[:3]) + ".0/24"
    assert count(es, ns, "windows", {"bool": {"filter": [{"term": {"source.ip": prefix}},
                                                         {"term": {"event.code": "4625"}}]}}) >= 3000
    assert count(es, ns, "windows", {"term": {"winlog.event_data.TargetUserName":
                                              doc["winlog"]["event_data"]["TargetUserName"]}}) >= 1


def _instant(value: str) -> datetime:
    """ISO 8601 with 0-9 fraction digits -> datetime (microseconds)."""
    head, _, frac = value.rstrip("Z").partition(".")
    micro = int((frac + "000000")[:6]) if frac else 0
    return datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(microsecond=micro, tzinfo=UTC)


def test_rdp_logon_from_internet_document_shape(ns, tmp_path):
    """Our own event XML (runs without ../shared): 4625 burst + 4624 type 10 + 1102."""
    from logwarden import demo

    path = demo.write_events(tmp_path / "in", failures=25)
    ship, index = _ship_and_index(ns, str(path))
    assert ship["produced"] == 27 and index["created"] == 27
    es = client(ns)
    q = {"bool": {"filter": [{"term": {"event.code": "4624"}},
                             {"term": {"winlog.logon.type": "RemoteInteractive"}},
                             {"term": {"source.ip": "185.220.0.0/16"}}]}}
    hit = es.search(index=f"{ns.index_prefix}windows-*", query=q)["hits"]["hits"]
    assert len(hit) == 1
    doc = hit[0]["_source"]
    assert _instant(doc["@timestamp"]) == demo.START.replace(tzinfo=UTC) + timedelta(seconds=55)
    assert doc["event"]["outcome"] == "success" and doc["user"]["name"] == "Administrator"
    assert count(es, ns, "windows", {"bool": {"filter": [{"term": {"event.code": "4625"}},
                                                         {"term": {"source.ip": "185.220.101.47"}}]}}) == 25
    assert count(es, ns, "windows", {"term": {"winlog.event_data.LogonType": "10"}}) == 26
    # case-insensitive sub-field for Sigma
    assert count(es, ns, "windows", {"term": {"winlog.event_data.TargetUserName.caseless": "administrator"}}) >= 2
    cleared = es.search(index=f"{ns.index_prefix}windows-*", query={"term": {"event.code": "1102"}})
    assert cleared["hits"]["hits"][0]["_source"]["winlog"]["user_data"]["SubjectUserName"] == "Administrator"


def test_shipper_killed_then_resumes_from_checkpoint(ns, tmp_path):
    """SIGKILL the shipper mid-file: the rerun resumes (skips what was acknowledged) and the
    final count is exact."""
    n = 60_000
    path = tmp_path / "big-security.xml"
    start = datetime(2020, 4, 14, 0, 0, 0)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="utf-8"?>\n<Events>\n')
        for i in range(n):
            fh.write(synth.security_4625(f"SRV-{i % 7:02d}", start + timedelta(milliseconds=37 * i), i + 1,
                                         target_user=f"user{i % 91}", ip=f"10.0.{i % 200}.{i % 250 + 1}") + "\n")
        fh.write("</Events>\n")
    state = ns.state_path / "ship-evtx.json"
    proc = popen(ns, "ship", "evtx", str(path), "--no-progress", "--json")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if state.exists() and json.loads(state.read_text() or "{}"):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = next(iter(json.loads(state.read_text()).values()))["records"]
    assert 0 < done_before < n, "the shipper must be killed in the middle of the file"
    ship, index = _ship_and_index(ns, str(path))
    assert ship["already_shipped"] == done_before
    assert ship["records"] == n - done_before
    es = client(ns)
    assert count(es, ns, "windows") == n
    assert index["created"] + index["existing"] == index["consumed"]
