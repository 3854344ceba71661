"""SIGKILL-and-resume scaffolding of the multi-process shippers' real-server tests (`ship evtx
--workers`, `ship file --workers`): kill the supervisor with SIGKILL once it has checkpointed
something (no shutdown code runs), check that its worker processes die with it, and read back
which record ids reached Kafka, so the rerun can be reconciled against them."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from logwarden.config import Config
from tests.support.kafka_ids import id_headers


def alive(pid: int) -> bool:
    """True while a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def sigkill_when(proc: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = 300) -> list[int]:
    """Once `ready()` holds (polled every 20 ms while `proc` runs), SIGKILL `proc` and wait for it;
    returns the ids of its child processes (its workers) at the kill, after checking that none of
    them outlives it (an orphan would keep producing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if ready():
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()[1][-2000:]}"
    children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 60  # the workers die with the supervisor: soon, but a loaded box is slow
    while any(alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(c) for c in children), "orphan workers"
    return children


def ids_in_kafka(cfg: Config, datasets: tuple[str, ...], wanted: set[bytes], timeout: float = 180) -> set[bytes]:
    """The distinct `id` headers in the namespace's topics of `datasets`, read until `wanted` are
    all there (or `timeout`), plus anything that comes in the next few seconds."""
    return set(id_headers(cfg, datasets, lambda ids: wanted <= set(ids), timeout))
