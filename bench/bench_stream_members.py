"""Benchmark: `stream` as 1 vs 2 consumer-group members (issue 12), all SigmaHQ Windows rules + ours.

Real Kafka (the lab must be up), the real CLI: for each member count (and each `--checkout`, to
compare two versions of the members in one run), a fresh topic prefix (`--partitions` per topic),
the members started as `logwarden stream` processes and waited for until the group is stable, then:

1. drain: a backlog of `--backlog` events (the shared EVTX-ATTACK-SAMPLES documents, cycled,
   each copy its own id) is produced at once; events/s = backlog / time from the first produced
   message to the group's offsets committed at the end of every input and repartition partition;
2. paced phases, one per `--rate` (e.g. `--rate 3000,10000`), each `--seconds` long; an alert's
   latency is its Kafka timestamp (stamped when the member produced it) minus that of the event
   it names (`logwarden.source`); p50/p99 over the alerts of that phase (correlation alerts that
   name no event are left out). Correlation alerts wait in stream's reorder buffer for up to
   `stream_reorder_grace` (default 5 s, docs/scaling.md) before they are raised, so their
   latency is printed apart, with each one's time from its last hit's repartition record (the
   record's Kafka timestamp) to the alert: the wait in the reorder buffer plus one poll.

`--stamp original` sends the samples' own `@timestamp`s (2019-2020, cycled, so in no order: what
a replay of old files looks like); `--stamp send` (the default) stamps each event with the wall
clock when it is sent, as a live site's events are. Both (`--stamp original,send`) run one after
the other with the same members and load.

Each phase also says where the box's cores went (bench/_cpu_share.py: the members, the lab's
broker and Elasticsearch JVMs, this bench process, the whole box and the rest) and the CPU
microseconds per event of each. The load generator (`Generator`) and the progress polls
(`Progress`) are not what is measured, so they are made cheap; messages are keyed by event id
by default (`--keys`), spread over the partitions as a fleet of many hosts is: keyed by the
samples' 22 hosts, 87 % of the events land on 2 of 4 partitions, which one member then holds.
`--profile FILE` instead runs one member under cProfile over the backlog (`stream --once`).
`--assignment` instead measures how a group shares partitions that do not divide among its
members: for each client and each strategy (both clients' old default, range first, and
logwarden's, kafka_clients/interface.py GROUP_ASSIGNORS), `--members` consumers of `stream`'s
topics (`--partitions` each) join one group, then `--backlog` events go to each input topic
(keyed by event id); printed: the partitions and the events each member got.
Run: .venv/bin/python -m bench.bench_stream_members [--backlog 20000] [--rate 1500] [--seconds 15]
     [--members 1,2] [--checkout ../main-copy --checkout .]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench._cpu_share import cpu_seconds, line, share, snapshot
from bench._lab import ROOT, SHARED_DATA, lab_config, namespace
from tests.services.helpers import read_topic
from tests.support.cli import command, env_for

SIGMAHQ_WINDOWS = SHARED_DATA / "sigmahq" / "rules" / "windows"
PACE_TICK = 0.005  # seconds: the paced generator sends what is due, then sleeps at most this long
STAMP_FIELD = b'{"@timestamp": "'  # how every payload starts (json.dumps of a normalised event)


def _stream_args() -> tuple[str, ...]:
    """`logwarden stream` with our rules and SigmaHQ's Windows rules, counters as JSON at the stop."""
    from logwarden.detection.compiler import DEFAULT_RULES

    return ("stream", "--rules", str(DEFAULT_RULES), "--rules", str(SIGMAHQ_WINDOWS), "--json")


def _payloads() -> list[tuple[bytes, bytes]]:
    """(key, value) of the shared EVTX documents."""
    from logwarden.detection.hunt import HuntStats, iter_docs

    docs = [d for _, d in iter_docs([SHARED_DATA / "evtx" / "EVTX-ATTACK-SAMPLES"], HuntStats())]
    return [(str((d.get("host") or {}).get("name") or "").encode(), json.dumps(d).encode()) for d in docs]


