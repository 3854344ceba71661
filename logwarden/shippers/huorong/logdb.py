"""The SQLite side of Huorong's log.db: which tables hold log rows, in what order, from which
position, and what happens when the file is locked, corrupt, truncated or not SQLite at all.

Turning a row into an ECS document is parser.py's job; this module only hands out rows (or dead
letters for what it could not read) and never locks, changes or trusts the file:

- Position: SQLite's own rowid, not the table's `id` column. A rowid is a unique 64-bit integer
  per row, and `WHERE rowid > ? ORDER BY rowid` walks the table's B-tree in order, so a checkpoint
  `{table: last rowid}` resumes exactly whatever the `id` column holds (REAL, text, NULL, zero,
  negative, the same id on 10,000 rows). When `id` is an INTEGER PRIMARY KEY it *is* the rowid.
- Every step is bounded: one pass per batch, the rowid strictly grows, no recursion, at most one
  temporary copy (only when opening in place failed in a way a copy can cure), removed after.
- A file that cannot be read at all is one dead letter under the table key "" (the file itself);
  a table that fails part way is one dead letter at the last rowid read, which stays the
  checkpoint, so the next pass tries again from there; a lock held past the busy timeout ends
  the pass the same way.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from logwarden.shippers.base import DeadLetter
from logwarden.shippers.huorong import SOURCE

log = logging.getLogger(__name__)

MODULE = SOURCE.name
DATASET = SOURCE.dataset  # declared once, in the source's SOURCE
MAGIC = b"SQLite format 3\x00"
HEADER_SIZE = 100  # the SQLite file header; kept as the raw bytes of a whole-file dead letter
JSON_COLS = ("detail", "data", "json", "content", "msg", "info")
ROWID_NAMES = ("rowid", "_rowid_", "oid")  # any of them reaches the rowid unless a column took the name
ROWID_MIN, ROWID_MAX = -(2**63), 2**63 - 1
START = ROWID_MIN - 1  # the position before every row: what a table without a checkpoint reads after
FILE_KEY = ""  # table key of a dead letter about the whole file
BATCH = 500
BUSY_TIMEOUT_S = 2.0  # how long a statement waits for another connection's lock before the pass ends
COPY_CURES = ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_IOERR")
COPY_HEADROOM = 64 * 1024 * 1024  # free space left over after a temporary copy
LOG_TABLE = re.compile(r"log", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Table:
    """A table that holds log rows: its name, and the name that reaches its rowid (None: no rowid)."""

    name: str
    rowid: str | None


@dataclass(slots=True)
class Row:
    """One row as read: its table, its rowid (the position), its columns (names in lower case)."""

    table: str
    rowid: int
    values: dict[str, Any]

    def raw(self) -> bytes:
        """The row as JSON (`{"table": ..., <column>: <value>, ...}`): event.original / dead-letter bytes."""
        return json.dumps({"table": self.table, **self.values}, ensure_ascii=False, default=repr).encode(
            "utf-8", "replace")


Item = Row | DeadLetter


def quote_name(name: str) -> str:
    """An SQL identifier for any table or column name (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def _text(value: bytes) -> str:
    """TEXT values that are not UTF-8 (GB18030 is tried, Huorong is a Chinese product) stay data."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return value.decode("gb18030")
    except UnicodeDecodeError:
        return value.decode("utf-8", "replace")


def connect(path: str, immutable: bool = False, writable: bool = False) -> sqlite3.Connection:
    """A connection that cannot write: `mode=ro` on the live file, `immutable=1` (no locks at all)
    for a file nobody writes, `writable` only for our own copy (so SQLite may roll back a hot
    journal or replay a WAL there); `PRAGMA query_only` in every case. Raises sqlite3.Error."""
    mode = "rw" if writable else "ro"
    uri = f"file:{quote(str(Path(path).resolve()))}?mode={mode}" + ("&immutable=1" if immutable else "")
    con = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    con.text_factory = _text
    con.execute("PRAGMA query_only = 1")
    return con


def _reason(text: str) -> str:
    return f"{MODULE}: {text}"[:500]


def _describe(exc: sqlite3.Error | UnicodeDecodeError) -> str:
    if isinstance(exc, UnicodeDecodeError):  # Python's sqlite3 decodes column names as UTF-8, strictly
        return f"a column name is not UTF-8 ({exc.reason} at byte {exc.start}), which Python's sqlite3 cannot read"
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    return f"{name}: {exc}"


def _is_busy(exc: sqlite3.Error | UnicodeDecodeError) -> bool:
    return str(getattr(exc, "sqlite_errorname", "")).startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def _position(value: Any) -> int:
    """A checkpointed rowid; anything else (a damaged state file) means "from the first row"."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= START else START


def _header(path: str) -> bytes:
    """The first HEADER_SIZE bytes (never more: a 1.5 GB log.db is not read to check 16 bytes)."""
    with open(path, "rb") as fh:
        return fh.read(HEADER_SIZE)


def _file_dead_letter(path: str, raw: bytes, reason: str) -> tuple[str, int, Item]:
    return FILE_KEY, START, DeadLetter(path, raw, _reason(reason), DATASET, 0)


def _rowid_name(con: sqlite3.Connection, name: str, without_rowid: bool) -> str | None:
    if without_rowid:
        return None
    columns = {str(r[1]).lower() for r in con.execute(f"PRAGMA table_xinfo({quote_name(name)})")}
    return next((n for n in ROWID_NAMES if n not in columns), None)


def _is_log_table(con: sqlite3.Connection, name: str) -> bool:
    """A log table: named like one, or with a JSON column by name, or whose first row holds a JSON
    object. A table that cannot even be probed counts as one (its read then says why it failed)."""
    if LOG_TABLE.search(name):
        return True
    try:
        columns = [str(r[1]).lower() for r in con.execute(f"PRAGMA table_info({quote_name(name)})")]
        if any(c in JSON_COLS for c in columns):
            return True
        first = con.execute(f"SELECT * FROM {quote_name(name)} LIMIT 1").fetchone()
    except UnicodeDecodeError:  # a column name that is not UTF-8: its read says so in a dead letter
        return True
    except sqlite3.Error as exc:
        if _is_busy(exc):
            raise
        return True
    return bool(first) and any(isinstance(v, str) and v.lstrip().startswith("{") for v in first)


def log_tables(con: sqlite3.Connection) -> list[Table]:
    """The tables holding log rows, by name. Raises sqlite3.Error when the schema is unreadable."""
    tables = []
    for _schema, name, kind, _ncol, without_rowid, _strict in con.execute(
            "SELECT * FROM pragma_table_list WHERE schema = 'main' ORDER BY name"):
        name = str(name)
        if kind != "table" or name.lower().startswith("sqlite_"):
            continue
        if not _is_log_table(con, name):
            log.debug("huorong: table %r holds no JSON rows, not read", name)
            continue
        tables.append(Table(name, _rowid_name(con, name, bool(without_rowid))))
    return tables


def read_rows(path: str, after: dict[str, Any] | None = None, *, immutable: bool = False,
              batch: int = BATCH, own_copy: bool = False) -> Iterator[tuple[str, int, Item]]:
    """(table, rowid, Row or DeadLetter) for the rows after `after[table]` (a rowid; absent or not
    an integer: from the first row), table by table in name order, rowid order within a table.

    Never raises for what the file holds: an unreadable file is one dead letter under FILE_KEY, a
    failing table one dead letter at its last rowid read. `own_copy`: `path` is a temporary copy
    of ours (opened writable so SQLite can recover a journal; never copied again). Raises OSError
    only when `path` itself cannot be opened (missing, no permission)."""
    after = {str(k): _position(v) for k, v in (after or {}).items()}
    copy_allowed = not own_copy
    head = _header(path)
    if not head:
        return  # an empty file is an empty database: no tables, no rows
    if not head.startswith(MAGIC):
        yield _file_dead_letter(path, head, "not a SQLite database (no 'SQLite format 3' header)")
        return
    try:
        con = connect(path, immutable, writable=own_copy and not immutable)
    except sqlite3.Error as exc:
        yield from _unopened(path, head, after, batch, exc, copy_allowed)
        return
    try:
        try:
            tables = log_tables(con)
        except sqlite3.Error as exc:
            yield from _unopened(path, head, after, batch, exc, copy_allowed)
            return
        for table in tables:
            ended_by_lock = yield from _read_table(con, path, table, after.get(table.name, START), batch)
            if ended_by_lock:
                return
    finally:
        con.close()


def _unopened(path: str, head: bytes, after: dict[str, int], batch: int, exc: sqlite3.Error,
              copy_allowed: bool) -> Iterator[tuple[str, int, Item]]:
    """The file could not be opened or its schema read: one copy if a copy can cure it, else one
    dead letter for the whole file."""
    name = str(getattr(exc, "sqlite_errorname", ""))
    if copy_allowed and name.startswith(COPY_CURES):
        yield from _read_copy(path, head, after, batch)
        return
    what = "locked by another connection" if _is_busy(exc) else "cannot be read"
    yield _file_dead_letter(path, head, f"log.db {what}: {_describe(exc)}")


def _read_table(con: sqlite3.Connection, path: str, table: Table, position: int,
                batch: int) -> Generator[tuple[str, int, Item], None, bool]:
    """Rows of one table after `position`; returns True when a lock ended the pass."""
    source = f"{path}#{table.name}"
    if table.rowid is None:
        raw = json.dumps({"table": table.name}, ensure_ascii=False).encode("utf-8")
        yield table.name, position, DeadLetter(source, raw, _reason(
            f"table {table.name!r} has no rowid (WITHOUT ROWID, or columns named rowid, _rowid_ and oid): "
            "no position to resume from, not read"), DATASET, 0)
        return False
    rid, name = table.rowid, quote_name(table.name)
    last = position
    try:
        top = con.execute(f"SELECT max({rid}) FROM {name}").fetchone()[0]
        if top is not None and last > top:
            log.warning("huorong: %s: checkpoint rowid %d is past the last row (%d): the table was "
                        "emptied or replaced, reading it from the start", source, last, top)
            last = START
        while True:
            low, op = (ROWID_MIN, ">=") if last < ROWID_MIN else (last, ">")
            cursor = con.execute(f"SELECT {rid}, * FROM {name} WHERE {rid} {op} ? ORDER BY {rid} LIMIT ?",
                                 (low, batch))
            columns = [str(d[0]).lower() for d in cursor.description[1:]]
            rows = cursor.fetchall()
            if not rows:
                return False
            for values in rows:
                if not isinstance(values[0], int) or values[0] <= last:
                    raise sqlite3.DatabaseError(f"rowid {values[0]!r} came after rowid {last}: the table's "
                                                "B-tree is damaged")  # a loop on it would never end
                last = values[0]
                yield table.name, last, Row(table.name, last, dict(zip(columns, values[1:], strict=True)))
    except (sqlite3.Error, UnicodeDecodeError) as exc:  # the latter: a damaged or hostile column name
        busy = _is_busy(exc)
        what = "locked by another connection; the next pass resumes here" if busy else "unreadable"
        after_text = "the first row" if last < ROWID_MIN else f"rowid {last}"
        raw = json.dumps({"table": table.name, "after_rowid": None if last < ROWID_MIN else last},
                         ensure_ascii=False).encode("utf-8")
        yield table.name, last, DeadLetter(source, raw, _reason(
            f"table {table.name!r}: rows after {after_text} {what}: {_describe(exc)}"), DATASET,
            last if last >= ROWID_MIN else 0)
        return busy


def _read_copy(path: str, head: bytes, after: dict[str, int], batch: int) -> Iterator[tuple[str, int, Item]]:
    """Read one temporary copy of the database (+ its -wal / -journal), removed afterwards."""
    files = [path] + [path + s for s in ("-wal", "-journal") if Path(path + s).is_file()]
    size = sum(Path(f).stat().st_size for f in files)
    with tempfile.TemporaryDirectory(prefix="logwarden-huorong-") as tmp:
        free = shutil.disk_usage(tmp).free
        if size + COPY_HEADROOM > free:
            yield _file_dead_letter(path, head, f"log.db cannot be opened in place and a copy ({size} bytes) "
                                                f"would not fit in {tmp} ({free} bytes free)")
            return
        copy = str(Path(tmp) / "log.db")
        try:
            for f in files:
                shutil.copyfile(f, copy + f[len(path):])
        except OSError as exc:  # the disk filled up, a file vanished: the copy is abandoned, not retried
            yield _file_dead_letter(path, head, f"log.db cannot be opened in place and copying it failed: {exc}")
            return
        for table, rowid, item in read_rows(copy, after, batch=batch, own_copy=True):
            if isinstance(item, DeadLetter):
                item.source = item.source.replace(copy, path, 1)
            yield table, rowid, item
