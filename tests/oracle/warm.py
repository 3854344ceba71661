"""Reading the oracle's EVTX tables ahead, in the background, while the rest of the suite runs.

python-evtx is the oracle's reader on purpose (it shares no code with our shipper) and it is slow:
~32,000 records took ~10 minutes of the CI run on two cores, all of it inside the oracle's fixture.
Most of the suite before it waits on servers (polls, group joins, sleeps) with a core idle, so
`pytest_collection_finish` (tests/conftest.py) starts this module as a process at the lowest CPU
priority (`nice 19`: it takes what nobody else wants) when oracle tests were collected. It fills the
oracle's own per-file cache (`evtx_table.cached_rows`, content-addressed, written atomically), one
file at a time, largest first. The oracle's fixture stops it before its own read: files already
read are loaded from the cache, the rest are read by the oracle's pool as before, so the verdicts do
not depend on how far the warm-up got.

Run: python -m tests.oracle.warm EVTX_ROOT CACHE READER
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .evtx_table import cached_rows

_process: subprocess.Popen[bytes] | None = None


def start(evtx_root: Path, cache: Path, reader: str) -> None:
    """Starts the background reader (once per test session)."""
    global _process
    if _process is None:
        _process = subprocess.Popen([sys.executable, "-m", "tests.oracle.warm", str(evtx_root), str(cache), reader],
                                    cwd=Path(__file__).resolve().parents[2], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, preexec_fn=lambda: os.nice(19))


def stop() -> None:
    """Stops it (a file it was reading is left to the oracle's pool)."""
    global _process
    if _process is not None:
        _process.terminate()
        try:
            _process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _process.kill()
            _process.wait()
        _process = None


def main(argv: list[str]) -> int:
    root, cache, reader = Path(argv[0]), Path(argv[1]), argv[2]
    for path in sorted(root.rglob("*.evtx"), key=lambda f: -f.stat().st_size):
        cached_rows(path, cache, reader)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
