"""Start, watch and stop the lab's server processes (detached, pid files, log files).

A server that dies or stays unhealthy during start-up raises `ServerError` (exit 3) naming its log
file; the log's last lines go to the `logging` module (stderr), not into the one-line message.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from logwarden.errors import ServerError

log = logging.getLogger(__name__)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    try:  # a child of this process that exited stays a zombie until reaped
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            os.waitpid(pid, os.WNOHANG)
            return None
    except (OSError, IndexError, ChildProcessError):
        pass
    return pid


def start(cmd: list[str], log_file: Path, pid_file: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> int:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - fixed command lines built by the lab
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
        )
    pid_file.write_text(str(proc.pid))
    return proc.pid


def wait_until(check: Callable[[], bool], timeout: float, what: str, pid_file: Path, log_file: Path) -> None:
    """Return once `check()` is true.

    Raises:
        ServerError: the process in `pid_file` exited, or `timeout` seconds passed.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if read_pid(pid_file) is None:
            log.error("%s exited during start-up; last lines of %s:\n%s", what, log_file, tail(log_file))
            raise ServerError(f"{what} exited during start-up (see {log_file})")
        time.sleep(0.5)
    log.error("%s not healthy after %.0fs; last lines of %s:\n%s", what, timeout, log_file, tail(log_file))
    raise ServerError(f"{what} not healthy after {timeout:.0f}s (see {log_file})")


def stop(pid_file: Path, timeout: float = 30.0) -> bool:
    pid = read_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and read_pid(pid_file) is not None:
        time.sleep(0.3)
    if read_pid(pid_file) is not None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    pid_file.unlink(missing_ok=True)
    return True


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
