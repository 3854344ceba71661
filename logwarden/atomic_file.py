"""Writing a command's output (a report, converted queries) so a failure never leaves half a file
and never becomes a traceback.

- `check_output_path(path)`: before any work, refuse a folder, a missing parent folder or a
  parent that is not a folder (OutputError, exit 2), so a long hunt does not fail at the end.
- `output(path)`: a context manager giving a text stream. For a regular file (or a new one) the
  text goes to a temporary file in the same folder, renamed over the target only when the block
  finished without error (an interrupted or failed write leaves the old file, or none, and no
  temporary file behind). A target that exists and is not a regular file (`/dev/full`, a FIFO,
  a terminal) is written in place: renaming over a device is never right. `path=None` is
  standard output, flushed inside the block so a full disk is reported here; a closed standard
  output (the command started with `>&-`) is an OutputError before the block runs.
- `append_line(path, line)`: one record added at the end of a log a service keeps (the
  indexer's `rejected-deadletters.jsonl`): whole or not at all (a failed write is cut off
  again), on disk (fsync) before the call returns, one writer at a time (flock).
Every OSError while writing (no permission, a full disk, an I/O error) becomes one OutputError
(exit 2) naming the destination: the place the user chose cannot take the output. The
checkpoints of `ship evtx` and `ship file` are written through here too, so the rule is the same
for every file a command writes. A closed pipe on standard output stays a BrokenPipeError (the CLI
treats a reader that left as success).
"""

from __future__ import annotations

import fcntl
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from logwarden.errors import OutputError
from logwarden.safe_text import printable

STDOUT_LABEL = "standard output"


def _label(path: Path) -> str:
    return printable(str(path))


def check_output_path(path: Path) -> None:
    """Raises OutputError when `path` cannot become a file: it is a folder, or its folder is
    missing or not a folder. Returns None when writing there can be tried."""
    if path.is_dir():
        raise OutputError(f"cannot write to {_label(path)}: it is a folder (give a file name)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"cannot write to {_label(path)}: folder {_label(parent)} does not exist")
    if not parent.is_dir():
        raise OutputError(f"cannot write to {_label(path)}: {_label(parent)} is not a folder")


def _is_special(path: Path) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode)


@contextmanager
def _replace_file(path: Path, encoding: str) -> Iterator[TextIO]:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                                    prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def _stdout() -> Iterator[TextIO]:
    if sys.stdout is None:  # started with file descriptor 1 closed (`>&-`)
        raise OutputError(f"cannot write to {STDOUT_LABEL}: it is closed")
    yield sys.stdout
    sys.stdout.flush()


def discard_stdout() -> None:
    """Point file descriptor 1 at /dev/null, so the interpreter's final flush of text that could
    not be written does not print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


@contextmanager
def output(path: Path | None, encoding: str = "utf-8", what: str = "") -> Iterator[TextIO]:
    """A text stream for `path` (None: standard output), complete or absent when the block ends;
    `what` names the file in messages ("checkpoint").

    Raises OutputError (path unusable, no permission, disk full, I/O error) and lets
    BrokenPipeError through."""
    where = STDOUT_LABEL if path is None else _label(path)
    where = f"{what} {where}" if what else f"to {where}"
    if path is not None:
        check_output_path(path)
    try:
        if path is None:
            with _stdout() as out:
                yield out
        elif _is_special(path):
            with open(path, "w", encoding=encoding, newline="") as out:
                yield out
        else:
            with _replace_file(path, encoding) as out:
                yield out
    except BrokenPipeError:
        raise
    except OSError as exc:
        if path is None:
            discard_stdout()
        raise OutputError(f"cannot write {where}: {exc.strerror or exc}") from exc


def append_line(path: Path, line: bytes, what: str = "") -> None:
    """Append `line` (one record, newline included) to `path`, making its folder when missing;
    `what` names the file in messages. Returns once the line is on disk.

    Raises OutputError (a folder in the way, no permission, disk full, I/O error): the file then
    holds exactly what it held before."""
    where = f"{what} {_label(path)}" if what else f"to {_label(path)}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            before = os.fstat(fd).st_size
            try:
                rest = memoryview(line)
                while rest:
                    rest = rest[os.write(fd, rest):]
                os.fsync(fd)
            except OSError:
                os.ftruncate(fd, before)  # never half a record
                raise
        finally:
            os.close(fd)  # releases the lock
    except OSError as exc:
        raise OutputError(f"cannot write {where}: {exc.strerror or exc}") from exc
