"""Read a log file, optionally follow it across rotation, with a checkpoint.

What to read is the source's declaration (`Source`, found through the registry): a source with a
row reader (`read_rows`, e.g. Huorong's log.db) is read by row id per table, any other by lines
through a fresh `LineSession` per file (stateful for formats such as W3C, whose `#Fields:`
directives give the meaning of the lines after them).

State file (JSON): {"path", "inode", "offset"} for line files, {"path", "rows": {table: id}} for
row databases. The state is written only after `sink.flush()` returned, and atomically
(temp file + rename), so a restart resumes exactly after the last flushed line: nothing skipped,
nothing repeated. Only complete lines are read while following (a partial last line waits for its
newline; without --follow it is read at EOF).

A pipe (`-`, standard input) or a FIFO is read once, to its end: it cannot be re-read, so it
has no checkpoint and cannot be followed; positions count its bytes from 0 (`Unseekable`).

Rotation: when the path's inode changes, the old file is read to its end, then the new file from
offset 0; when the file shrinks below the offset (copytruncate), reading restarts at 0. Event ids
use `<path>#<inode>` as the source, so a rotated file's lines never collide with the old file's.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

from logwarden.errors import UsageError
from logwarden.shippers import capabilities, registry
from logwarden.shippers.base import DeadLetter, Event, Sink
from logwarden.shippers.checkpoint import save_json
from logwarden.shippers.source import LineSession, RowReader


class State:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data: dict[str, Any] = {}
        if path and path.exists():
            try:
                self.data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.data = {}

    def save(self, **values: Any) -> None:
        self.data.update(values)
        if self.path:
            save_json(self.path, self.data)  # OutputError (exit 2) when it cannot be written


STDIN = "-"


def is_stream(path: str) -> bool:
    """Whether `path` names input that can be read only once: `-` (standard input) or a FIFO,
    socket or character device."""
    if path == STDIN:
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


class Unseekable:
    """A pipe or FIFO read line by line as if it were a file: `tell()` counts the bytes read, and
    `seek()` back to the start of the line just read pushes that line back (the one seek the
    line reader makes, to wait for the rest of a partial line)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.pos = 0
        self.last = b""
        self.pushed = b""

    def readline(self) -> bytes:
        line = self.pushed + self.raw.readline() if self.pushed else self.raw.readline()
        self.pushed = b""
        self.last = line
        self.pos += len(line)
        return line

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int) -> None:
        if offset != self.pos - len(self.last):
            raise OSError(f"cannot seek a pipe to {offset}")
        self.pushed, self.last, self.pos = self.last, b"", offset

    def close(self) -> None:
        if self.raw is not sys.stdin.buffer:
            self.raw.close()


