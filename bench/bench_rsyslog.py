"""`ship syslog` against rsyslog's raw forwarding, same box, same payload, same Kafka (issue 12).

    .venv/bin/python -m bench.bench_rsyslog [--messages 100000] [--corpora mixed,firewall]
                                            [--workers 1,2] [--clients kafka-python,confluent]
                                            [--rsyslog-root DIR] [--base DIR] [--parse-workers 1,2]
                                            [--ceiling]

Back to back for each corpus (the project's mixed firewall/AV corpus, tests/textlogs/corpus.py,
and firewall lines only, bench/_syslog_send.py), over one TCP connection, newline framing:
- rsyslog: imtcp -> omkafka, the raw message as it came (`%rawmsg%`), no parsing; a config of
  its own in a temporary folder (work and pid files there too), run in the foreground
  (`rsyslogd -n -f CONF -i PID -M MODULES`);
- `logwarden ship syslog --workers N` for each N and each Kafka client (`--clients`, the
  `kafka_client` setting; confluent needs the confluent-kafka package): parsing, ECS documents,
  one topic per dataset. `--base DIR`: the same runs from another checkout too (e.g. a worktree
  of main), in the same run, for a before/after comparison. `--parse-workers K,...`: also
  `--workers 1 --parse-workers K` (one connection's messages parsed by K processes; not run
  from a checkout that lacks the option). `--ceiling`: also the same receiver and real sink with
  every line parsed ahead (bench/_syslog_ceiling.py), for each client: the most the Python path
  around the parsers carries for one connection (reported, not counted for the target).
Kafka (`--kafka`): `private` (default) is a plaintext broker of the bench's own on loopback
(tests/services/private_broker.py: the lab's Kafka build, its own ports and data folder, stopped
and removed at the end), used by both receivers. `lab` is the shared secured lab, SASL_SSL/SCRAM:
its protocol, CA and credentials go to librdkafka as omkafka `confParam`s (the temporary config
holding the password is readable by its owner only and removed after). Debian 12's librdkafka
2.0.2 fails SCRAM against the lab's Kafka 4 broker ("invalid credentials": librdkafka before 2.6.1
built the SCRAM final message with the client nonce twice, which Kafka 4 rejects), hence the
default.
Each run gets its own new topics; the rate is what reached Kafka (the sum of the topics' end
offsets, polled) divided by the time from the first byte sent to the last increase seen. The
ratio is logwarden's rate over rsyslog's for the same corpus in this run. Target: >= 0.5.
Where the time goes (bench/_syslog_send.py CpuWatch): the receiving process's CPU per message
(every thread) and, for its busiest thread (the connection's), the time on a CPU and the time it
was ready but waited for one (the box's other load); a receiver and its parse processes, not
`--workers N > 1` (the workers are not followed).

Installs nothing. rsyslog and its Kafka output come from Debian's `rsyslog` and `rsyslog-kafka`
packages; as root `apt-get install rsyslog rsyslog-kafka` works, without root unpack them (with
the three libraries they need that a slim image lacks) into a folder and pass it:

    mkdir -p .cache/rsyslog && cd .cache/rsyslog
    apt-get download rsyslog rsyslog-kafka librdkafka1 libestr0 libfastjson4
    for d in *.deb; do dpkg -x "$d" root; done          # then: --rsyslog-root .cache/rsyslog/root

(`.cache/` is ignored by git; the default --rsyslog-root is .cache/rsyslog/root when it exists,
else the system's /.) Needs `logwarden lab up`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench._lab import ROOT, lab_config, namespace
from bench._syslog_send import CORPORA, CpuUse, CpuWatch, send_tcp, start_receiver, wait_for_count
from logwarden.config import Config
from logwarden.kafka_io import delete_topics, ensure_topics
from tests.support.cli import env_for

TARGET = 0.5  # logwarden's rate / rsyslog's, same corpus, same run
CACHE_ROOT = ROOT / ".cache" / "rsyslog" / "root"
LIBDIR = "usr/lib/x86_64-linux-gnu"


@dataclass
class Run:
    """One receiver's result on one corpus."""

    name: str
    sent: int
    in_kafka: int
    seconds: float
    cpu: CpuUse | None = None
    base: bool = False  # a run of the --base checkout (not counted for the target)

    @property
    def rate(self) -> float:
        return self.in_kafka / self.seconds if self.seconds > 0 else 0.0


# ------------------------------------------------------------------------------------- rsyslog
@dataclass
class Rsyslog:
    """Where Debian's rsyslog files are: rsyslogd, its modules, the libraries it loads."""

    root: Path

    @property
    def rsyslogd(self) -> Path:
        return self.root / "usr/sbin/rsyslogd"

    @property
    def modules(self) -> Path:
        return self.root / LIBDIR / "rsyslog"

    def missing(self) -> list[str]:
        """What is not there (empty: usable)."""
        need = [self.rsyslogd, self.modules / "imtcp.so", self.modules / "omkafka.so"]
        return [str(p) for p in need if not p.exists()]

    def env(self) -> dict[str, str]:
        env = {**os.environ}
        if self.root != Path("/"):
            env["LD_LIBRARY_PATH"] = ":".join(filter(None, [str(self.root / LIBDIR), env.get("LD_LIBRARY_PATH")]))
        return env

    def version(self) -> str:
        out = subprocess.run([str(self.rsyslogd), "-v"], env=self.env(), capture_output=True, text=True, timeout=30)
        return out.stdout.splitlines()[0].split(" compiled")[0].strip() if out.stdout else "?"


