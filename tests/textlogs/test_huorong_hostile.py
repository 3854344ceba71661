"""Huorong log.db that fights back (issue 7): odd ids, locks, corrupt files, missing columns.

Every row becomes an event or a dead letter, a file that cannot be read is one dead letter, the
reader never hangs, never recurses, makes at most one temporary copy, and a checkpoint taken
after any row resumes exactly after it."""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
import tracemalloc
from pathlib import Path
from types import SimpleNamespace

import pytest

from logwarden.shippers import capabilities
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.huorong import logdb, parse_line

from .huorong_dbs import DETAIL, TempWatch, ids, make_db, resume_after, shipped, watch_temp

pytestmark = pytest.mark.timeout(60)  # a hang fails the test instead of the run

ODD_IDS = ["abc", None, 0, -5, 1.5, 1.5, b"\x00blob", 2**63 - 1, -(2**63), "", 3.0e300, *([7] * 600)]
ODD_SCHEMA = "CREATE TABLE HrLogV3 (id, ts INTEGER, detail TEXT)"


def _odd_db(path: Path) -> int:
    return make_db(path, ODD_SCHEMA, [(i, 1586796600 + n, DETAIL) for n, i in enumerate(ODD_IDS)])


def _events(items: list) -> list[Event]:
    return [item for _, _, item in items if isinstance(item, Event)]


def _dead(items: list) -> list[DeadLetter]:
    return [item for _, _, item in items if isinstance(item, DeadLetter)]