class FileTail:
    def __init__(self, path: str, source: str, sink: Sink, state_file: str | Path | None = None,
                 follow: bool = False, poll: float = 0.5, batch: int = 1000) -> None:
        if not capabilities.can_tail(source):  # UnknownSource (a UsageError) when nobody declares it
            raise UsageError(f"source {source!r} cannot be read by `ship file` (no line parser, no row reader); "
                             f"sources that can: {', '.join(registry.names(lambda s: s.tailable, auto=True))}")
        if follow and not capabilities.can_follow(source):
            raise UsageError(f"source {source!r} cannot be followed")
        self.stream = is_stream(path)
        if self.stream and (follow or capabilities.row_reader(source) is not None):
            raise UsageError(f"{path} is a pipe or FIFO: it is read to its end once, line by line "
                             f"(it cannot be followed, nor read as a database)")
        self.path, self.source, self.sink = path, source, sink
        self.state = State(Path(state_file) if state_file and not self.stream else None)
        self.follow, self.poll, self.batch = follow, poll, batch
        self.stop_event = threading.Event()
        self.sent = self.parsed = self.dead = 0

    # ------------------------------------------------------------------ line files
    def run(self, stop: threading.Event | None = None, idle_exit: float | None = None) -> dict[str, int]:
        """Read (and follow) until EOF (no follow), `stop` is set, or idle for idle_exit seconds."""
        stop = stop or self.stop_event
        read_rows = capabilities.row_reader(self.source)
        if read_rows is not None:
            return self._run_db(read_rows, stop, idle_exit)
        fh: BinaryIO | None = None
        inode = None
        feeder: LineSession | None = None
        idle_since = time.monotonic()
        while not stop.is_set():
            if fh is None:
                fh, inode, feeder = self._open()
                if fh is None:
                    if not self.follow:
                        raise FileNotFoundError(self.path)
                    time.sleep(self.poll)
                    continue
            assert feeder is not None
            got = self._read_lines(fh, inode, feeder, final=not self.follow)
            if got:
                idle_since = time.monotonic()
                continue
            if not self.follow:
                break
            # at EOF: rotated or truncated?
            rotated = self._rotated(inode, fh)
            if rotated:
                self._read_lines(fh, inode, feeder, final=True)  # drain the old file
                fh.close()
                fh = None
                self.state.save(inode=None, offset=0)
                continue
            if idle_exit is not None and time.monotonic() - idle_since >= idle_exit:
                break
            stop.wait(self.poll)
        if fh is not None:
            fh.close()
        return {"sent": self.sent, "parsed": self.parsed, "dead": self.dead}

    def _open(self) -> tuple[BinaryIO | None, int | None, LineSession | None]:
        if self.stream:  # read once from byte 0: no checkpoint, no rotation
            raw = sys.stdin.buffer if self.path == STDIN else open(self.path, "rb")  # noqa: SIM115 - closed by run()
            unseekable: Any = Unseekable(raw)
            return unseekable, os.fstat(raw.fileno()).st_ino, capabilities.new_line_session(self.source)
        try:
            fh = open(self.path, "rb")  # noqa: SIM115 - kept open across loop iterations
        except FileNotFoundError:
            return None, None, None
        st = os.fstat(fh.fileno())
        inode = st.st_ino
        offset = 0
        if self.state.data.get("inode") == inode and self.state.data.get("path") == self.path:
            offset = int(self.state.data.get("offset", 0))
            if offset > st.st_size:
                offset = 0  # truncated while we were away
        feeder = capabilities.new_line_session(self.source)
        fh.seek(offset)
        prime = getattr(feeder, "prime", None)  # optional: a session that needs the lines before `offset`
        if offset and prime is not None:
            prime(fh, offset)
        self.state.save(path=self.path, inode=inode, offset=offset)
        return fh, inode, feeder

    def _rotated(self, inode: int | None, fh: BinaryIO) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False  # rotated away, new file not there yet: keep the old handle
        if st.st_ino != inode:
            return True
        if st.st_size < fh.tell():
            fh.seek(0)
            self.state.save(offset=0)
        return False

    def _read_lines(self, fh: BinaryIO, inode: int | None, feeder: LineSession, final: bool) -> int:
        n = 0
        source = f"{self.path}#{inode}"
        while n < self.batch:
            start = fh.tell()
            line = fh.readline()
            if not line:
                break
            if not line.endswith(b"\n") and not final:
                fh.seek(start)  # partial line: wait for the rest
                break
            n += 1
            raw = line.rstrip(b"\r\n")
            if not raw.strip():
                continue
            item = feeder.feed(raw, source, start)
            if item is not None:
                self._send(item)
        if n:
            self.sink.flush()
            self.state.save(path=self.path, inode=inode, offset=fh.tell())
        return n

    def _send(self, item: Event | DeadLetter) -> None:
        self.sink.send(item)
        self.sent += 1
        if isinstance(item, DeadLetter):
            self.dead += 1
        else:
            self.parsed += 1

    # ------------------------------------------------------------------ row databases (Huorong log.db)
    def _run_db(self, read_rows: RowReader, stop: threading.Event, idle_exit: float | None) -> dict[str, int]:
        rows: dict[str, int] = dict(self.state.data.get("rows") or {})
        idle_since = time.monotonic()
        while not stop.is_set():
            got = 0
            with contextlib.suppress(FileNotFoundError):
                for table, rid, item in read_rows(self.path, after=rows):
                    self._send(item)
                    rows[table] = rid
                    got += 1
                    if got % self.batch == 0:
                        self._checkpoint_db(rows)
            if got:
                self._checkpoint_db(rows)
                idle_since = time.monotonic()
            if not self.follow:
                break
            if idle_exit is not None and time.monotonic() - idle_since >= idle_exit:
                break
            stop.wait(self.poll)
        return {"sent": self.sent, "parsed": self.parsed, "dead": self.dead}

    def _checkpoint_db(self, rows: dict[str, int]) -> None:
        self.sink.flush()
        self.state.save(path=self.path, rows=dict(rows))
