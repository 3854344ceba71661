"""The lab's failures follow the error model: one line on stderr and the README's exit code, the
log tail on the logger (not in the message); `lab status --json` keeps stdout to the JSON."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from logwarden.errors import ServerError
from logwarden.runtime import procs
from logwarden.runtime.lab import Lab
from tests.support.paths import ROOT


def _lab(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logwarden.cli", "lab", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=env)


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    import os

    return {**os.environ, "LOGWARDEN_HOME": str(tmp_path / "home"), **values}


def test_non_loopback_address_is_a_config_error(tmp_path: Path) -> None:
    proc = _lab("up", env=_env(tmp_path, LOGWARDEN_KAFKA="10.1.2.3:9092"))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip() == "logwarden lab: the lab only binds to loopback, not '10.1.2.3'"


def test_port_held_by_something_else_is_a_server_error(tmp_path: Path) -> None:
    with socket.socket() as listener:  # accepts connections and hangs up: not Kafka
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def hang_up() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:  # the listener was closed: the test is over
                    return
                conn.close()

        threading.Thread(target=hang_up, daemon=True).start()
        proc = _lab("up", env=_env(tmp_path, LOGWARDEN_KAFKA=f"127.0.0.1:{port}"))
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines()[-1] == f"logwarden lab: port {port} is taken by something that is not Kafka"


def test_server_exiting_at_start_up_names_its_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log_file, pid_file = tmp_path / "server.log", tmp_path / "pid"
    procs.start([sys.executable, "-c", "print('bad setting: heap'); raise SystemExit(1)"], log_file, pid_file)
    with caplog.at_level(logging.ERROR, logger="logwarden"), pytest.raises(ServerError) as raised:
        procs.wait_until(lambda: False, 60, "Kafka", pid_file, log_file)
    assert str(raised.value) == f"Kafka exited during start-up (see {log_file})"
    assert "bad setting: heap" in caplog.text  # the tail goes to the log, not into the one line


@pytest.mark.servers
def test_status_json_is_the_only_output(lab: Lab, tmp_path: Path) -> None:
    from tests.support.cli import env_for

    proc = _lab("status", "--json", env={**env_for(lab.cfg), "LOGWARDEN_HOME": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr
    statuses = json.loads(proc.stdout)
    assert {s["name"]: s["healthy"] for s in statuses} == {"kafka": True, "elasticsearch": True}
