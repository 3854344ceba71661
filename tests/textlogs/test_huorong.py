"""Huorong log.db: the test builds a SQLite file in the assumed layout and reads it without
changing or locking it (a writer can commit while the reader holds its connection)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from logwarden.shippers import capabilities
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.huorong import read_db

ROWS = [
    (1586796600, {"virus_name": "Trojan/Ransom.Phobos.a", "path": "C:\\Users\\a\\eight.exe", "action": "已隔离",
                  "proc": "C:\\Windows\\explorer.exe", "cmdline": "explorer.exe", "md5": "A" * 32}),
    (1586826000, {"vname": "Trojan/CoinMiner.WannaMine.b", "file": "C:\\Windows\\System32\\securebootthemes.exe",
                  "treatment": "清除", "process": "C:\\Windows\\System32\\svchost.exe", "pid": 900}),
    (1586826001, {"op": "update"}),
]


def build(path: Path, rows=ROWS) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE HrLogV3 (id INTEGER PRIMARY KEY AUTOINCREMENT, fid INTEGER, ts INTEGER, detail TEXT)")
    con.execute("CREATE TABLE settings (k TEXT, v INTEGER)")
    con.execute("INSERT INTO settings VALUES ('x', 1)")
    for ts, detail in rows:
        con.execute("INSERT INTO HrLogV3 (fid, ts, detail) VALUES (1, ?, ?)",
                    (ts, json.dumps(detail, ensure_ascii=False)))
    con.execute("INSERT INTO HrLogV3 (fid, ts, detail) VALUES (1, 0, '{broken')")
    con.commit()
    con.close()


def test_reads_log_db_without_modifying_it(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    build(db)
    before = hashlib.sha256(db.read_bytes()).hexdigest(), db.stat().st_mtime_ns
    with db.open("rb") as fh:
        items = list(capabilities.stream_parser("huorong")(str(db), fh))
    assert (hashlib.sha256(db.read_bytes()).hexdigest(), db.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.db"]  # no journal/wal left behind
    events = [i for i in items if isinstance(i, Event)]
    dead = [i for i in items if isinstance(i, DeadLetter)]
    assert len(events) == 3 and len(dead) == 1
    first = events[0].doc
    assert first["rule"]["name"] == "Trojan/Ransom.Phobos.a"
    assert first["event"]["action"] == "malware-quarantined"
    assert first["event"]["kind"] == "alert" and first["event"]["category"] == ["malware"]
    assert first["process"]["command_line"] == "explorer.exe"
    assert first["file"]["hash"]["md5"] == "a" * 32
    assert events[1].doc["event"]["action"] == "malware-cleaned"
    assert events[1].doc["process"]["pid"] == 900
    assert events[2].doc["event"]["kind"] == "event"
    assert events[0].position == 1 and dead[0].position == 4


def test_incremental_read_and_concurrent_writer(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    build(db)
    seen = list(read_db(str(db)))
    last = {"HrLogV3": seen[-1][1]}
    # a writer commits while a reader connection is open: the reader must not block it
    reader = read_db(str(db), after={})
    next(reader)
    con = sqlite3.connect(db, timeout=2)
    con.execute("INSERT INTO HrLogV3 (fid, ts, detail) VALUES (1, 1586826100, ?)",
                (json.dumps({"virus_name": "New.Threat", "path": "C:\\x.exe", "action": "阻止"}),))
    con.commit()
    con.close()
    reader.close()
    new = list(read_db(str(db), after=last))
    assert [rid for _, rid, _ in new] == [5]
    assert new[0][2].doc["event"]["action"] == "malware-blocked"


def test_db_from_stdin_is_copied(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    build(db)
    import io

    items = list(capabilities.stream_parser("huorong")("-", io.BytesIO(db.read_bytes())))
    assert sum(isinstance(i, Event) for i in items) == 3
