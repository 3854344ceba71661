"""`logwarden ship file --source huorong` on the real servers with a log.db whose ids would have
broken the old reader (REAL, text, NULL, negative rowids, 600 rows sharing one id, a row without
JSON): every row reaches Elasticsearch once, as an event or a dead letter, across a restart that
resumes from the rowid checkpoint while new rows arrive, and across a SIGKILL mid-table."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from logwarden.es_io import client
from logwarden.shippers.base import DeadLetter
from tests.support.cli import cli, popen
from tests.support.namespaces import count

from .huorong_dbs import DETAIL, make_db, shipped

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]


def _counts(db: Path) -> tuple[int, int]:
    items = [item for _, _, item in shipped(db)]
    dead = sum(isinstance(i, DeadLetter) for i in items)
    return len(items) - dead, dead


def _ship(cfg, db: Path, state: Path) -> dict[str, int]:
    ship = cli(cfg, "ship", "file", str(db), "--source", "huorong", "--state", str(state), "--host", "SRV-TAX01",
               "--json")
    counts: dict[str, int] = json.loads(ship.stdout.strip().splitlines()[-1])
    assert ship.returncode == (1 if counts["dead"] else 0), ship.stderr[-3000:]  # README: 1 = dead letters
    return counts


def test_ship_hostile_log_db_resume_exact_to_elasticsearch(ns, tmp_path: Path) -> None:
    db, state = tmp_path / "log.db", tmp_path / "ship-state.json"
    ids = ["abc", None, 0, -5, 1.5, 1.5, b"\x00blob", *([7] * 600)]
    make_db(db, "CREATE TABLE HrLogV3 (id, ts INTEGER, detail TEXT)",
            [(i, 1586796600 + n, DETAIL) for n, i in enumerate(ids)])
    con = sqlite3.connect(db)
    con.execute("INSERT INTO HrLogV3 (rowid, id, ts, detail) VALUES (-7, 7, 1586796000, '{broken')")
    con.commit()
    con.close()
    events, dead = _counts(db)
    assert (events, dead) == (len(ids), 1)
    assert _ship(ns, db, state) == {"sent": events + dead, "parsed": events, "dead": dead}
    # Huorong goes on writing (more rows sharing id 7): the restart sends those and nothing else
    con = sqlite3.connect(db)
    con.executemany("INSERT INTO HrLogV3 VALUES (7, ?, ?)", [(1586826000 + i, DETAIL) for i in range(250)])
    con.commit()
    con.close()
    assert _ship(ns, db, state) == {"sent": 250, "parsed": 250, "dead": 0}
    assert _ship(ns, db, state)["sent"] == 0
    index = cli(ns, "index", "--once", "--json")
    assert index.returncode == 0, index.stderr[-3000:]
    es = client(ns)
    assert count(es, ns, "av") == events + 250
    assert count(es, ns, "av", {"term": {"rule.name": "Trojan/Ransom.Phobos.a"}}) == events + 250
    assert count(es, ns, "deadletter") == dead


def test_ship_log_db_sigkill_then_resume_exact(ns, tmp_path: Path) -> None:
    """SIGKILL `ship file` in the middle of a log.db whose 30,000 rows all share one id: the rerun
    sends exactly the rows after the rowid checkpoint, and Elasticsearch holds every row once."""
    db, state = tmp_path / "log.db", tmp_path / "ship-state.json"
    n = make_db(db, "CREATE TABLE HrLogV3 (id, ts INTEGER, detail TEXT)",
                [(7, 1586796600 + i, DETAIL) for i in range(30_000)])
    proc = popen(ns, "ship", "file", str(db), "--source", "huorong", "--state", str(state), "--host", "SRV-TAX01",
                 "--json")
    deadline = time.monotonic() + 120
    position = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if state.exists():
            position = (json.loads(state.read_text() or "{}").get("rows") or {}).get("HrLogV3", 0)
            if position > 0:
                break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    position = json.loads(state.read_text())["rows"]["HrLogV3"]
    assert 0 < position < n, "the shipper must be killed in the middle of the table"
    assert _ship(ns, db, state) == {"sent": n - position, "parsed": n - position, "dead": 0}
    index = cli(ns, "index", "--once", "--json")
    assert index.returncode == 0, index.stderr[-3000:]
    assert count(client(ns), ns, "av") == n
