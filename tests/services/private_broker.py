"""A Kafka broker of a test's own, on its own loopback ports and data folder, that the test may
stop and start again (the shared lab's servers are never stopped). Started by the project's own
runtime (logwarden/runtime/lab.py), so it is the same Kafka as the lab's."""

from __future__ import annotations

import copy
import socket
from pathlib import Path

from logwarden.config import Config
from logwarden.runtime import procs
from logwarden.runtime.lab import Lab


def free_port_pair() -> int:
    """A port p with p and p + 1 free now (Kafka's listener and its controller)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 65535 and not procs.port_open("127.0.0.1", port + 1):
            return int(port)
    raise RuntimeError("no two consecutive free ports")


class PrivateBroker:
    """`start()` / `stop()` a KRaft broker under `home`; `cfg` points at it (ES stays the lab's)."""

    def __init__(self, cfg: Config, home: Path) -> None:
        self.cfg = copy.copy(cfg)
        self.cfg.kafka = f"127.0.0.1:{free_port_pair()}"
        self.cfg.home = str(home)
        self.lab = Lab(self.cfg)

    def start(self) -> None:
        """Start (or restart, keeping its data) and wait until it answers."""
        self.lab.home.mkdir(parents=True, exist_ok=True)
        self.lab._kafka_up()  # only Kafka: this helper must never start a second Elasticsearch

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL after 30 s)."""
        procs.stop(self.lab.kafka_dir / "pid")
