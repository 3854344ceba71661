"""Run a command as if the disk were full: RLIMIT_FSIZE makes any write past `limit` bytes of a
file fail with EFBIG (SIGXFSZ ignored), which is what a full disk does to the writer. Works as
root, where a read-only folder does not stop anyone."""

from __future__ import annotations

import resource
import signal
import subprocess
from collections.abc import Callable
from typing import Any


def limit_file_size(limit: int) -> Callable[[], None]:
    """A `preexec_fn` for subprocess: files of the child cannot grow past `limit` bytes."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def run_with_full_disk(args: list[str], limit: int = 1024, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """`args` run to the end with files limited to `limit` bytes; stdout and stderr captured as text."""
    return subprocess.run(args, preexec_fn=limit_file_size(limit), capture_output=True, text=True,  # noqa: PLW1509
                          timeout=300, **kwargs)