def test_real_ids_end_and_give_every_row_once(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    n = make_db(db, "CREATE TABLE HrLogV3 (id REAL, ts INTEGER, detail TEXT)",
                [(1.5, 1586796600, DETAIL), (1.5, 1586796601, DETAIL), (2.25, 1586796602, DETAIL)])
    items = list(shipped(db))
    assert len(items) == n and len(_events(items)) == n
    assert len({item.id for _, _, item in items}) == n


def test_odd_ids_every_row_once_in_rowid_order(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    n = _odd_db(db)
    items = list(shipped(db))
    assert len(_events(items)) == n and not _dead(items)
    positions = [position for _, position, _ in items]
    assert positions == sorted(set(positions)) == list(range(1, n + 1))  # rowids, whatever `id` holds
    assert [e.position for e in _events(items)] == positions


def test_resume_is_exact_after_any_row(tmp_path: Path) -> None:
    """`ship file` checkpoints the position of the last delivered item: resuming from it neither
    repeats nor skips a row, including inside a run of 600 rows sharing one id and across batches."""
    db = tmp_path / "log.db"
    n = _odd_db(db)
    full = list(shipped(db, batch=50))
    for cut in sorted({0, 1, 2, 5, 11, 12, 49, 50, 51, 300, 499, 500, 501, n - 1, n}):
        rest = list(shipped(db, resume_after(full[:cut]), batch=50))
        assert ids(rest) == ids(full[cut:]), cut


def test_zero_and_negative_rowids_are_read(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    n = make_db(db, "CREATE TABLE HrLogV3 (id INTEGER PRIMARY KEY, ts INTEGER, detail TEXT)",
                [(-(2**63), 1, DETAIL), (-1, 2, DETAIL), (0, 3, DETAIL), (5, 4, DETAIL)])
    items = list(shipped(db))
    assert [p for _, p, _ in items] == [-(2**63), -1, 0, 5] and len(_events(items)) == n
    assert ids(shipped(db, resume_after(items[:2]))) == ids(items[2:])


def test_damaged_checkpoint_value_reads_from_the_start(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    n = _odd_db(db)
    assert len(list(shipped(db, {"HrLogV3": "12"}))) == n  # type: ignore[dict-item]
    assert len(list(shipped(db, {"HrLogV3": None}))) == n  # type: ignore[dict-item]


def test_emptied_and_refilled_table_is_read_from_the_start(tmp_path: Path) -> None:
    """Huorong's log cleared (rowids start again at 1): the old checkpoint must not hide new rows."""
    db = tmp_path / "log.db"
    n = make_db(db, "CREATE TABLE HrLogV3 (id INTEGER PRIMARY KEY, ts INTEGER, detail TEXT)",
                [(None, 1, DETAIL)] * 3)
    assert len(_events(list(shipped(db, {"HrLogV3": 500})))) == n


@pytest.fixture
def temp_watch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TempWatch:
    return watch_temp(tmp_path, monkeypatch)


def _multi_page_db(path: Path) -> bytes:
    make_db(path, "CREATE TABLE HrLogV3 (id INTEGER PRIMARY KEY, ts INTEGER, detail TEXT)",
            [(None, 1586796600 + i, DETAIL) for i in range(300)])
    return path.read_bytes()


def _unreadable(kind: str, path: Path) -> bytes:
    good = _multi_page_db(path.with_name("good.db"))
    page = int.from_bytes(good[16:18], "big")
    return {
        "header-only": b"SQLite format 3\x00",
        "header-100": good[:100],
        "first-page": good[:page],
        "truncated": good[: page + page // 2],
        "corrupt": good[:page] + bytes((i * 37 + 11) % 256 for i in range(len(good) - page)),
        "zeroed-schema": good[:100] + b"\x00" * (page - 100) + good[page:],
        "not-sqlite": b"MZ\x90\x00" + bytes(range(256)) * 40,
    }[kind]


@pytest.mark.parametrize("kind", ["header-only", "header-100", "first-page", "truncated", "corrupt",
                                  "zeroed-schema", "not-sqlite"])
def test_unreadable_file_is_a_dead_letter_with_one_copy_at_most(kind: str, tmp_path: Path,
                                                                 temp_watch: TempWatch) -> None:
    db = tmp_path / "log.db"
    db.write_bytes(_unreadable(kind, db))
    items = list(shipped(db))
    assert all(isinstance(item, Event | DeadLetter) for _, _, item in items)
    dead = _dead(items)
    assert dead and all(d.reason.startswith("huorong: ") for d in dead), items
    assert len(items) <= 300
    assert len(temp_watch.copies) <= 1
    assert list(temp_watch.root.iterdir()) == []  # the copy, if any, is gone
    # through the registry (what `parse` and `ship` call) it is the same, never an exception
    with db.open("rb") as fh:
        assert list(capabilities.stream_parser("huorong")(str(db), fh))


@pytest.mark.parametrize("kind", ["header-only", "header-100", "first-page", "zeroed-schema", "not-sqlite"])
def test_file_without_a_readable_schema_is_exactly_one_dead_letter(kind: str, tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    db.write_bytes(_unreadable(kind, db))
    items = [item for _, _, item in shipped(db)]
    assert len(items) == 1, items
    item = items[0]
    assert isinstance(item, DeadLetter) and item.source == str(db)


def test_header_check_reads_16_bytes_not_the_file(tmp_path: Path) -> None:
    """A log.db of 64 MiB (sparse tail: SQLite trusts the page count in its header) is routed as
    SQLite without being read whole."""
    db = tmp_path / "log.db"
    n = make_db(db, "CREATE TABLE HrLogV3 (id INTEGER PRIMARY KEY, ts INTEGER, detail TEXT)",
                [(None, 1586796600, DETAIL)] * 3)
    with db.open("r+b") as fh:
        fh.truncate(64 * 1024 * 1024)
    tracemalloc.start()
    try:
        with db.open("rb") as fh:
            items = list(capabilities.stream_parser("huorong")(str(db), fh))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sum(isinstance(i, Event) for i in items) == n
    assert peak < 8 * 1024 * 1024


def test_exclusive_lock_mid_read_ends_the_pass_with_a_dead_letter_then_resumes(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    n = make_db(db, "CREATE TABLE HrLogV3 (id INTEGER PRIMARY KEY, ts INTEGER, detail TEXT)",
                [(None, 1586796600 + i, DETAIL) for i in range(6)])
    full = list(shipped(db))
    reader = shipped(db, batch=2)
    first = [next(reader)]
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        first += list(reader)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    *rows, (_, lock_position, lock) = first
    assert len(rows) == 2 and all(isinstance(i, Event) for _, _, i in rows)
    assert isinstance(lock, DeadLetter) and "locked" in lock.reason and lock_position == rows[-1][1]
    rest = list(shipped(db, resume_after(first)))
    assert ids(rows) + ids(rest) == ids(full) and len(full) == n


def test_exclusive_lock_before_the_read_is_one_dead_letter(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    make_db(db, "CREATE TABLE HrLogV3 (id INTEGER PRIMARY KEY, ts INTEGER, detail TEXT)", [(None, 1, DETAIL)])
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        items = list(shipped(db))
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert len(items) == 1 and isinstance(items[0][2], DeadLetter) and "locked" in items[0][2].reason
    assert len(_events(list(shipped(db, resume_after(items))))) == 1


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_writer_between_batches_neither_skips_nor_repeats(tmp_path: Path, journal: str) -> None:
    db = tmp_path / "log.db"
    make_db(db, ODD_SCHEMA, [(7, i, DETAIL) for i in range(5)], journal=journal)
    reader = shipped(db, batch=2)
    items = [next(reader)]
    con = sqlite3.connect(db)
    con.executemany("INSERT INTO HrLogV3 VALUES (7, ?, ?)", [(100 + i, DETAIL) for i in range(4)])
    con.commit()
    con.close()
    items += list(reader)
    assert len(_events(items)) == 9 and len({i.id for _, _, i in items}) == 9
    assert not list(shipped(db, resume_after(items)))


def test_log_table_without_json_column_gives_dead_letters(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    n = make_db(db, "CREATE TABLE HrLogV3 (id INTEGER PRIMARY KEY, ts INTEGER, message TEXT)",
                [(None, 1586796600, "quarantined eight.exe")] * 3)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE settings (k TEXT, v INTEGER)")  # not a log table: not read
    con.execute("INSERT INTO settings VALUES ('x', 1)")
    con.commit()
    con.close()
    items = list(shipped(db))
    assert len(items) == n and all(t == "HrLogV3" for t, _, _ in items)
    assert all("no JSON detail" in d.reason for d in _dead(items)) and len(_dead(items)) == n


def test_hostile_table_names_are_read_not_executed(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    con = sqlite3.connect(db)
    for name in ('Hr"Log', "log; DROP TABLE x; --", "日志 log"):
        quoted = '"' + name.replace('"', '""') + '"'
        con.execute(f"CREATE TABLE {quoted} (id TEXT, detail TEXT)")
        con.execute(f"INSERT INTO {quoted} VALUES ('x', ?)", (DETAIL,))
    con.commit()
    con.close()
    before = db.read_bytes()
    items = list(shipped(db))
    assert sorted(t for t, _, _ in items) == sorted(['Hr"Log', "log; DROP TABLE x; --", "日志 log"])
    assert len(_events(items)) == 3 and db.read_bytes() == before


@pytest.mark.parametrize("table", ["HrLogV3", "events"])  # a log table by name, and one found by its rows
def test_column_name_that_is_not_utf8_is_a_dead_letter_not_a_crash(tmp_path: Path, table: str) -> None:
    """Python's sqlite3 decodes column names strictly as UTF-8 whatever the text factory: a damaged
    or hostile schema raised UnicodeDecodeError out of the reader (found by test_huorong_fuzz)."""
    db = tmp_path / "log.db"
    con = sqlite3.connect(db)
    con.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, detail TEXT, qqqzz TEXT)")
    con.execute(f"INSERT INTO {table} (detail, qqqzz) VALUES (?, 'x')", (DETAIL,))
    con.execute("CREATE TABLE ScanLog (id INTEGER PRIMARY KEY, detail TEXT)")  # a sound table beside it
    con.execute("INSERT INTO ScanLog (detail) VALUES (?)", (DETAIL,))
    con.commit()
    con.close()
    data = db.read_bytes()
    assert data.count(b"qqqzz") == 1
    db.write_bytes(data.replace(b"qqqzz", b"q\xff\xfezz"))  # same length: only the name's bytes change
    items = list(shipped(db))
    by_table = {t: i for t, _, i in items}
    assert set(by_table) == {table, "ScanLog"} and len(items) == 2
    assert isinstance(by_table["ScanLog"], Event)
    dead = by_table[table]
    assert isinstance(dead, DeadLetter) and "a column name is not UTF-8" in dead.reason


def test_table_without_rowid_is_one_dead_letter(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    make_db(db, "CREATE TABLE HrLogV3 (k TEXT PRIMARY KEY, detail TEXT) WITHOUT ROWID",
            [("a", DETAIL), ("b", DETAIL)])
    (item,) = [i for _, _, i in shipped(db)]
    assert isinstance(item, DeadLetter) and "no rowid" in item.reason


def test_text_that_is_not_utf8_stays_data(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    make_db(db, "CREATE TABLE HrLogV3 (id INTEGER PRIMARY KEY, detail TEXT)", [])
    con = sqlite3.connect(db)
    con.execute("INSERT INTO HrLogV3 (detail) VALUES (CAST(x'7b2276697275735f6e616d65223a22ff227d' AS TEXT))")
    con.execute("INSERT INTO HrLogV3 (detail) VALUES (CAST(? AS TEXT))", ('{"virus_name":"张三"}'.encode("gbk"),))
    con.execute("INSERT INTO HrLogV3 (detail) VALUES (CAST(x'fffe00' AS TEXT))")
    con.commit()
    con.close()
    items = list(shipped(db))
    assert len(items) == 3
    assert _events(items)[1].doc["rule"]["name"] == "张三"


@pytest.mark.parametrize("row_id", [10**30, -(10**30), "1.5", 1.5, True, None, 0, "x"])
def test_json_line_position_is_a_long(row_id: object) -> None:
    """An exported row whose id is no 64-bit integer keeps its line offset as position: the dead
    letter's `log.offset` must fit Elasticsearch's long."""
    raw = json.dumps({"id": row_id, "detail": "{broken"}).encode()
    item = parse_line(raw, "rows.jsonl", 42)
    assert isinstance(item, DeadLetter) and item.position == 42
    assert parse_line(json.dumps({"id": 9, "detail": DETAIL}).encode(), "rows.jsonl", 42).position == 9


def _cantopen(real_connect, fail_paths: str):  # type: ignore[no-untyped-def]
    """`logdb.connect` that fails like a WAL database whose -shm cannot be created, for paths
    matching `fail_paths` ("original" or "all")."""

    def connect(path: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if fail_paths == "all" or "logwarden-huorong-" not in path:
            exc = sqlite3.OperationalError("unable to open database file")
            exc.sqlite_errorname = "SQLITE_CANTOPEN"  # type: ignore[attr-defined]
            raise exc
        return real_connect(path, *args, **kwargs)

    return connect


def test_file_that_cannot_be_opened_in_place_is_read_from_one_copy(
        tmp_path: Path, temp_watch: TempWatch, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "log.db"
    n = _odd_db(db)
    full = list(shipped(db))
    monkeypatch.setattr(logdb, "connect", _cantopen(logdb.connect, "original"))
    items = list(shipped(db))
    assert ids(items) == ids(full) and len(items) == n
    assert len(temp_watch.copies) == 1 and list(temp_watch.root.iterdir()) == []


def test_copy_that_cannot_be_opened_either_is_one_dead_letter(
        tmp_path: Path, temp_watch: TempWatch, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "log.db"
    _odd_db(db)
    monkeypatch.setattr(logdb, "connect", _cantopen(logdb.connect, "all"))
    (item,) = [i for _, _, i in shipped(db)]
    assert isinstance(item, DeadLetter) and "SQLITE_CANTOPEN" in item.reason and item.source == str(db)
    assert len(temp_watch.copies) == 1 and list(temp_watch.root.iterdir()) == []


def test_no_copy_without_room_for_it(tmp_path: Path, temp_watch: TempWatch, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "log.db"
    _odd_db(db)
    monkeypatch.setattr(logdb, "connect", _cantopen(logdb.connect, "original"))
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: SimpleNamespace(total=10**9, used=10**9, free=1024))
    (item,) = [i for _, _, i in shipped(db)]
    assert isinstance(item, DeadLetter) and "would not fit" in item.reason
    assert temp_watch.copies == [] and list(temp_watch.root.iterdir()) == []


def test_damaged_btree_handing_rowids_back_out_of_order_ends_with_a_dead_letter(tmp_path: Path) -> None:
    """The first and last leaf pages of the table swapped: SQLite reads the file without complaint
    but walks rowids 274-300 and then 1-273, and `rowid > 300` lands back on them: a reader that
    trusts the order reads the same rows forever (found by the fuzz test as a hang)."""
    db = tmp_path / "log.db"
    make_db(db, "CREATE TABLE HrLogV3 (id INTEGER PRIMARY KEY, ts INTEGER, detail TEXT)",
            [(None, i, json.dumps({"virus_name": "x" * 60})) for i in range(300)])
    data = db.read_bytes()
    size = int.from_bytes(data[16:18], "big")
    pages = [data[i:i + size] for i in range(0, len(data), size)]
    leaves = [n for n, page in enumerate(pages) if n and page[0] == 0x0D]  # 0x0D: a table leaf page
    pages[leaves[0]], pages[leaves[-1]] = pages[leaves[-1]], pages[leaves[0]]
    db.write_bytes(b"".join(pages))
    items = list(itertools.islice(shipped(db), 1000))
    *rows, (_, position, damage) = items
    positions = [p for _, p, _ in rows]
    assert positions == sorted(set(positions)) and len(items) < 300
    assert isinstance(damage, DeadLetter) and "damaged" in damage.reason and position == positions[-1]
