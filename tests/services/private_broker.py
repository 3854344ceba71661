"""A Kafka broker of a test's own, on its own loopback ports and data folder, that the test may
stop and start again (the shared lab's servers are never stopped). Started by the project's own
runtime (logwarden/runtime/lab.py), so it is the same Kafka as the lab's."""

from __future__ import annotations

import copy
import shutil
import socket
from pathlib import Path

from logwarden.config import Config
from logwarden.errors import ServerError
from logwarden.runtime import procs
from logwarden.runtime.lab import Lab

PORT_ATTEMPTS = 5  # first starts, each on a fresh port pair, before giving up


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
        self.cfg.home = str(home)
        # plaintext: these tests are about outages, the secured connections have their own tests
        # (tests/security); Elasticsearch stays the lab's, secured or not
        self.cfg.kafka_security_protocol = "PLAINTEXT"
        self.cfg.kafka_user = self.cfg.kafka_password = ""
        self.cfg.kafka_ca_file = self.cfg.kafka_cert_file = self.cfg.kafka_key_file = ""
        self._on_ports(free_port_pair())
        self._started = False

    def _on_ports(self, port: int) -> None:
        self.cfg.kafka = f"127.0.0.1:{port}"
        self.lab = Lab(self.cfg, insecure=True)

    def _ports_taken(self) -> bool:
        port = self.lab.kafka_port
        return procs.port_open("127.0.0.1", port) or procs.port_open("127.0.0.1", port + 1)

    def start(self) -> None:
        """Start (or restart, keeping its data and ports) and wait until it answers.

        The ports were free when picked, not held: at the first start another process (another
        test's broker) may have taken one of them since. The lab's start would then use a Kafka
        found on the port as its own, or ours would exit on "Address already in use"; either
        way a fresh pair is picked and the start tried again. At a restart the clients already
        know the port, so a port taken meanwhile fails the test with that reason.

        Raises:
            AssertionError: a restart found its port taken; or no first start in PORT_ATTEMPTS.
        """
        self.lab.home.mkdir(parents=True, exist_ok=True)
        if self._started:
            assert not self._ports_taken(), f"while stopped, another process took {self.cfg.kafka} or the next port"
            self.lab._kafka_up()  # only Kafka: this helper must never start a second Elasticsearch
            return
        for _ in range(PORT_ATTEMPTS):
            if not self._ports_taken():
                try:
                    self.lab._kafka_up()
                except ServerError:
                    if "Address already in use" not in procs.tail(self.lab.kafka_dir / "kafka.log", 200):
                        raise
                else:
                    if procs.read_pid(self.lab.kafka_dir / "pid") is not None:  # ours, not a Kafka found there
                        self._started = True
                        return
            procs.stop(self.lab.kafka_dir / "pid")
            shutil.rmtree(self.lab.kafka_dir, ignore_errors=True)  # formatted for the old ports
            self._on_ports(free_port_pair())
        raise AssertionError(f"no free port pair for a private Kafka after {PORT_ATTEMPTS} starts")

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL after 30 s)."""
        procs.stop(self.lab.kafka_dir / "pid")
