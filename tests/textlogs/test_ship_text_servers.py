"""`ship file` / `ship syslog` refusals through the real CLI with the lab's settings: what
tests/textlogs/test_ship_text.py checks with a fake sink, here against the real Kafka (a login it
refuses, a port where none listens) and the real command line (usage errors: one line, exit 2)."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from logwarden.config import Config
from tests.support.cli import cli

pytestmark = pytest.mark.servers

ASA = (b"%ASA-6-302013: Built inbound TCP connection 1 for outside:1.2.3.4/5 (1.2.3.4/5) to "
       b"inside:10.0.0.1/3389 (10.0.0.1/3389)\n")


def one_line(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and lines, proc.stderr[-3000:]
    for needle in needles:
        assert needle in lines[-1], lines[-1]
    return lines[-1]


@pytest.fixture
def asa_log(tmp_path: Path) -> Path:
    path = tmp_path / "asa.log"
    path.write_bytes(ASA)
    return path


def test_ship_file_kafka_refusing_the_login_is_exit_3(ns: Config, asa_log: Path, tmp_path: Path) -> None:
    cfg = copy.copy(ns)
    cfg.kafka_password = "not-the-password"  # noqa: S105 - a wrong one, on purpose
    line = one_line(cli(cfg, "ship", "file", str(asa_log), "--source", "auto", "--state", str(tmp_path / "s.json")),
                    3, f"Kafka at {cfg.kafka}")
    assert "not-the-password" not in line
    assert not (tmp_path / "s.json").exists()  # nothing shipped, nothing checkpointed


def test_ship_file_kafka_not_listening_is_exit_3(ns: Config, asa_log: Path, tmp_path: Path,
                                                 refused_port: Callable[[], int]) -> None:
    port = refused_port()
    cfg = copy.copy(ns)
    cfg.kafka = f"127.0.0.1:{port}"
    one_line(cli(cfg, "ship", "file", str(asa_log), "--source", "auto", "--state", str(tmp_path / "s.json")),
             3, f"Kafka at 127.0.0.1:{port} not reachable")


def test_ship_usage_errors_are_exit_2(ns: Config, tmp_path: Path) -> None:
    one_line(cli(ns, "ship", "file", str(tmp_path / "nope.log"), "--source", "fortigate"), 2, "no such file")
    one_line(cli(ns, "ship", "file", str(tmp_path), "--source", "nosuch"), 2, "unknown source 'nosuch'")
    one_line(cli(ns, "ship", "file", str(tmp_path), "--source", "windows"), 2, "not read by `ship file`")
    one_line(cli(ns, "ship", "syslog"), 2, "--udp and/or --tcp")
