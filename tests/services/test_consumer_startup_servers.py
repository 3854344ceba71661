"""Every command that builds a Kafka consumer and drains (`index --once`, `stream --once`, `ship
kafka --once`, `lab replay`), with either consumer client: a Kafka port nobody listens on, or a wrong
password on the secured lab, is exit 3 with one line on stderr (host:port, the user, never the
password), at once: before, a closed port waited out consume.py's 60 s patience of a drain
(logwarden/consume.py `retry_kafka`, logwarden/kafka_preflight.py). The time each took is
printed (`pytest -s`), not asserted; the subprocess timeout is generous. A service without
`--once` still waits for a Kafka that is down at its start
(tests/security/test_kafka_fast_failure_servers.py)."""

from __future__ import annotations

import copy
import subprocess
import time
from collections.abc import Callable

import pytest

from logwarden.config import Config
from logwarden.runtime.lab import Lab
from tests.security.test_kafka_fast_failure_servers import _one_line_exit_3 as one_line_exit_3
from tests.support.cli import cli

pytestmark = pytest.mark.servers

WRONG = "wrong-password-h6q"
CLIENTS = ["kafka-python", "confluent"]
DRAINS = {
    "index --once": ("index", "--once"),
    "stream --once": ("stream", "--once"),
    "ship kafka --once": ("ship", "kafka", "--topic", "agents-in", "--source", "windows", "--once"),
}


def _with(cfg: Config, client: str, **settings: str) -> Config:
    changed = copy.copy(cfg)
    changed.kafka_client = client
    for name, value in settings.items():
        setattr(changed, name, value)
    return changed


def _one_line_exit_3(name: str, done: subprocess.CompletedProcess[str], *needles: str) -> str:
    line = one_line_exit_3(done, *needles)
    assert line.startswith(f"logwarden {name.split()[0]}: "), line
    return line


def _run_all(cfg: Config, commands: dict[str, tuple[str, ...]]) -> dict[str, tuple[subprocess.CompletedProcess[str],
                                                                                     float]]:
    out = {}
    for name, args in commands.items():
        started = time.monotonic()
        out[name] = cli(cfg, *args, timeout=50), time.monotonic() - started  # the old patience was 60 s
    return out


@pytest.mark.parametrize("client", CLIENTS)
def test_a_closed_kafka_port_ends_every_drain_at_once(ns: Config, client: str, refused_port: Callable[[], int]) -> None:
    cfg = _with(ns, client, kafka=f"127.0.0.1:{refused_port()}")
    runs = _run_all(cfg, DRAINS)
    for name, (done, _) in runs.items():
        _one_line_exit_3(name, done, f"no Kafka broker answered at {cfg.kafka} (connection refused)")
        assert not ns.kafka_password or ns.kafka_password not in done.stderr + done.stdout, name
    print(f"\n{client}, closed Kafka port, exit 3 after: " + ", ".join(f"{n} {t:.1f}s" for n, (_, t) in runs.items()))


@pytest.mark.parametrize("client", CLIENTS)
def test_a_wrong_kafka_password_ends_every_drain_at_once(ns: Config, lab: Lab, client: str) -> None:
    if not lab.secure:
        pytest.fail("the lab runs without security (a plaintext lab was found on its ports)", pytrace=False)
    cfg = _with(ns, client, kafka_password=WRONG)
    runs = _run_all(cfg, DRAINS)
    for name, (done, _) in runs.items():
        _one_line_exit_3(name, done, f"Kafka at {cfg.kafka}", "refused the SASL", f"user {cfg.kafka_user!r}")
        assert WRONG not in done.stderr + done.stdout, name
    print(f"\n{client}, wrong Kafka password, exit 3 after: "
          + ", ".join(f"{n} {t:.1f}s" for n, (_, t) in runs.items()))


def test_lab_replay_with_a_closed_kafka_port_is_exit_3_at_once(ns: Config, tmp_path,
                                                               refused_port: Callable[[], int]) -> None:
    """`lab replay` ships, indexes, then reads the topics back with a consumer (stream's verdicts):
    its first Kafka client already meets the closed port."""
    cfg = _with(ns, "confluent", kafka=f"127.0.0.1:{refused_port()}")
    started = time.monotonic()
    done = cli(cfg, "lab", "replay", "phobos", "--external", "--out", str(tmp_path / "replay"), timeout=120)
    _one_line_exit_3("lab replay", done, f"no Kafka broker answered at {cfg.kafka} (connection refused)")
    print(f"\nlab replay, closed Kafka port, exit 3 after {time.monotonic() - started:.1f}s")
