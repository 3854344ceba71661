"""Soak: a steady syslog load through ship syslog -> Kafka -> index -> Elasticsearch and stream,
while the broker and Elasticsearch are restarted several times; reconciled at the end.

    .venv/bin/python -m bench.bench_soak [--duration 600] [--rate 100] [--faults 6] [--down 15]

Servers of its own (never the shared lab's): a Kafka broker and an Elasticsearch started by the
project's runtime (logwarden/runtime/lab.py) on free loopback ports, data under
`.lab/soak-<tag>/`, removed at the end. The services are the `logwarden` CLI in subprocesses
(`ship syslog --tcp`, `index`, `stream --instance-id`). One TCP sender writes iptables lines,
each with a sequence number, at `--rate` lines/s for `--duration` seconds. Faults alternate
(broker first), evenly spread over the run: stop the server, wait `--down` seconds, start it
again (the start itself takes as long as the server needs). After each fault the time until
Elasticsearch holds every line sent before the restart is measured (the recovery time).

At the end the sender stops, the pipeline drains, the services get SIGTERM, and every sequence
number is looked for in Elasticsearch (missing, and duplicates: two documents for one line),
the Kafka topic is counted (copies there are allowed: same ids, see
logwarden/shippers/spooling_sink.py), and the stream's consumer group must have committed to
the end. RSS of each service process is sampled every 5 s (/proc/<pid>/status), the lag of the
indexer's and stream's consumer groups every 10 s (end offsets minus committed offsets).
Every tenth line is an accepted inbound RDP connection from a public address, which the bundled
rule `fw_inbound_rdp_public` alerts on: each alert's latency is its Kafka timestamp minus that of
the line it names (`logwarden.source`), summed up per minute of the run (is it steady?).

    .venv/bin/python -m bench.bench_soak --duration 600 --rate 1000 --faults 0

is the steady-load shape (issue 12: RSS flat, lag back to zero, alert latency steady).
Prints a summary and one JSON line (the figures in docs/reliability.md and docs/benchmarks.md
come from it).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bench._lab import ROOT
from logwarden.config import Config, load
from logwarden.kafka_io import client_options
from logwarden.runtime import procs
from logwarden.runtime.lab import Lab

SEQ = re.compile(r"seq=(\d+)")


def free_port(gap: int) -> int:
    """A loopback port p with p + gap free as well (Kafka's controller, Elasticsearch's transport)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + gap < 65535 and not procs.port_open("127.0.0.1", port + gap):
            return port
    raise RuntimeError("no free port pair")


class PrivateServers:
    """A Kafka and an Elasticsearch of the soak's own, each stoppable and startable."""

    def __init__(self, home: Path) -> None:
        cfg = copy.copy(load())
        cfg.home = str(home)
        cfg.kafka = f"127.0.0.1:{free_port(1)}"
        cfg.elasticsearch = f"http://127.0.0.1:{free_port(100)}"
        cfg.topic_prefix, cfg.index_prefix = "soak.", "soak-"
        cfg.state = str(home / "state")
        self.cfg = cfg
        self.lab = Lab(cfg, insecure=True)  # plaintext: the soak measures outages, not TLS

    def start(self, which: str) -> float:
        """Start `kafka` or `elasticsearch` and wait until healthy; returns the seconds it took."""
        t = time.monotonic()
        self.lab.home.mkdir(parents=True, exist_ok=True)
        (self.lab._kafka_up if which == "kafka" else self.lab._es_up)()
        return time.monotonic() - t

    def stop(self, which: str) -> None:
        procs.stop((self.lab.kafka_dir if which == "kafka" else self.lab.es_dir) / "pid")


def _env(cfg: Config) -> dict[str, str]:
    return {**os.environ, "LOGWARDEN_KAFKA": cfg.kafka, "LOGWARDEN_ES": cfg.elasticsearch,
            "LOGWARDEN_TOPIC_PREFIX": cfg.topic_prefix, "LOGWARDEN_INDEX_PREFIX": cfg.index_prefix,
            "LOGWARDEN_STATE": cfg.state, "LOGWARDEN_HOME": cfg.home, "LOGWARDEN_ES_TIMEOUT": "10"}


