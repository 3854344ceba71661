"""How a test hands a file to a command: by path, through a pipe (`-`, the command's stdin) or
through a FIFO. The writer side of a FIFO runs in a thread, as a real log forwarder would."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

MODES = ("file", "pipe", "fifo")


@contextlib.contextmanager
def given_as(mode: str, body: bytes, folder: Path) -> Iterator[tuple[str, bytes | None]]:
    """(the path argument, the bytes to give on stdin or None) for `body` handed over by `mode`."""
    if mode == "pipe":
        yield "-", body
        return
    path = folder / f"input-{mode}.log"
    if mode == "file":
        path.write_bytes(body)
        yield str(path), None
        return
    os.mkfifo(path)
    failures: list[BaseException] = []

    def write() -> None:
        try:
            with open(path, "wb") as fifo:  # blocks until the command opens it for reading
                fifo.write(body)
        except BrokenPipeError as exc:  # the reader stopped early: the test's counts will say so
            failures.append(exc)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield str(path), None
    finally:
        if writer.is_alive():  # the command never opened it: unblock the writer
            with contextlib.suppress(OSError), open(path, "rb") as unblock:
                unblock.read()
        writer.join(30)
    assert not failures, f"the FIFO's reader stopped before the end: {failures[0]!r}"
