"""Builders for hostile Huorong log.db files (odd ids, no JSON column, corrupt bytes), the
helpers the Huorong tests share to read them the way `ship file` does, and a watch on the
temporary directory (what the reader copies there and leaves behind)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.huorong import read_db

Item = Event | DeadLetter
DETAIL = json.dumps({"virus_name": "Trojan/Ransom.Phobos.a", "path": "C:\\x\\eight.exe", "action": "已隔离"},
                    ensure_ascii=False)


def make_db(path: Path, schema: str, rows: Iterable[tuple[Any, ...]], insert: str | None = None,
            journal: str = "delete") -> int:
    """A database with one table from `schema` (CREATE TABLE ...), the rows inserted with `insert`
    (default: all columns in order); returns how many rows it holds."""
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA journal_mode = {journal}")
    con.execute(schema)
    rows = list(rows)
    if rows:
        if insert is None:
            name = schema.split("(", 1)[0].split()[-1]
            insert = f"INSERT INTO {name} VALUES ({', '.join('?' * len(rows[0]))})"
        con.executemany(insert, rows)
    con.commit()
    con.close()
    return len(rows)


def shipped(path: Path, rows: dict[str, int] | None = None, **kwargs: Any) -> Iterator[tuple[str, int, Item]]:
    """read_db as `ship file` drives it (filetail keeps `rows[table] = position` per item)."""
    return read_db(str(path), after=dict(rows or {}), **kwargs)


def resume_after(items: list[tuple[str, int, Item]]) -> dict[str, int]:
    """The checkpoint `ship file` saves after delivering `items`."""
    rows: dict[str, int] = {}
    for table, position, _ in items:
        rows[table] = position
    return rows


def ids(items: Iterable[tuple[str, int, Item]]) -> list[str]:
    return [item.id for _, _, item in items]


@dataclass
class TempWatch:
    """tempfile's directory for one test (to see what the reader leaves behind) and the database
    copies (`shutil.copyfile` to a `log.db`) made while it is watched."""

    root: Path
    copies: list[str] = field(default_factory=list)


def watch_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TempWatch:
    """Point tempfile at a fresh folder and count the log.db copies made from now on."""
    watch = TempWatch(tmp_path / "tmp")
    watch.root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(watch.root))
    real = shutil.copyfile

    def counting(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(dst).endswith("log.db"):
            watch.copies.append(str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", counting)
    return watch