def _service(cfg: Config, logs: Path, name: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "logwarden.cli", *args], env=_env(cfg), cwd=ROOT, text=True,
                            stdout=open(logs / f"{name}.out", "w"), stderr=open(logs / f"{name}.err", "w"))


def line(seq: int) -> bytes:
    """An iptables line; every tenth an accepted RDP connection from a public address (an alert)."""
    verdict = "A" if seq % 10 == 0 else "D"
    return (f"<4>Apr 14 00:22:{seq % 60:02d} fw{seq % 4:02d} kernel: [wan-lan-default-{verdict}]IN=eth0 OUT= MAC= "
            f"SRC=203.0.113.{seq % 250} DST=10.0.0.2 LEN=60 PROTO=TCP SPT={40000 + seq % 20000} DPT=3389 "
            f"WINDOW=29200 SYN seq={seq:09d}\n").encode()


class Sender(threading.Thread):
    """Lines 0, 1, 2, ... over one TCP connection at a fixed rate until `stop` is set."""

    def __init__(self, port: int, rate: float) -> None:
        super().__init__(daemon=True)
        self.port, self.rate = port, rate
        self.sent = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        step = max(1, int(self.rate / 10))
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=120) as conn:
                start = time.monotonic()
                while not self.stop.is_set():
                    conn.sendall(b"".join(line(i) for i in range(self.sent, self.sent + step)))
                    self.sent += step
                    time.sleep(max(0.0, start + self.sent / self.rate - time.monotonic()))
        except OSError as exc:
            self.error = exc


class RssSampler(threading.Thread):
    """VmRSS (KiB) of each process every `every` seconds."""

    def __init__(self, pids: dict[str, int], every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.pids, self.every = pids, every
        self.samples: dict[str, list[int]] = {name: [] for name in pids}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every):
            for name, pid in self.pids.items():
                try:
                    text = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                m = re.search(r"VmRSS:\s+(\d+)", text)
                if m:
                    self.samples[name].append(int(m.group(1)))


class LagSampler(threading.Thread):
    """Every `every` seconds, each consumer group's lag on the firewall topic (None: not answered)."""

    def __init__(self, cfg: Config, groups: dict[str, str], every: float = 10.0) -> None:
        super().__init__(daemon=True)
        self.cfg, self.groups, self.every = cfg, groups, every
        self.samples: dict[str, list[tuple[float, int | None]]] = {name: [] for name in groups}
        self.stop = threading.Event()

    def run(self) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

        started = time.monotonic()
        admin = probe = None
        while not self.stop.wait(self.every):
            at = round(time.monotonic() - started)
            try:
                admin = admin or KafkaAdminClient(**client_options(self.cfg))
                probe = probe or KafkaConsumer(**client_options(self.cfg))
                topic = self.cfg.topic("firewall")
                parts = [TopicPartition(topic, p) for p in probe.partitions_for_topic(topic) or ()]
                ends = probe.end_offsets(parts)
                for name, group in self.groups.items():
                    done = admin.list_group_offsets({group: None}).get(group, {})
                    lag = sum(end - (done[tp].offset if tp in done and done[tp].offset >= 0 else 0)
                              for tp, end in ends.items())
                    self.samples[name].append((at, lag))
            except Exception:  # noqa: BLE001 - the broker restarting in a fault: a gap in the samples
                for name in self.groups:
                    self.samples[name].append((at, None))
                admin = probe = None


