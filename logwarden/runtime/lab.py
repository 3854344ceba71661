"""The local runtime: real Apache Kafka (KRaft) and Elasticsearch on loopback.

`Lab(cfg).up()` fetches both (cached), starts them, waits until healthy; running it again is
harmless (a healthy server is left alone). `down()` stops them, `status()` reports. Data, logs
and pid files live under cfg.home (default ./.lab). Tests, .ci/run and the demo all use this.

Secured by default: Elasticsearch with x-pack security and HTTPS, Kafka with a SASL_SSL listener
(SCRAM-SHA-512) and the StandardAuthorizer, both with certificates of a CA the lab makes
(logwarden/runtime/certs.py) and users the lab creates, under cfg.home/secure. The lab writes
the client settings to cfg.home/secure/logwarden.yml (mode 600; use it with LOGWARDEN_CONFIG),
and `Lab.cfg` holds them, so tests reach the servers authenticated and encrypted. Kafka users:
`admin` (super user) and one per component (LAB_KAFKA_USERS), for `setup`'s ACLs. The KRaft
controller listener stays PLAINTEXT on loopback; its principal (ANONYMOUS) is a super user so
the broker can talk to its own controller. `Lab(cfg, insecure=True)` is the plaintext lab under
cfg.home/kafka and cfg.home/elasticsearch, for debugging; a secured `up()` that finds a healthy
plaintext server it did not start on its port uses that one as it is, with a warning.

Errors (logwarden/errors.py): a non-loopback address is a `ConfigError`; a port held by something
else, a server that does not start, or a failed download is a `ServerError`.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import pwd
import secrets
import shutil
import subprocess
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import yaml

from logwarden import access
from logwarden.config import Config
from logwarden.errors import ConfigError, ServerError
from logwarden.runtime import certs, fetch, procs

log = logging.getLogger(__name__)

ES_USER = "logwarden-es"  # Elasticsearch refuses to run as root
ES_ADMIN = "elastic"  # the built-in super user; its password is the keystore's bootstrap.password
KAFKA_ADMIN = "admin"
# SCRAM users the secured lab creates besides the admin: one per component, for `setup`'s ACLs
LAB_KAFKA_USERS = ("logwarden-shipper", "logwarden-indexer", "logwarden-stream")
# Elasticsearch users of the file realm, each with its component's role (logwarden/access.py) over
# every `logwarden-*` index. The test distribution lacks the analysis module the native realm's
# .security index needs, so roles, users and API keys cannot be created through the API there.
LAB_ES_USERS = tuple(f"logwarden-{c}" for c in access.ES_COMPONENTS)
# the security settings the lab's client file sets (the rest of Config stays the caller's)
CLIENT_KEYS = ("elasticsearch", "es_ca_file", "es_fingerprint", "es_api_key", "es_user", "es_password", "es_verify",
               "kafka_security_protocol", "kafka_sasl_mechanism", "kafka_user", "kafka_password",
               "kafka_ca_file", "kafka_cert_file", "kafka_key_file")


@dataclass
class ServerStatus:
    name: str
    address: str
    running: bool
    healthy: bool
    pid: int | None
    detail: str = ""


class Lab:
    """Kafka and Elasticsearch for `cfg` (loopback addresses only), under cfg.home.

    `cfg` is the configuration to reach the servers: the caller's, with the secured lab's client
    settings (its client file) applied once it exists."""

    def __init__(self, cfg: Config, insecure: bool = False) -> None:
        """Raises ConfigError when an address in `cfg` is not loopback."""
        self.secure = not insecure
        self.plain_cfg = cfg
        self.home = cfg.home_path
        self.cfg = self._client_cfg() if self.secure and self.client_file.exists() else cfg
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
    def secure_dir(self) -> Path:
        return self.home / "secure"

    @property
    def kafka_dir(self) -> Path:
        return self.secure_dir / "kafka" if self.secure else self.home / "kafka"

    @property
    def es_dir(self) -> Path:
        return self.secure_dir / "elasticsearch" if self.secure else self.home / "elasticsearch"

    @property
    def client_file(self) -> Path:
        """The client settings of the secured lab (a logwarden.yml holding its passwords, mode 600)."""
        return self.secure_dir / "logwarden.yml"

    @property
    def secrets_file(self) -> Path:
        return self.secure_dir / "secrets.json"

    # -- the secured lab's users and client settings
    def passwords(self) -> dict[str, str]:
        """The lab's passwords by user ("elastic", "kafka:admin", "kafka:logwarden-shipper", ...),
        made (and kept, mode 600) on first use."""
        stored: dict[str, str] = json.loads(self.secrets_file.read_text()) if self.secrets_file.exists() else {}
        users = [ES_ADMIN, *(f"kafka:{u}" for u in (KAFKA_ADMIN, *LAB_KAFKA_USERS)), *(f"es:{u}" for u in LAB_ES_USERS)]
        missing = [user for user in users if user not in stored]
        if missing:
            stored.update({user: secrets.token_urlsafe(18) for user in missing})
            self.secure_dir.mkdir(parents=True, exist_ok=True)
            self.secure_dir.chmod(0o700)
            _write_private(self.secrets_file, json.dumps(stored, indent=1))
        return stored

    def _client_settings(self) -> dict[str, str]:
        passwords = self.passwords()
        ca = str(certs.LabCertificates(self.secure_dir / "tls").ca_cert)
        url = urlparse(self.plain_cfg.elasticsearch)
        return {
            "kafka": self.plain_cfg.kafka,
            "elasticsearch": f"https://{url.hostname}:{url.port or 9200}",
            "es_ca_file": ca, "es_fingerprint": "", "es_api_key": "", "es_verify": "true",
            "es_user": ES_ADMIN, "es_password": passwords[ES_ADMIN],
            "kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_user": KAFKA_ADMIN, "kafka_password": passwords[f"kafka:{KAFKA_ADMIN}"],
            "kafka_ca_file": ca, "kafka_cert_file": "", "kafka_key_file": "",
        }

    def _client_cfg(self) -> Config:
        cfg = copy.copy(self.plain_cfg)
        for key, value in self._client_settings().items():
            setattr(cfg, key, value)
        return cfg

    def _write_client_file(self) -> None:
        settings = {k: v for k, v in self._client_settings().items() if v}
        header = ("# written by `logwarden lab up`: the secured lab's client settings (admin users).\n"
                  f"# export LOGWARDEN_CONFIG={self.client_file}\n")
        _write_private(self.client_file, header + yaml.safe_dump(settings, sort_keys=False))

    # -- public API
    def up(self) -> list[ServerStatus]:
        """Start whatever is not healthy yet (downloading on first use); returns both statuses.

        Raises:
            ServerError: a port is held by something else, a server did not start, a download failed.
            ConfigError: Maven or a recent enough Java is missing.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        if self.secure and self._plaintext_lab_running():
            log.warning("a plaintext Kafka and Elasticsearch already run on %s and %s (not started by this "
                        "lab): using them as they are", self.plain_cfg.kafka, self.plain_cfg.elasticsearch)
            self.secure = False
            self.cfg = self.plain_cfg
            return self.status()
        if self.secure:
            certs.ensure(self.secure_dir / "tls")
            self._write_client_file()
            self.cfg = self._client_cfg()
        self._kafka_up()
        self._es_up()
        return self.status()

    def _plaintext_lab_running(self) -> bool:
        """True when both ports answer as plaintext servers this (secured) lab did not start."""
        if procs.read_pid(self.kafka_dir / "pid") or procs.read_pid(self.es_dir / "pid"):
            return False
        if not (procs.port_open(self.kafka_host, self.kafka_port) and procs.port_open(self.es_host, self.es_port)):
            return False
        return self._es_health(self.plain_cfg) in ("green", "yellow") and self._kafka_healthy(self.plain_cfg)

    def down(self) -> list[str]:
        """Stop the servers this lab started (pid files under cfg.home); returns their names."""
        stopped = []
        for name, d in (("elasticsearch", self.secure_dir / "elasticsearch"),
                        ("elasticsearch", self.home / "elasticsearch"),
                        ("kafka", self.secure_dir / "kafka"), ("kafka", self.home / "kafka")):
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
    def _kafka_healthy(self, cfg: Config | None = None) -> bool:
        if not procs.port_open(self.kafka_host, self.kafka_port):
            return False
        try:
            from logwarden.kafka_io import KafkaError
            from logwarden.kafka_io import admin as kafka_admin

            # bootstrap_timeout_ms: kafka-python waits 30 s by default for a peer that never answers as a
            # broker; 10 s still leaves a loaded Kafka time to answer
            admin = kafka_admin(cfg or self.cfg, "logwarden-lab", request_timeout_ms=5000,
                                bootstrap_timeout_ms=10_000)
            try:
                admin.list_topics()
            finally:
                admin.close()
            return True
        except (KafkaError, ServerError, OSError):  # no broker answered, or it refused us: not healthy yet
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
        listener = "SASL_SSL" if self.secure else "PLAINTEXT"
        props.write_text("\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers={self.kafka_host}:{cport}",
            f"listeners={listener}://{self.kafka_host}:{self.kafka_port},CONTROLLER://{self.kafka_host}:{cport}",
            f"advertised.listeners={listener}://{self.kafka_host}:{self.kafka_port}",
            "controller.listener.names=CONTROLLER",
            f"inter.broker.listener.name={listener}",
            f"listener.security.protocol.map={listener}:{listener},CONTROLLER:PLAINTEXT",
            *(self._kafka_security_lines() if self.secure else []),
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
            scram: list[str] = []
            if self.secure:
                for user in (KAFKA_ADMIN, *LAB_KAFKA_USERS):
                    password = self.passwords()[f"kafka:{user}"]
                    scram += ["--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]"]
            proc = subprocess.run(
                [java, "-cp", cp, "kafka.tools.StorageTool", "format", "--standalone",
                 "-t", str(uuid.uuid4().hex[:22]), "-c", str(props), *scram],
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

    def _kafka_security_lines(self) -> list[str]:
        tls = certs.LabCertificates(self.secure_dir / "tls")
        admin_password = self.passwords()[f"kafka:{KAFKA_ADMIN}"]
        return [
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram."
            f'ScramLoginModule required username="{KAFKA_ADMIN}" password="{admin_password}";',
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={tls.server_bundle}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={tls.ca_cert}",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found=false",
            f"super.users=User:{KAFKA_ADMIN};User:ANONYMOUS",
        ]

    # -- Elasticsearch
    def es_server_pid(self) -> int | None:
        """The Elasticsearch server JVM (the launcher's child), for fault-injection tests."""
        return procs.read_pid(self.es_dir / "server.pid")

    def _es_health(self, cfg: Config | None = None) -> str | None:
        from logwarden.es_io import auth_header, bare_url, ssl_context

        cfg = cfg or self.cfg
        request = urllib.request.Request(f"{bare_url(cfg)}/_cluster/health", headers=auth_header(cfg))
        try:
            with urllib.request.urlopen(request, timeout=3, context=ssl_context(cfg)) as r:
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
        env = {"ES_JAVA_HOME": java_home, "ES_JAVA_OPTS": os.environ.get("LOGWARDEN_ES_HEAP", "-Xms2g -Xmx2g")}
        security = self._es_security(install, env) if self.secure else ["-Expack.security.enabled=false"]
        if self.secure:  # built-in roles need the .security index this distribution cannot create
            env["ES_JAVA_OPTS"] += " -Des.queryable_built_in_roles_enabled=false"
        cmd = [
            str(install / "bin" / "elasticsearch"),
            "-Ediscovery.type=single-node",
            f"-Enetwork.host={self.es_host}",
            f"-Ehttp.port={self.es_port}",
            f"-Etransport.port={self.es_port + 100}",
            f"-Epath.data={d / 'data'}",
            f"-Epath.logs={d / 'logs'}",
            *security,
            "-Ecluster.routing.allocation.disk.threshold_enabled=false",
            "-Eaction.auto_create_index=true",
            "-Ecluster.name=logwarden-lab",
            # daily indices over old sample data (the shared EVTX files span ~250 days) add up
            "-Ecluster.max_shards_per_node=20000",
            "-p", str(d / "server.pid"),
        ]
        if os.geteuid() == 0:
            uid, gid = _ensure_user(ES_USER)
            for path in (d, *d.rglob("*")):
                os.lchown(path, uid, gid)
            _ensure_traversable(d, uid)
            cmd = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *cmd]
        procs.start(cmd, d / "elasticsearch.out", d / "pid", env=env, cwd=install)
        procs.wait_until(lambda: self._es_health() in ("green", "yellow"), 180, "Elasticsearch",
                         d / "pid", d / "elasticsearch.out")

    def _es_security(self, install: Path, env: dict[str, str]) -> list[str]:
        """Put the lab's certificate into the distribution's config folder (Elasticsearch reads
        files only there) and the elastic user's password into its keystore; returns the
        settings that turn security and HTTPS on."""
        tls = certs.LabCertificates(self.secure_dir / "tls")
        config_certs = install / "config" / "certs"
        config_certs.mkdir(parents=True, exist_ok=True)
        for source in (tls.ca_cert, tls.server_cert, tls.server_key):
            shutil.copyfile(source, config_certs / source.name)
        tool_env = {**os.environ, **env, "ES_JAVA_OPTS": "-Xms64m -Xmx128m"}
        roles = access.es_roles(Config(), index_pattern="logwarden-*")
        (install / "config" / "roles.yml").write_text(yaml.safe_dump(roles, sort_keys=False))
        users_file = install / "config" / "users"
        known = users_file.read_text() if users_file.exists() else ""
        for user, component in zip(LAB_ES_USERS, access.ES_COMPONENTS, strict=True):
            if f"{user}:" in known:
                continue
            proc = subprocess.run([str(install / "bin" / "elasticsearch-users"), "useradd", user,
                                   "-p", self.passwords()[f"es:{user}"], "-r", access.role_name(Config(), component)],
                                  capture_output=True, text=True, env=tool_env, cwd=install)
            if proc.returncode != 0:
                raise ServerError(f"elasticsearch-users useradd {user} failed: "
                                  f"{' '.join((proc.stdout + proc.stderr).split())[-300:]}")
        if not (install / "config" / "elasticsearch.keystore").exists():
            tool = str(install / "bin" / "elasticsearch-keystore")
            for args, stdin in ((["create"], None), (["add", "-x", "bootstrap.password"], self.passwords()[ES_ADMIN])):
                proc = subprocess.run([tool, *args], input=stdin, capture_output=True, text=True, env=tool_env,
                                      cwd=install)
                if proc.returncode != 0:
                    raise ServerError(f"elasticsearch-keystore {args[0]} failed: "
                                      f"{' '.join((proc.stdout + proc.stderr).split())[-300:]}")
        return [
            "-Expack.security.enabled=true",
            "-Expack.security.http.ssl.enabled=true",
            "-Expack.security.http.ssl.key=certs/server.key",
            "-Expack.security.http.ssl.certificate=certs/server.pem",
            "-Expack.security.http.ssl.certificate_authorities=certs/ca.pem",
            "-Expack.security.transport.ssl.enabled=false",
            "-Expack.security.authc.api_key.enabled=true",
        ]


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner only from the first byte on."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    tmp.rename(path)


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
