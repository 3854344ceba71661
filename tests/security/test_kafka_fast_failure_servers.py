"""A wrong Kafka password (the secured lab) or a Kafka port nobody listens on, through the real
CLI: each command that starts with Kafka says so in one line naming host:port (and the user, never
the password), exit 3, in seconds instead of kafka-python's 30 s bootstrap timeout
(logwarden/kafka_preflight.py). The time each took is printed (`pytest -s`), not asserted.
A service that rides out outages (`index`) still waits for a Kafka that is down at its start."""

from __future__ import annotations

import copy
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from logwarden.config import Config
from logwarden.runtime.lab import Lab
from tests.services.helpers import Service
from tests.support.cli import cli

pytestmark = pytest.mark.servers

WRONG = "wrong-password-5Kp"


def _inputs(tmp_path: Path) -> dict[str, Path]:
    from logwarden.shippers.windows import synth

    xml = tmp_path / "security.xml"
    event = synth.security_4625("SRV-01", datetime(2020, 4, 14, 0, 22), 1, target_user="admin", ip="203.0.113.5")
    xml.write_text(f'<?xml version="1.0" encoding="utf-8"?>\n<Events>\n{event}\n</Events>\n', encoding="utf-8")
    firewall = tmp_path / "fw.log"
    firewall.write_text("Apr 14 00:22:01 fw1 kernel: IN=eth0 OUT= SRC=203.0.113.5 DST=10.0.0.5 LEN=60 PROTO=TCP "
                        "SPT=5555 DPT=3389\n")
    return {"xml": xml, "fw": firewall}


def _commands(inputs: dict[str, Path]) -> dict[str, tuple[str, ...]]:
    return {
        "setup": ("setup", "--no-es"),
        "ship evtx": ("ship", "evtx", str(inputs["xml"]), "--no-progress"),
        "ship file": ("ship", "file", str(inputs["fw"]), "--source", "iptables"),
    }


def _timed(cfg: Config, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = cli(cfg, *args, timeout=120)
    return done, time.monotonic() - started


def _one_line_exit_3(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_a_wrong_kafka_password_is_refused_in_seconds(ns: Config, lab: Lab, tmp_path: Path) -> None:
    if not lab.secure:
        pytest.fail("the lab runs without security (a plaintext lab was found on its ports)", pytrace=False)
    cfg = copy.copy(ns)
    cfg.kafka_password = WRONG
    commands = {**_commands(_inputs(tmp_path)), "index --once": ("index", "--once"),
                "stream --once": ("stream", "--once")}
    times = {}
    for name, args in commands.items():
        done, times[name] = _timed(cfg, *args)
        line = _one_line_exit_3(done, f"Kafka at {cfg.kafka}", "refused the SASL SCRAM-SHA-512 login",
                                f"user {cfg.kafka_user!r}")
        assert WRONG not in done.stderr + done.stdout, name
        assert line.startswith(f"logwarden {name.split()[0]}: "), line
    print("\nwrong Kafka password, exit 3 after: " + ", ".join(f"{n} {t:.1f}s" for n, t in times.items()))


def test_a_closed_kafka_port_is_reported_in_seconds(ns: Config, tmp_path: Path,
                                                    refused_port: Callable[[], int]) -> None:
    cfg = copy.copy(ns)
    cfg.kafka = f"127.0.0.1:{refused_port()}"
    times = {}
    for name, args in _commands(_inputs(tmp_path)).items():
        done, times[name] = _timed(cfg, *args)
        _one_line_exit_3(done, f"no Kafka broker answered at {cfg.kafka} (connection refused)")
        assert not ns.kafka_password or ns.kafka_password not in done.stderr + done.stdout, name
    print("\nclosed Kafka port, exit 3 after: " + ", ".join(f"{n} {t:.1f}s" for n, t in times.items()))


def test_the_indexer_still_waits_for_a_kafka_that_is_down_at_its_start(ns: Config,
                                                                        refused_port: Callable[[], int]) -> None:
    """The preflight's refusal is an outage to a service: logged once, retried until a stop."""
    closed = f"127.0.0.1:{refused_port()}"
    service = Service(ns, "index", "--json", env={"LOGWARDEN_KAFKA": closed})
    service.wait_for(f"Kafka at {closed} unreachable (no Kafka broker answered at {closed}")
    time.sleep(3)  # a few retries with backoff
    assert service.proc.poll() is None, "\n".join(service.lines[-20:])
    code, _ = service.stop()
    assert code == 0, "\n".join(service.lines[-20:])
    assert service.count("unreachable (") == 1, "the outage is logged once"