def alert_latency(cfg: Config) -> list[dict[str, Any]]:
    """Per minute of the run (by the named line's Kafka time): alerts, p50 and p99 latency in ms."""
    from tests.services.helpers import read_topic

    sent = {(m.partition, m.offset): m.timestamp for m in read_topic(cfg, cfg.topic("firewall"),
                                                                      max_poll_records=10_000)}
    first = min(sent.values(), default=0)
    minutes: dict[int, list[int]] = {}
    for m in read_topic(cfg, cfg.topic("alerts"), max_poll_records=10_000):
        source = (json.loads(m.value).get("logwarden") or {}).get("source") or {}
        key = (source.get("partition"), source.get("offset"))
        if source.get("topic") == cfg.topic("firewall") and key in sent:
            minutes.setdefault((sent[key] - first) // 60_000, []).append(m.timestamp - sent[key])
    out = []
    for minute, values in sorted(minutes.items()):
        values.sort()
        out.append({"minute": minute, "alerts": len(values), "p50_ms": values[len(values) // 2],
                    "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))], "max_ms": values[-1]})
    return out


def es_count(cfg: Config) -> int:
    from logwarden.es_io import client

    try:
        es = client(cfg)
        es.indices.refresh(index=f"{cfg.index_prefix}firewall-*", ignore_unavailable=True, allow_no_indices=True)
        return int(es.count(index=f"{cfg.index_prefix}firewall-*", ignore_unavailable=True,
                            allow_no_indices=True)["count"])
    except Exception:  # noqa: BLE001 - Elasticsearch restarting: "not yet"
        return -1


def wait_count(cfg: Config, target: int, timeout: float) -> float | None:
    """Seconds until Elasticsearch holds `target` firewall documents, or None after `timeout`."""
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        if es_count(cfg) >= target:
            return time.monotonic() - t
        time.sleep(1)
    return None


def reconcile(cfg: Config, sent: int) -> dict[str, Any]:
    from elasticsearch.helpers import scan
    from kafka import KafkaConsumer, TopicPartition

    from logwarden.es_io import client

    seqs: dict[int, int] = {}
    for hit in scan(client(cfg), index=f"{cfg.index_prefix}firewall-*", query={"query": {"match_all": {}}},
                    _source=["event.original"], size=5000):
        m = SEQ.search(hit["_source"]["event"]["original"])
        if m:
            seqs[int(m.group(1))] = seqs.get(int(m.group(1)), 0) + 1
    probe = KafkaConsumer(**client_options(cfg))
    try:
        topic = cfg.topic("firewall")
        parts = [TopicPartition(topic, p) for p in probe.partitions_for_topic(topic) or ()]
        in_kafka = sum(probe.end_offsets(parts).values())
    finally:
        probe.close()
    return {"sent": sent, "in_es": sum(seqs.values()), "missing_in_es": len(set(range(sent)) - set(seqs)),
            "duplicates_in_es": sum(n - 1 for n in seqs.values()), "in_kafka": in_kafka,
            "kafka_copies": in_kafka - sent}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=600.0)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--faults", type=int, default=6)
    ap.add_argument("--down", type=float, default=15.0)
    args = ap.parse_args(argv)

    os.environ.setdefault("LOGWARDEN_ES_HEAP", "-Xms512m -Xmx512m")
    home = ROOT / ".lab" / f"soak-{uuid.uuid4().hex[:6]}"
    logs = home / "logs"
    logs.mkdir(parents=True)
    servers = PrivateServers(home)
    cfg = servers.cfg
    services: dict[str, subprocess.Popen[str]] = {}
    faults: list[dict[str, Any]] = []
    try:
        print(f"kafka started in {servers.start('kafka'):.0f}s, elasticsearch in {servers.start('elasticsearch'):.0f}s",
              flush=True)
        setup = subprocess.run([sys.executable, "-m", "logwarden.cli", "setup"], env=_env(cfg), cwd=ROOT,
                               capture_output=True, text=True)
        assert setup.returncode == 0, setup.stderr
        port = free_port(0)
        services["ship"] = _service(cfg, logs, "ship", "ship", "syslog", "--tcp", f"127.0.0.1:{port}", "--json")
        services["index"] = _service(cfg, logs, "index", "index", "--json")
        services["stream"] = _service(cfg, logs, "stream", "stream", "--json", "--instance-id", "soak-1")
        deadline = time.monotonic() + 60
        while not procs.port_open("127.0.0.1", port) and time.monotonic() < deadline:
            time.sleep(0.5)
        rss = RssSampler({name: p.pid for name, p in services.items()})
        rss.start()
        lag = LagSampler(cfg, {"index": cfg.group("indexer"), "stream": cfg.group("stream")})
        lag.start()
        sender = Sender(port, args.rate)
        started = time.monotonic()
        sender.start()
        spacing = args.duration / (args.faults + 1)
        for k in range(args.faults):
            which = "kafka" if k % 2 == 0 else "elasticsearch"
            time.sleep(max(0.0, started + spacing * (k + 1) - time.monotonic()))
            at = time.monotonic() - started
            servers.stop(which)
            time.sleep(args.down)
            took = servers.start(which)
            sent_then = sender.sent
            caught_up = wait_count(cfg, sent_then, timeout=180.0)
            faults.append({"server": which, "at_s": round(at), "down_s": round(args.down + took),
                           "start_s": round(took), "caught_up_s": None if caught_up is None else round(caught_up)})
            recovery = f"after {caught_up:.0f}s" if caught_up is not None else "NOT within the wait"
            print(f"{which} restarted at {at:.0f}s: down {args.down + took:.0f}s (start {took:.0f}s); "
                  f"Elasticsearch held the {sent_then} lines sent by then {recovery}", flush=True)
        time.sleep(max(0.0, started + args.duration - time.monotonic()))
        sender.stop.set()
        sender.join(30)
        drained = wait_count(cfg, sender.sent, timeout=600)
        counters = {}
        for name, proc in services.items():
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
            out = (logs / f"{name}.out").read_text().strip().splitlines()
            counters[name] = {"exit": proc.returncode, **(json.loads(out[-1]) if out else {})}
        rss.stop.set()
        lag.stop.set()
        lag.join(30)
        result = {**reconcile(cfg, sender.sent), "drained_after_s": drained, "sender_error": repr(sender.error),
                  "faults": faults, "counters": counters, "duration_s": args.duration, "rate": args.rate,
                  "rss_kib": {n: {"first": s[0], "max": max(s), "last": s[-1]} for n, s in rss.samples.items() if s},
                  "rss_per_minute_kib": {n: s[::12] for n, s in rss.samples.items()},
                  "lag": lag.samples, "alert_latency": alert_latency(cfg)}
        print(f"sent {result['sent']}, in Elasticsearch {result['in_es']} (missing {result['missing_in_es']}, "
              f"duplicates {result['duplicates_in_es']}), in Kafka {result['in_kafka']} "
              f"(copies {result['kafka_copies']}), drained {drained}s after the load stopped")
        for name, r in result["rss_kib"].items():
            print(f"RSS {name}: first {r['first'] / 1024:.0f} MB, max {r['max'] / 1024:.0f} MB, "
                  f"last {r['last'] / 1024:.0f} MB; per minute (MB): "
                  + " ".join(f"{k / 1024:.0f}" for k in result["rss_per_minute_kib"][name]))
        for name, samples in lag.samples.items():
            known = [v for _, v in samples if v is not None]
            print(f"lag {name}: max {max(known, default=0)}, last {known[-1] if known else None} "
                  f"({len(samples)} samples, {len(samples) - len(known)} unanswered)")
        for row in result["alert_latency"]:
            print(f"alerts minute {row['minute']:>2}: {row['alerts']:>6}  p50 {row['p50_ms']:>6} ms  "
                  f"p99 {row['p99_ms']:>6} ms  max {row['max_ms']:>6} ms")
        print(json.dumps(result))
        return 0 if not result["missing_in_es"] and not result["duplicates_in_es"] else 1
    finally:
        for proc in services.values():
            if proc.poll() is None:
                proc.kill()
        servers.stop("elasticsearch")
        servers.stop("kafka")
        keep = home.parent / f"{home.name}-logs"
        shutil.copytree(logs, keep, dirs_exist_ok=True)
        shutil.rmtree(home, ignore_errors=True)
        print(f"service logs kept in {keep}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