def _quoted(text: str) -> str:
    """`text` as an rsyslog RainerScript string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def kafka_params(cfg: Config) -> list[str]:
    """librdkafka settings (omkafka `confParam`) for cfg's Kafka security: the same protocol, CA,
    client certificate and SASL credentials the project's own clients use (kafka_io.client_options)."""
    params = [f"security.protocol={cfg.kafka_security_protocol.lower()}"]
    if cfg.kafka_tls:
        if cfg.kafka_ca_file:
            params.append(f"ssl.ca.location={cfg.kafka_ca_file}")
        if cfg.kafka_cert_file:
            params += [f"ssl.certificate.location={cfg.kafka_cert_file}", f"ssl.key.location={cfg.kafka_key_file}"]
    if cfg.kafka_sasl:
        params += [f"sasl.mechanisms={cfg.kafka_sasl_mechanism}", f"sasl.username={cfg.kafka_user}",
                   f"sasl.password={cfg.kafka_password}"]
    return params


def rsyslog_config(cfg: Config, port: int, topic: str, workdir: Path) -> str:
    """imtcp on 127.0.0.1:`port` -> omkafka to `topic`, the raw message unchanged."""
    params = ", ".join(_quoted(p) for p in kafka_params(cfg))
    brokers = ", ".join(_quoted(b) for b in cfg.kafka.split(","))
    return f"""global(workDirectory={_quoted(str(workdir))} maxMessageSize="64k")
module(load="imtcp")
module(load="omkafka")
template(name="raw" type="string" string="%rawmsg%")
ruleset(name="forward") {{
  action(type="omkafka" broker=[{brokers}] topic={_quoted(topic)} template="raw"
         confParam=[{params}])
}}
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="forward")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"rsyslogd exited ({proc.returncode}) before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"rsyslogd not listening on {port} after {timeout:.0f} s")


def run_rsyslog(rs: Rsyslog, cfg: Config, msgs: list[bytes]) -> Run:
    """rsyslogd in the foreground on its own config; msgs over one TCP connection."""
    topic = cfg.topic("raw")
    ensure_topics(cfg, ("raw",))
    with tempfile.TemporaryDirectory(prefix="lw-rsyslog-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        port = _free_port()
        conf = Path(tmp) / "rsyslog.conf"
        conf.touch(mode=0o600)
        conf.write_text(rsyslog_config(cfg, port, topic, work), encoding="utf-8")
        log_path = Path(tmp) / "rsyslogd.log"
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen([str(rs.rsyslogd), "-n", "-f", str(conf), "-i", str(Path(tmp) / "rsyslogd.pid"),
                                     "-M", str(rs.modules)], env=rs.env(), stdout=log_file, stderr=log_file)
        try:
            _wait_listening(port, proc)
            watch = CpuWatch(proc.pid)
            t0 = time.perf_counter()
            send_tcp(("127.0.0.1", port), msgs)
            count, last = wait_for_count(cfg, len(msgs), prefix=topic)
            cpu = watch.stop()
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if count < len(msgs):
            print(f"  rsyslogd's output: {log_path.read_text(errors='replace')[-1500:]}", file=sys.stderr)
    return Run("rsyslog imtcp->omkafka (raw)", len(msgs), count, last - t0, cpu)


# ------------------------------------------------------------------------------------ logwarden
def run_logwarden(cfg: Config, msgs: list[bytes], workers: int, client: str = "kafka-python",
                  root: Path | None = None, parse_workers: int = 1) -> Run:
    """`logwarden ship syslog --workers N [--parse-workers K]` (TCP only) producing with
    `client`, msgs over one TCP connection; `root`: the checkout to run (default this one)."""
    cfg.kafka_client = client
    ensure_topics(cfg)
    env = env_for(cfg)
    state = ROOT / ".lab" / f"bench-{cfg.topic_prefix.rstrip('.')}"
    env["LOGWARDEN_STATE"] = str(state)
    try:
        extra = ["--parse-workers", str(parse_workers)] if parse_workers > 1 else []
        receiver = start_receiver(env, len(msgs), workers=workers, udp=False, root=root or ROOT, extra=extra)
        assert receiver.tcp is not None
        watch = CpuWatch(receiver.proc.pid) if workers == 1 else None  # parse processes included
        t0 = time.perf_counter()
        send_tcp(receiver.tcp, msgs)
        count, last = wait_for_count(cfg, len(msgs))
        cpu = watch.stop() if watch is not None else None
        counts = receiver.finish(120)
        if counts["received"] != len(msgs):
            print(f"  logwarden received {counts['received']} of {len(msgs)}", file=sys.stderr)
    finally:
        shutil.rmtree(state, ignore_errors=True)
    label = (f"logwarden --workers {workers}" + (f" --parse-workers {parse_workers}" if parse_workers > 1 else "")
             + f" {client}" + (f" [{root.name}]" if root else ""))
    return Run(label, len(msgs), count, last - t0, cpu, base=root is not None)


def run_ceiling(cfg: Config, msgs: list[bytes], client: str) -> Run:
    """The receiver and the real sink to Kafka in a process of their own with every line parsed
    ahead (bench/_syslog_ceiling.py): the rate the path around the parsers can carry."""
    from bench import _syslog_ceiling

    cfg.kafka_client = client
    ensure_topics(cfg)
    proc, address = _syslog_ceiling.start(cfg, msgs)
    assert proc.pid is not None  # started
    watch = CpuWatch(proc.pid)
    t0 = time.perf_counter()
    send_tcp(address, msgs)
    count, last = wait_for_count(cfg, len(msgs))
    cpu = watch.stop()
    proc.join(120)
    return Run(f"ceiling: parsers free (lookup), {client}", len(msgs), count, last - t0, cpu, base=True)


def _has_parse_workers(root: Path) -> bool:
    """Whether the checkout at `root` has `ship syslog --parse-workers`."""
    return "parse-workers" in (root / "logwarden" / "commands" / "ship_text.py").read_text(encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--corpora", default="mixed,firewall", help=f"of {', '.join(CORPORA)}")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--clients", default="kafka-python", help="Kafka clients of the logwarden runs")
    ap.add_argument("--rsyslog-root", type=Path, default=CACHE_ROOT if CACHE_ROOT.exists() else Path("/"))
    ap.add_argument("--kafka", choices=("private", "lab"), default="private",
                    help="a plaintext broker of the bench's own (default) or the secured lab's")
    ap.add_argument("--base", type=Path, help="another checkout whose ship syslog runs too (before/after)")
    ap.add_argument("--parse-workers", default="1", help="runs with --workers 1 --parse-workers K, for each K")
    ap.add_argument("--ceiling", action="store_true",
                    help="also the receiver and sink with every line parsed ahead (not counted for the target)")
    args = ap.parse_args(argv)
    rs = Rsyslog(args.rsyslog_root.resolve())
    if rs.missing():
        print(f"rsyslog not found ({', '.join(rs.missing())}): see `python -m bench.bench_rsyslog --help`'s "
              f"module text for how to get it", file=sys.stderr)
        return 2
    lab = lab_config()
    broker = None
    if args.kafka == "private":
        from tests.services.private_broker import PrivateBroker

        broker = PrivateBroker(lab, Path(tempfile.mkdtemp(prefix="lw-bench-broker-")))
        broker.start()
        lab = broker.cfg
    namespaces: list[Config] = []

    def fresh(tag: str) -> Config:
        namespaces.append(namespace(lab, tag))
        return namespaces[-1]

    ok = True
    try:
        for name in (c for c in args.corpora.split(",") if c):
            msgs = CORPORA[name](args.messages)
            size = sum(map(len, msgs)) / len(msgs)
            print(f"corpus {name}: {len(msgs):,} messages, {size:.0f} bytes on average, one TCP connection")
            reference = run_rsyslog(rs, fresh("rsys"), msgs)
            roots = [None, args.base.resolve()] if args.base else [None]
            shapes = [(int(w), 1) for w in args.workers.split(",") if w]
            shapes += [(1, int(k)) for k in args.parse_workers.split(",") if k and int(k) > 1]
            runs = [reference] + [run_logwarden(fresh("lwsys"), msgs, w, client, root, k)
                                  for client in args.clients.split(",") if client
                                  for w, k in shapes
                                  for root in roots if k == 1 or root is None or _has_parse_workers(root)]
            if args.ceiling:
                runs += [run_ceiling(fresh("lwceil"), msgs, client) for client in args.clients.split(",") if client]
            for run in runs:
                ratio = run.rate / reference.rate if reference.rate else 0.0
                cpu = f"  {run.cpu.per_message(run.in_kafka)}" if run.cpu else ""
                print(f"  {run.name:<60} in Kafka {run.in_kafka:>7,}/{run.sent:<7,} {run.seconds:>7.2f} s "
                      f"{run.rate:>9,.0f} msg/s  ratio {ratio:.2f}{cpu}")
            best = max((r for r in runs[1:] if not r.base), key=lambda r: r.rate, default=None)
            if best is not None and reference.rate:
                met = best.rate >= TARGET * reference.rate and best.in_kafka == best.sent
                ok = ok and met
                print(f"  target: ship syslog >= {TARGET} of rsyslog's raw forwarding: "
                      f"{'met' if met else 'NOT met'} ({best.rate / reference.rate:.2f}, {best.name})")
    finally:
        for cfg in namespaces:
            delete_topics(cfg, cfg.topic_prefix)
        if broker is not None:
            broker.stop()
            shutil.rmtree(broker.lab.home, ignore_errors=True)
    where = "a private broker" if broker is not None else "the lab's Kafka"
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {rs.version()}, {where} at {lab.kafka} "
          f"({lab.kafka_security_protocol}), load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
