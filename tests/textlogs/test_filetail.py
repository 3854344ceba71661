"""filetail: checkpoint after flush, restart neither skips nor repeats, rotation and truncation."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from logwarden.shippers.base import DeadLetter, Event, ListSink
from logwarden.shippers.filetail import FileTail

LINE = 'date=2020-04-14 time=00:22:{:02d} devname="FG1" devid="X" logid="13" type="traffic" action="deny" ' \
       'srcip=10.0.0.1 dstip=10.0.0.2 proto=6 n={}\n'


def lines(a: int, b: int) -> str:
    return "".join(LINE.format(i % 60, i) for i in range(a, b))


def ns(sink: ListSink) -> list[int]:
    return [int(e.doc["event"]["original"].rsplit("n=", 1)[1]) for e in sink.events]


class FailingSink(ListSink):
    """Sends work, flush fails: the checkpoint must not move past unflushed lines."""

    def flush(self) -> None:
        raise RuntimeError("kafka down")


def test_restart_neither_skips_nor_repeats(tmp_path: Path) -> None:
    log, state = tmp_path / "fw.log", tmp_path / "state.json"
    log.write_text(lines(0, 10))
    s1 = ListSink()
    FileTail(str(log), "fortigate", s1, state).run()
    assert ns(s1) == list(range(10))
    with log.open("a") as fh:
        fh.write(lines(10, 15) + 'date=2020-04-14 time=00:23:00 devname="FG1" type="traffic" n=partial')
    s2 = ListSink()
    FileTail(str(log), "fortigate", s2, state, follow=True, poll=0.01).run(idle_exit=0.1)
    assert ns(s2) == list(range(10, 15))  # the partial line waits while following
    with log.open("a") as fh:
        fh.write("\n")
    s3 = ListSink()
    FileTail(str(log), "fortigate", s3, state).run()
    assert len(s3.events) == 1 and s3.events[0].doc["event"]["original"].endswith("n=partial")
    assert json.loads(state.read_text())["offset"] == log.stat().st_size


def test_checkpoint_only_after_flush(tmp_path: Path) -> None:
    log, state = tmp_path / "fw.log", tmp_path / "state.json"
    log.write_text(lines(0, 5))
    try:
        FileTail(str(log), "fortigate", FailingSink(), state).run()
    except RuntimeError:
        pass
    data = json.loads(state.read_text()) if state.exists() else {}
    assert data.get("offset", 0) == 0
    s = ListSink()
    FileTail(str(log), "fortigate", s, state).run()
    assert ns(s) == list(range(5))


def test_follow_across_rotation_and_truncation(tmp_path: Path) -> None:
    log, state = tmp_path / "fw.log", tmp_path / "state.json"
    log.write_text(lines(0, 3))
    sink = ListSink()
    tail = FileTail(str(log), "fortigate", sink, state, follow=True, poll=0.01)
    th = threading.Thread(target=tail.run)
    th.start()
    try:
        _wait(lambda: len(sink.events) == 3)
        with log.open("a") as fh:
            fh.write(lines(3, 5))
        os.rename(log, tmp_path / "fw.log.1")  # rotate: old file keeps growing a little
        with (tmp_path / "fw.log.1").open("a") as fh:
            fh.write(lines(5, 6))
        log.write_text(lines(6, 8))
        _wait(lambda: len(sink.events) == 8)
        log.write_text(lines(8, 9))  # copytruncate-style: same inode, smaller
        _wait(lambda: len(sink.events) == 9)
    finally:
        tail.stop_event.set()
        th.join(5)
    assert sorted(ns(sink)) == list(range(9))
    assert len({e.id for e in sink.events}) == 9


def test_winfirewall_resume_keeps_header_columns(tmp_path: Path) -> None:
    log, state = tmp_path / "pfirewall.log", tmp_path / "state.json"
    header = "#Version: 1.5\n#Fields: date time action protocol src-ip dst-ip src-port dst-port path pid\n"
    log.write_text(header + "2020-04-14 00:20:11 ALLOW TCP 10.0.0.1 10.0.0.2 1 3389 RECEIVE 7\n")
    s1 = ListSink()
    FileTail(str(log), "winfirewall", s1, state).run()
    with log.open("a") as fh:
        fh.write("2020-04-14 00:20:12 DROP TCP 10.0.0.1 10.0.0.2 1 3389 SEND 8\n")
    s2 = ListSink()
    FileTail(str(log), "winfirewall", s2, state).run()
    assert len(s1.events) == 1 and len(s2.events) == 1
    assert s2.events[0].doc["process"]["pid"] == 8
    assert s2.events[0].doc["network"]["direction"] == "outbound"


def test_huorong_db_checkpoint(tmp_path: Path) -> None:
    import sqlite3

    from .test_huorong import build

    db, state = tmp_path / "log.db", tmp_path / "state.json"
    build(db)
    s1 = ListSink()
    FileTail(str(db), "huorong", s1, state).run()
    assert len(s1.events) + len(s1.dead) == 4
    con = sqlite3.connect(db)
    con.execute("INSERT INTO HrLogV3 (fid, ts, detail) VALUES (1, 1, '{\"virus_name\": \"X\"}')")
    con.commit()
    con.close()
    s2 = ListSink()
    FileTail(str(db), "huorong", s2, state).run()
    assert [e.doc["rule"]["name"] for e in s2.events] == ["X"] and not s2.dead
    assert all(isinstance(i, Event | DeadLetter) for i in s1.events + s1.dead)


def _wait(cond, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        time.sleep(0.01)
    assert cond()