class Generator:
    """The load: the payloads produced to the windows topic, at once or paced. Not the system under
    test, so it is made cheap: values encoded once (`_payloads`), the confluent producer (librdkafka,
    C) when it is installed, acks=1 and a shipper's 20 ms linger, paced sends in ticks of PACE_TICK
    seconds (every message due by then, one sleep per tick instead of one per message).
    `kafka-python` is the generator this bench had before (linger 5 ms, a sleep per message, ~30 us
    of Python per send), kept to compare."""

    def __init__(self, cfg: Any, payloads: list[tuple[bytes, bytes]], client: str, keys: str = "event",
                 stamp: str = "original") -> None:
        from logwarden.kafka_io import client_options

        self.topic, self.payloads, self.client = cfg.topic("windows"), payloads, client
        self.by_event = keys == "event"
        # stamp "send": each payload split around its @timestamp value, the send time put between
        self.restamp = [_split_stamp(value) for _, value in payloads] if stamp == "send" else None
        options = {**client_options(cfg), "acks": 1, "linger_ms": 5, "batch_size": 256 * 1024}
        if client == "confluent":  # a shipper's live linger (KafkaSink): fewer, fuller requests for the broker
            options["linger_ms"] = 20
        if client == "confluent":
            import confluent_kafka

            from logwarden.kafka_clients.confluent import librdkafka_config

            options.update(enable_idempotence=False, batch_size=1024 * 1024)  # idempotence needs acks=all
            self._confluent: Any = confluent_kafka.Producer(librdkafka_config(options))
        else:
            from kafka import KafkaProducer

            self._python: Any = KafkaProducer(**options)

    def _send(self, i: int) -> None:
        key, value = self.payloads[i % len(self.payloads)]
        if self.restamp is not None:
            head, tail = self.restamp[i % len(self.payloads)]
            value = head + _now_iso() + tail
        event_id = b"ev-%d" % i
        if self.by_event:
            key = event_id
        headers = [("id", event_id)]
        if self.client != "confluent":
            self._python.send(self.topic, key=key, value=value, headers=headers)
            return
        while True:
            try:
                self._confluent.produce(self.topic, value, key, headers=headers)
                break
            except BufferError:  # librdkafka's queue is full: let deliveries come back, then again
                self._confluent.poll(0.01)
        if i % 1000 == 0:
            self._confluent.poll(0)

    def produce(self, first: int, n: int, rate: float | None) -> None:
        """Messages `first` .. `first + n - 1`, all at once (`rate` None) or `rate` per second;
        returns once the broker acknowledged them all."""
        start = time.perf_counter()
        i, end = first, first + n
        while i < end:
            due = end if not rate else min(end, first + int((time.perf_counter() - start) * rate) + 1)
            if self.client == "kafka-python" and rate:  # the old generator: one sleep per message
                due = i + 1
                delay = start + (i - first) / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            while i < due:
                self._send(i)
                i += 1
            if rate and i < end and self.client != "kafka-python":
                time.sleep(max(0.0, min(PACE_TICK, start + (i - first) / rate - time.perf_counter())))
        self.flush()

    def flush(self) -> None:
        (self._confluent if self.client == "confluent" else self._python).flush()

    def close(self) -> None:
        if self.client == "confluent":
            self._confluent.flush()
        else:
            self._python.close()


def _split_stamp(value: bytes) -> tuple[bytes, bytes]:
    """`value` (a payload starting with its @timestamp) as (what precedes the time, what follows it)."""
    if not value.startswith(STAMP_FIELD):
        raise ValueError("a payload does not start with its @timestamp")
    end = value.index(b'"', len(STAMP_FIELD))
    return STAMP_FIELD, value[end:]


