"""Fuzzing the Huorong log.db reader with random databases: odd ids of every SQLite type, explicit
(negative, huge) rowids, missing or misnamed JSON columns, text that is not UTF-8, hostile table
names, rollback or WAL journal, then sometimes truncated or overwritten bytes.

Whatever the file holds: no exception, no hang (per-test timeout), at most one temporary copy and
nothing left in the temporary directory; an undamaged database gives rows-in = events + dead
letters, rowid order within each table, and a resume after any item that neither repeats nor skips.
Bounded to a few seconds (80 databases; HUORONG_FUZZ_EXAMPLES=N for a longer soak)."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwarden.shippers import registry
from logwarden.shippers.base import DeadLetter, Event

from .huorong_dbs import TempWatch, ids, resume_after, shipped, watch_temp

# a hang ends the run with the stacks printed (the thread method: hypothesis would catch the
# signal method's exception and replay the hanging example while shrinking)
pytestmark = pytest.mark.timeout(180, method="thread")

EXAMPLES = int(os.environ.get("HUORONG_FUZZ_EXAMPLES", "80"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
LOG_TABLE_NAMES = ["HrLogV3", "HrLog", 'Hr"Log', "log; --", "日志log", "ScanLog"]
ID_TYPES = ["INTEGER PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER", "REAL", "TEXT", "BLOB", "", None]
JSON_COLUMNS = ["detail", "data", "json", "msg", "message", None]  # `message` is no JSON column name


@dataclass(frozen=True)
class NotUtf8:
    """Bytes stored as TEXT (CAST), so SQLite hands back text that does not decode as UTF-8."""

    data: bytes


@dataclass
class TableSpec:
    name: str
    id_type: str | None
    json_column: str | None
    with_ts: bool
    rows: list[tuple[int | None, Any, Any, Any]] = field(default_factory=list)  # (rowid, id, ts, detail)


INT64 = st.integers(-(2**63), 2**63 - 1)
detail_values = st.one_of(
    st.dictionaries(st.sampled_from(["virus_name", "vname", "path", "action", "pid", "proc", "user", "x"]),
                    st.one_of(st.text(max_size=12), st.integers(), st.none(), st.floats()), max_size=5)
    .map(lambda d: json.dumps(d, ensure_ascii=False)),
    st.text(max_size=20), st.binary(max_size=20), st.none(), INT64, st.floats(),
    st.binary(min_size=1, max_size=20).map(NotUtf8),
    st.just('{"virus_name": "a", "path": ' * 30), st.just("[" * 5000 + "]" * 5000),
)
id_values = st.one_of(INT64, st.floats(), st.text(max_size=6), st.binary(max_size=6), st.none(), st.just(7))


@st.composite
def tables(draw: st.DrawFn, name: str) -> TableSpec:
    spec = TableSpec(name, draw(st.sampled_from(ID_TYPES)), draw(st.sampled_from(JSON_COLUMNS)), draw(st.booleans()))
    integer_key = (spec.id_type or "").startswith("INTEGER PRIMARY KEY")
    for _ in range(draw(st.integers(0, 25))):
        rowid = draw(st.one_of(st.none(), st.none(), INT64))
        ident = rowid if integer_key else draw(id_values)
        ts = draw(st.one_of(st.integers(-(2**40), 2**40), st.text(max_size=20), st.none(), st.floats()))
        spec.rows.append((rowid, ident, ts, draw(detail_values)))
    return spec


@st.composite
def databases(draw: st.DrawFn) -> tuple[list[TableSpec], str, tuple[str, int, bytes] | None]:
    names = draw(st.lists(st.sampled_from(LOG_TABLE_NAMES), min_size=1, max_size=3, unique=True))
    specs = [draw(tables(name)) for name in names]
    journal = draw(st.sampled_from(["delete", "wal"]))
    damage = draw(st.one_of(
        st.none(), st.none(),
        st.tuples(st.just("truncate"), st.integers(0, 20_000), st.just(b"")),
        st.tuples(st.just("overwrite"), st.integers(0, 20_000), st.binary(min_size=1, max_size=64)),
    ))
    return specs, journal, damage


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def build(path: Path, specs: list[TableSpec], journal: str) -> int:
    """Write the database; returns the rows it holds in log tables (counted by SQLite itself)."""
    con = sqlite3.connect(path, isolation_level=None)  # autocommit: a refused row undoes nothing else
    con.execute(f"PRAGMA journal_mode = {journal}")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("CREATE TABLE settings (k TEXT, v INTEGER)")  # not a log table: never read
    con.execute("INSERT INTO settings VALUES ('x', 1)")
    for spec in specs:
        columns = ([f"id {spec.id_type}"] if spec.id_type is not None else []) + (["ts"] if spec.with_ts else []) \
            + ([spec.json_column] if spec.json_column else []) + ["other"]
        con.execute(f"CREATE TABLE {_quoted(spec.name)} ({', '.join(columns)})")
        for rowid, ident, ts, detail in spec.rows:
            names, params = ["rowid"], ["?"]
            values: list[object] = [rowid]
            if spec.id_type is not None:
                names.append("id")
                params.append("?")
                values.append(ident)
            if spec.with_ts:
                names.append("ts")
                params.append("?")
                values.append(ts)
            if spec.json_column:
                names.append(spec.json_column)
                params.append("CAST(? AS TEXT)" if isinstance(detail, NotUtf8) else "?")
                values.append(detail.data if isinstance(detail, NotUtf8) else detail)
            try:
                con.execute(f"INSERT OR IGNORE INTO {_quoted(spec.name)} ({', '.join(names)}) "
                            f"VALUES ({', '.join(params)})", values)
            except sqlite3.Error:
                pass  # e.g. AUTOINCREMENT past the largest rowid (SQLITE_FULL): not a row
    rows_in = sum(con.execute(f"SELECT count(*) FROM {_quoted(s.name)}").fetchone()[0] for s in specs)
    con.close()
    return rows_in


def damage_file(path: Path, damage: tuple[str, int, bytes]) -> None:
    data = path.read_bytes()
    kind, offset, junk = damage
    offset %= max(len(data), 1)
    path.write_bytes(data[:offset] if kind == "truncate" else data[:offset] + junk + data[offset + len(junk):])


@pytest.fixture
def watch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TempWatch:
    return watch_temp(tmp_path, monkeypatch)


def test_fuzz_random_databases(tmp_path: Path, watch: TempWatch) -> None:
    counter = iter(range(10**6))

    @FUZZ
    @given(databases(), st.integers(0, 100))
    def run(case: tuple[list[TableSpec], str, tuple[str, int, bytes] | None], cut: int) -> None:
        specs, journal, damage = case
        folder = tmp_path / f"db{next(counter)}"
        folder.mkdir()
        db = folder / "log.db"
        rows_in = build(db, specs, journal)
        if damage:
            for extra in folder.glob("log.db-*"):
                extra.unlink()  # the damage is to the main file; a WAL would still hold the rows
            damage_file(db, damage)
        watch.copies.clear()
        items = list(shipped(db))
        assert all(isinstance(item, Event | DeadLetter) for _, _, item in items)
        assert len(watch.copies) <= 1 and list(watch.root.iterdir()) == []
        with db.open("rb") as fh:
            assert all(isinstance(i, Event | DeadLetter) for i in registry.get("huorong")(str(db), fh))
        assert list(watch.root.iterdir()) == []
        k = cut % (len(items) + 1)
        rest = list(shipped(db, resume_after(items[:k])))
        if damage:
            return  # damaged bytes: no count to reconcile, only "no exception, bounded, clean"
        assert len(items) == rows_in  # every row: an event or a dead letter, none twice
        by_table: dict[str, list[int]] = {}
        for table, position, _ in items:
            by_table.setdefault(table, []).append(position)
        assert all(p == sorted(set(p)) for p in by_table.values())
        assert set(by_table) <= {s.name for s in specs}
        assert ids(rest) == ids(items[k:])

    run()
