"""A private Kafka broker (tests/services/private_broker.py) that a test may freeze (SIGSTOP: the
connections stay open and nothing answers, as with a hung host) or stop, and the waits such a
test needs: a call that must not hang, and a topic once a resumed broker takes it again."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kafka.errors import KafkaError

from logwarden.config import Config
from logwarden.kafka_io import ensure_topics
from logwarden.runtime.lab import Lab
from tests.services.private_broker import PrivateBroker
from tests.support.namespaces import isolated

GENEROUS = 180.0  # seconds a call may take before the test calls it a hang


@contextmanager
def private_broker(lab: Lab, home: Path) -> Iterator[PrivateBroker]:
    """A broker of the test's own under `home`, resumed (if frozen) and stopped at the end."""
    own = PrivateBroker(isolated(lab.cfg, home), home / "broker")
    own.start()
    try:
        yield own
    finally:
        signal_broker(own, signal.SIGCONT)
        own.stop()


def signal_broker(broker: PrivateBroker, sig: signal.Signals) -> None:
    """Send `sig` to the broker's JVM (nothing when it is not running)."""
    pid_file = broker.lab.kafka_dir / "pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), sig)
        except ProcessLookupError:
            pass


def finishes(call: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    """(result, exception) of `call()`; fails the test when it has not returned after GENEROUS s."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = call()
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GENEROUS)
    assert not thread.is_alive(), f"still waiting after {GENEROUS:.0f}s: a hang"
    return out.get("result"), out.get("error")


def topic_when_ready(cfg: Config) -> None:
    """Create the namespace's windows topic (one partition) once the broker takes it: a broker
    that was frozen longer than its controller's session is fenced for a while after it resumes
    ("All brokers are currently fenced")."""
    deadline = time.monotonic() + GENEROUS
    while True:
        try:
            ensure_topics(cfg, datasets=("windows",), partitions=1)
            return
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