def _now_iso() -> bytes:
    """The wall clock as an ECS @timestamp (UTC, milliseconds)."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)).encode() + b".%03dZ" % int(now % 1 * 1000)


class Progress:
    """The group's progress as the bench polls it: one admin client and one probe consumer for the
    whole run (a new pair per look cost a TLS handshake and a SCRAM login each, four times a second,
    on the bench and on the broker), asked every `interval` seconds. `cpu` is the CPU time this
    process spent while asking (the generator is idle by then: its librdkafka threads cost next to
nothing while they wait)."""

    def __init__(self, cfg: Any, interval: float) -> None:
        from kafka import KafkaConsumer, TopicPartition

        from logwarden.kafka_io import STREAM_REPARTITION, admin, client_options

        self.cfg, self.interval, self.cpu = cfg, interval, 0.0
        self.admin = admin(cfg)
        self.probe = KafkaConsumer(**client_options(cfg))
        windows = cfg.topic("windows")
        self.inputs = [TopicPartition(windows, p) for p in self.probe.partitions_for_topic(windows)]
        self.parts = self.inputs + [TopicPartition(cfg.topic(STREAM_REPARTITION), p)
                                    for p in self.probe.partitions_for_topic(cfg.topic(STREAM_REPARTITION)) or ()]

    def committed(self) -> bool:
        """True when the group committed every input and repartition partition to its end."""
        t0 = time.process_time()
        try:
            group = self.cfg.group("stream")
            done = self.admin.list_group_offsets({group: None}).get(group, {})
            ends = self.probe.end_offsets(self.parts)
        finally:
            self.cpu += time.process_time() - t0
        return all(ends[tp] == 0 or (tp in done and done[tp].offset >= ends[tp]) for tp in self.parts)

    def input_ends(self) -> dict[int, int]:
        """The end offset of each input partition."""
        return {tp.partition: off for tp, off in self.probe.end_offsets(self.inputs).items()}

    def wait(self, what: str, timeout: float = 900) -> None:
        _wait(self.committed, what, timeout, self.interval)

    def close(self) -> None:
        self.probe.close()
        self.admin.close()


def _group(cfg: Any) -> tuple[str, int]:
    from logwarden.kafka_io import admin

    client = admin(cfg)
    try:
        info = client.describe_groups([cfg.group("stream")])[cfg.group("stream")]
    finally:
        client.close()
    return info["group_state"], len(info["members"])


def _wait(check: Any, what: str, timeout: float = 900, interval: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(interval)


def _server_pids() -> dict[str, list[int]]:
    """The lab's broker and Elasticsearch JVMs (their pid files under LOGWARDEN_HOME)."""
    from logwarden.config import load
    from logwarden.runtime import procs
    from logwarden.runtime.lab import Lab

    lab = Lab(load())
    found = {"broker": procs.read_pid(lab.kafka_dir / "pid"), "elasticsearch": lab.es_server_pid()}
    return {name: [pid] for name, pid in found.items() if pid}


