"""The local runtime: real Apache Kafka (KRaft) and Elasticsearch on loopback.

`Lab(cfg).up()` fetches both (cached), starts them, waits until healthy; running it again is
harmless (a healthy server is left alone). `down()` stops them, `status()` reports. Data, logs
and pid files live under cfg.home (default ./.lab). Tests, .ci/run and the demo all use this.

Errors (logwarden/errors.py): a non-loopback address is a `ConfigError`; a port held by something
else, a server that does not start, or a failed download is a `ServerError`.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from logwarden.config import Config
from logwarden.errors import ConfigError, ServerError
from logwarden.runtime import fetch, procs

ES_USER = "logwarden-es"  # Elasticsearch refuses to run as root


@dataclass
class ServerStatus:
    name: str
    address: str
    running: bool
    healthy: bool
    pid: int | None
    detail: str = ""


class Lab:
    """Kafka and Elasticsearch for `cfg` (loopback addresses only), under cfg.home."""

    def __init__(self, cfg: Config) -> None:
        """Raises ConfigError when an address in `cfg` is not loopback."""
        self.cfg = cfg
        self.home = cfg.home_path
        k = cfg.kafka.split(",")[0]
        self.kafka_host, kport = k.rsplit(":", 1)
        self.kafka_port = int(kport)
        url = urlparse(cfg.elasticsearch)
        self.es_host = url.hostname or "127.0.0.1"
        self.es_port = url.port or 9200
        for host in (self.kafka_host, self.es_host):
            if host not in ("127.0.0.1", "localhost", "::1"):
                raise ConfigError(f"the lab only binds to loopback, not {host!r}")

    # -- paths
    @property
    def kafka_dir(self) -> Path:
        return self.home / "kafka"

    @property
    def es_dir(self) -> Path:
        return self.home / "elasticsearch"

    # -- public API
    def up(self) -> list[ServerStatus]:
        """Start whatever is not healthy yet (downloading on first use); returns both statuses.

        Raises:
            ServerError: a port is held by something else, a server did not start, a download failed.
            ConfigError: Maven or a recent enough Java is missing.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        self._kafka_up()
        self._es_up()
        return self.status()

    def down(self) -> list[str]:
        """Stop the servers this lab started (pid files under cfg.home); returns their names."""
        stopped = []
        for name, d in (("elasticsearch", self.es_dir), ("kafka", self.kafka_dir)):
            if procs.stop(d / "pid"):
                stopped.append(name)
        return stopped

    def status(self) -> list[ServerStatus]:
        """Running and healthy, per server; never raises for a server that is down."""
        kpid = procs.read_pid(self.kafka_dir / "pid")
        epid = procs.read_pid(self.es_dir / "pid")
        health = self._es_health()
        return [
            ServerStatus("kafka", f"{self.kafka_host}:{self.kafka_port}", kpid is not None,
                         self._kafka_healthy(), kpid),
            ServerStatus("elasticsearch", self.cfg.elasticsearch, epid is not None,
                         health in ("green", "yellow"), epid, f"cluster {health or 'unreachable'}"),
        ]

    # -- Kafka
    def _kafka_healthy(self) -> bool:
        if not procs.port_open(self.kafka_host, self.kafka_port):
            return False
        try:
            from kafka import KafkaAdminClient

            # bootstrap_timeout_ms: kafka-python waits 30 s by default for a peer that never answers as a
            # broker; 10 s still leaves a loaded Kafka time to answer
            admin = KafkaAdminClient(bootstrap_servers=self.cfg.kafka, request_timeout_ms=5000,
                                     bootstrap_timeout_ms=10_000, client_id="logwarden-lab")
            try:
                admin.list_topics()
            finally:
                admin.close()
            return True
        except Exception:  # noqa: BLE001 - any failure means "not healthy yet"
            return False

    def _kafka_up(self) -> None:
        d = self.kafka_dir
        if procs.read_pid(d / "pid") and self._kafka_healthy():
            return
        if procs.port_open(self.kafka_host, self.kafka_port):
            if self._kafka_healthy():
                return  # someone else's Kafka on our port: use it
            raise ServerError(f"port {self.kafka_port} is taken by something that is not Kafka")
        libs = fetch.kafka_libs()
        java = fetch.find_java(17)
        d.mkdir(parents=True, exist_ok=True)
        data = d / "data"
        props = d / "server.properties"
        cport = self.kafka_port + 1
        props.write_text("\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers={self.kafka_host}:{cport}",
            f"listeners=PLAINTEXT://{self.kafka_host}:{self.kafka_port},CONTROLLER://{self.kafka_host}:{cport}",
            f"advertised.listeners=PLAINTEXT://{self.kafka_host}:{self.kafka_port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data}",
            "num.partitions=2",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=true",
            "message.max.bytes=10485760",
            "",
        ]))
        (d / "log4j2.properties").write_text(
            "rootLogger.level=INFO\nrootLogger.appenderRef.stdout.ref=STDOUT\n"
            "appender.stdout.type=Console\nappender.stdout.name=STDOUT\n"
            "appender.stdout.layout.type=PatternLayout\nappender.stdout.layout.pattern=[%d] %p %m (%c)%n\n"
        )
        cp = f"{libs}/*"
        if not (data / "meta.properties").exists():
            proc = subprocess.run(
                [java, "-cp", cp, "kafka.tools.StorageTool", "format", "--standalone",
                 "-t", str(uuid.uuid4().hex[:22]), "-c", str(props)],
                capture_output=True, text=True,
            )
            if proc.returncode != 0:
                raise ServerError(f"kafka storage format failed: {(proc.stdout + proc.stderr)[-500:]}")
        procs.start(
            [java, "-Xms256m", "-Xmx768m", f"-Dlog4j2.configurationFile={d / 'log4j2.properties'}",
             "-cp", cp, "kafka.Kafka", str(props)],
            d / "kafka.log", d / "pid",
        )
        procs.wait_until(self._kafka_healthy, 120, "Kafka", d / "pid", d / "kafka.log")

    # -- Elasticsearch
    def es_server_pid(self) -> int | None:
        """The Elasticsearch server JVM (the launcher's child), for fault-injection tests."""
        return procs.read_pid(self.es_dir / "server.pid")

    def _es_health(self) -> str | None:
        try:
            with urllib.request.urlopen(f"{self.cfg.elasticsearch}/_cluster/health", timeout=3) as r:
                return json.load(r).get("status")
        except (OSError, urllib.error.URLError, ValueError):
            return None

    def _es_up(self) -> None:
        d = self.es_dir
        if procs.read_pid(d / "pid") and self._es_health() in ("green", "yellow"):
            return
        if procs.port_open(self.es_host, self.es_port):
            if self._es_health() in ("green", "yellow"):
                return
            raise ServerError(f"port {self.es_port} is taken by something that is not a healthy Elasticsearch")
        template = fetch.elasticsearch_home()
        java_home = str(Path(fetch.find_java(21)).parent.parent)
        install = d / "dist"
        if not (install / "bin" / "elasticsearch").exists():
            shutil.rmtree(install, ignore_errors=True)
            shutil.copytree(template, install, symlinks=True)
        for sub in ("data", "logs"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        cmd = [
            str(install / "bin" / "elasticsearch"),
            "-Ediscovery.type=single-node",
            f"-Enetwork.host={self.es_host}",
            f"-Ehttp.port={self.es_port}",
            f"-Etransport.port={self.es_port + 100}",
            f"-Epath.data={d / 'data'}",
            f"-Epath.logs={d / 'logs'}",
            "-Expack.security.enabled=false",
            "-Ecluster.routing.allocation.disk.threshold_enabled=false",
            "-Eaction.auto_create_index=true",
            "-Ecluster.name=logwarden-lab",
            # daily indices over old sample data (the shared EVTX files span ~250 days) add up
            "-Ecluster.max_shards_per_node=20000",
            "-p", str(d / "server.pid"),
        ]
        env = {"ES_JAVA_HOME": java_home, "ES_JAVA_OPTS": os.environ.get("LOGWARDEN_ES_HEAP", "-Xms2g -Xmx2g")}
        if os.geteuid() == 0:
            uid, gid = _ensure_user(ES_USER)
            for path in (d, *d.rglob("*")):
                os.lchown(path, uid, gid)
            _ensure_traversable(d, uid)
            cmd = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *cmd]
        procs.start(cmd, d / "elasticsearch.out", d / "pid", env=env, cwd=install)
        procs.wait_until(lambda: self._es_health() in ("green", "yellow"), 180, "Elasticsearch",
                         d / "pid", d / "elasticsearch.out")


def _ensure_user(name: str) -> tuple[int, int]:
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                       check=True, capture_output=True)
        pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid


def _ensure_traversable(path: Path, uid: int) -> None:
    """The Elasticsearch user must be able to reach its folder: add o+x on parents that lack it."""
    for parent in path.parents:
        try:
            mode = parent.stat().st_mode
        except OSError:
            continue
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