def _member(cfg: Any, checkout: Path) -> subprocess.Popen[str]:
    """One `logwarden stream` member running the code of `checkout` (its rules too)."""
    rules = checkout / "logwarden" / "sigma_rules"
    env = {**env_for(cfg), "PYTHONPATH": str(checkout)}
    return subprocess.Popen(command("stream", "--rules", str(rules), "--rules", str(SIGMAHQ_WINDOWS), "--json"),
                            env=env, cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def run(cfg: Any, members: int, payloads: list[tuple[bytes, bytes]], args: argparse.Namespace,
        checkout: Path, stamp: str = "original") -> dict[str, Any]:
    from logwarden.kafka_io import delete_topics, ensure_topics

    ensure_topics(cfg, partitions=args.partitions)
    procs = [_member(cfg, checkout) for _ in range(members)]
    generator = Generator(cfg, payloads, args.generator, args.keys, stamp)
    progress = Progress(cfg, args.lag_interval)
    named = {**{f"member{k + 1}": [p.pid] for k, p in enumerate(procs)}, **_server_pids(), "bench": [os.getpid()]}
    phases: list[dict[str, Any]] = []
    try:
        _wait(lambda: _group(cfg) == ("Stable", members), "the group")

        def phase(name: str, first: int, n: int, rate: float | None) -> None:
            ends0, cpu0, lag0 = progress.input_ends(), snapshot(named), progress.cpu
            t0 = time.perf_counter()
            generator.produce(first, n, rate)
            produced = time.perf_counter() - t0
            progress.wait(f"the {name} events")
            wall, cpu1 = time.perf_counter() - t0, snapshot(named)
            members_cpu = sum(cpu_seconds(cpu0, cpu1, f"member{k + 1}") for k in range(members))
            phases.append({"name": name, "rate": rate, "n": n, "events_per_s": n / wall, "offered": n / produced,
                           "members_cpu": members_cpu, "share": share(cpu0, cpu1),
                           "per_event": {who: cpu_seconds(cpu0, cpu1, who) / n * 1e6 for who in named},
                           "lag_cpu": progress.cpu - lag0,
                           "range": (ends0, progress.input_ends())})

        phase("drain", 0, args.backlog, None)
        first = args.backlog
        for rate in args.rates:
            paced = int(rate * args.seconds)
            phase(f"paced {rate:.0f}/s", first, paced, rate)
            first += paced
        counters = []
        for p in procs:
            p.terminate()
            out, _ = p.communicate(timeout=120)
            counters.append(json.loads(out) if out.strip() else {})
        produced_msgs = read_topic(cfg, cfg.topic("windows"), max_poll_records=10_000)
        sent = {(m.partition, m.offset): m.timestamp for m in produced_msgs}
        for ph in phases:
            ph["latencies"], ph["correlated"], ph["held"] = [], [], []
        hopped = _repartitioned(cfg)
        for m in read_topic(cfg, cfg.topic("alerts"), max_poll_records=10_000):
            alert = json.loads(m.value)
            src = (alert.get("logwarden") or {}).get("source") or {}
            key = (src.get("partition"), src.get("offset"))
            if src.get("topic") != cfg.topic("windows") or key not in sent:
                continue
            for ph in phases[1:]:
                lo, hi = ph["range"]
                if lo.get(key[0], 0) <= key[1] < hi.get(key[0], 0):
                    is_rule = (alert.get("sigma") or {}).get("type") == "rule"
                    (ph["latencies"] if is_rule else ph["correlated"]).append(m.timestamp - sent[key])
                    if not is_rule and key in hopped:
                        ph["held"].append(m.timestamp - hopped[key])
        for ph in phases:
            ph["latencies"].sort()
            ph["correlated"].sort()
            ph["held"].sort()
        return {"members": members, "phases": phases, "counters": counters, "stamp": stamp}
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        progress.close()
        generator.close()
        delete_topics(cfg, cfg.topic_prefix)


def _repartitioned(cfg: Any) -> dict[tuple[int, int], int]:
    """(input partition, offset) of each event with a correlation hit -> the Kafka timestamp of its
    last repartition record (when the matching member produced it)."""
    from logwarden.kafka_io import STREAM_REPARTITION

    out: dict[tuple[int, int], int] = {}
    for m in read_topic(cfg, cfg.topic(STREAM_REPARTITION), max_poll_records=10_000):
        origin = json.loads(m.value).get("origin") or {}
        key = (int(origin.get("partition", -1)), int(origin.get("offset", -1)))
        out[key] = max(out.get(key, 0), m.timestamp)
    return out


def _quantiles(values: list[float]) -> list[float]:
    """Percentiles 1-99 within the values measured (a few correlation alerts must not give a p99
    above their maximum, as the default `exclusive` method extrapolates)."""
    return statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else [float("nan")] * 99


def report(label: str, r: dict[str, Any]) -> None:
    """One line per phase: rate, events per member CPU-second, latency, and where the cores went."""
    n = r["members"]
    for ph in r["phases"]:
        head = (f"{label} x{n} stamp {r['stamp']} {ph['name']}: {ph['events_per_s']:.0f} events/s "
                f"(offered {ph['offered']:.0f}/s), "
                f"members' CPU {ph['members_cpu']:.1f} s ({ph['n'] / max(ph['members_cpu'], 1e-9):.0f} events per "
                f"member CPU-second)")
        if ph["rate"]:
            q, qc, qh = _quantiles(ph["latencies"]), _quantiles(ph["correlated"]), _quantiles(ph["held"])
            head += (f"; alert latency p50 {q[49]:.0f} ms p99 {q[98]:.0f} ms ({len(ph['latencies'])} single-event "
                     f"alerts); correlation alerts p50 {qc[49]:.0f} ms p99 {qc[98]:.0f} ms max "
                     f"{max(ph['correlated'], default=float('nan')):.0f} ms ({len(ph['correlated'])}, reorder grace "
                     f"included), of which from repartition record to alert p50 {qh[49]:.0f} ms p99 {qh[98]:.0f} ms "
                     f"max {max(ph['held'], default=float('nan')):.0f} ms")
        print(head, flush=True)
        print(f"    cores used: {line(ph['share'])}; the bench's lag polls {ph['lag_cpu']:.2f} CPU-s", flush=True)
        print(f"    CPU us per event: {line(ph['per_event'], 0)}", flush=True)
    batches = sum(c.get("batches", 0) for c in r["counters"])
    consumed = sum(c.get("consumed", 0) for c in r["counters"])
    print(f"    members' batches (all phases): {batches}, {consumed / max(batches, 1):.0f} messages each", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backlog", type=int, default=20_000)
    ap.add_argument("--rate", default="1500", help="events/s of the paced phases, comma-separated (e.g. 3000,10000)")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--members", default="1,2")
    ap.add_argument("--checkout", action="append", type=Path,
                    help="run the members from this checkout's code (repeat to compare, runs alternate); "
                         "default: this one")
    ap.add_argument("--generator", choices=("confluent", "kafka-python"), default=_default_generator(),
                    help="the load's producer (default: confluent when installed)")
    ap.add_argument("--keys", choices=("event", "host"), default="event",
                    help="event: each message keyed by its own id, spread over the partitions as a fleet of many "
                         "hosts is; host: the samples' 22 hosts (87%% of the events on 2 of 4 partitions)")
    ap.add_argument("--stamp", default="send",
                    help="the events' @timestamp, comma-separated to run both: send (the wall clock when sent, as "
                         "at a live site) or original (the samples' own 2019-2020 times, cycled: a replay)")
    ap.add_argument("--lag-interval", type=float, default=0.5, help="seconds between looks at the group's offsets")
    ap.add_argument("--profile", help="cProfile one member draining the backlog into this file")
    ap.add_argument("--assignment", action="store_true",
                    help="measure the partitions and events each member gets, per client and strategy")
    args = ap.parse_args()
    args.rates = [float(x) for x in args.rate.split(",")]
    import logwarden

    checkouts = [c.resolve() for c in args.checkout or [ROOT]]
    print(f"bench from {logwarden.__file__}; members from {', '.join(map(str, checkouts))}; generator "
          f"{args.generator}, keys by {args.keys}; load average {os.getloadavg()[0]:.1f}", flush=True)
    base = lab_config()
    payloads = _payloads()
    if args.profile:
        return profile(namespace(base, "prof"), payloads, args)
    if args.assignment:
        return assignment(base, payloads, args)
    for n in (int(x) for x in args.members.split(",")):
        for checkout in checkouts:
            for stamp in args.stamp.split(","):
                r = run(namespace(base, f"m{n}"), n, payloads, args, checkout, stamp)
                report(checkout.name if len(checkouts) > 1 else "stream", r)
        print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    return 0


def _default_generator() -> str:
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        return "kafka-python"
    return "confluent"


OLD_DEFAULT = ("range", "roundrobin")  # both clients' own default: range is what the broker picked


def assignment(base: Any, payloads: list[tuple[bytes, bytes]], args: argparse.Namespace) -> int:
    """Per client and strategy, each member's partitions and events (one group, fresh topics)."""
    from logwarden.kafka_clients import GROUP_ASSIGNORS

    for members in (int(x) for x in args.members.split(",")):
        for client in ("kafka-python", "confluent"):
            for strategy in (OLD_DEFAULT, GROUP_ASSIGNORS):
                cfg = dataclasses.replace(namespace(base, f"as{members}"), kafka_client=client)
                got = shares(cfg, members, args.partitions, strategy, payloads[:args.backlog])
                parts = ", ".join(f"{len(g['partitions'])} ({' '.join(g['partitions'])})" for g in got)
                events = [g["events"] for g in got]
                print(f"{client} {'/'.join(strategy)}, {members} members, {args.partitions} partitions x 4 topics: "
                      f"partitions per member {parts}; events per member {events} (most/fair "
                      f"{max(events) / (sum(events) / members):.2f})", flush=True)
    return 0


def shares(cfg: Any, members: int, partitions: int, strategy: tuple[str, ...],
           payloads: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    """`members` consumers of stream's topics in one group with `strategy`: once the group is stable
    and every partition assigned, len(payloads) events to each input topic; each member's
    partitions ("<topic initial><partition>") and the events it consumed."""
    from logwarden.detection.stream import SOURCES
    from logwarden.kafka_io import STREAM_REPARTITION, delete_topics, ensure_topics, make_consumer

    ensure_topics(cfg, partitions=partitions)
    topics = [cfg.topic(d) for d in SOURCES] + [cfg.topic(STREAM_REPARTITION)]
    consumers: list[Any] = []
    try:
        consumers = [make_consumer(cfg, topics, cfg.group("stream"), partition_assignment_strategy=strategy)
                     for _ in range(members)]
        counts = [0] * members

        def poll_all() -> int:
            """Poll every member once (a group forms only while its members poll); events so far."""
            for k, c in enumerate(consumers):
                counts[k] += sum(len(batch) for batch in c.poll(timeout_ms=50).values())
            return sum(counts)

        _wait(lambda: poll_all() >= 0 and sum(len(c.assignment()) for c in consumers) == partitions * len(topics)
              and _group(cfg) == ("Stable", members), "the group", 120, 0)
        generator = Generator(cfg, payloads, _default_generator())
        for dataset in SOURCES:
            generator.topic = cfg.topic(dataset)
            generator.produce(0, len(payloads), None)
        generator.close()
        _wait(lambda: poll_all() >= len(payloads) * len(SOURCES), "the events", 300, 0)
        prefix = len(cfg.topic_prefix)
        return [{"partitions": sorted(f"{tp.topic[prefix]}{tp.partition}" for tp in c.assignment()), "events": n}
                for c, n in zip(consumers, counts, strict=True)]
    finally:
        for c in consumers:
            c.close(autocommit=False)
        delete_topics(cfg, cfg.topic_prefix)


def profile(cfg: Any, payloads: list[tuple[bytes, bytes]], args: argparse.Namespace) -> int:
    import pstats

    from logwarden.kafka_io import delete_topics, ensure_topics

    ensure_topics(cfg, partitions=args.partitions)
    try:
        generator = Generator(cfg, payloads, args.generator)
        generator.produce(0, args.backlog, None)
        generator.close()
        t0 = time.perf_counter()
        subprocess.run(command(*_stream_args(), "--once", python=("-m", "cProfile", "-o", args.profile)),
                       env=env_for(cfg), cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        print(f"one member, --once over {args.backlog} events: {time.perf_counter() - t0:.1f}s (rule loading "
              "included)")
    finally:
        delete_topics(cfg, cfg.topic_prefix)
    pstats.Stats(args.profile).sort_stats("cumulative").print_stats(25)
    pstats.Stats(args.profile).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
