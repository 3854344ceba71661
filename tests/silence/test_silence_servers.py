"""Silence alerts on the real servers: sources replay old events through Kafka, the indexer
stamps event.ingested, `detect --interval 2s` runs with a 15 s gap. One scenario, several hosts:

    keep-1   Windows Security + AV, never stops           -> no silence alert at all
    fw-1     firewall observer, never stops                -> no silence alert
    stop-1   Windows + AV, stops, later resumes            -> silence-source, then a resumed document
    chan-1   Security stops, System and AV go on           -> silence-channel for Security only
    noav-1   Windows only, never an AV event               -> silence-av-never

The events carry 2020 timestamps (a replay): "heard" is measured on ingest time, so none of them is
silent while it is being sent.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from logwarden.config import Config
from logwarden.dashboards import OUT, parse_ndjson
from logwarden.dashboards.query import panel_queries, run_panel
from logwarden.es_io import client
from logwarden.kafka_io import KafkaSink, make_consumer
from logwarden.shippers.base import Event
from tests.support.cli import env_for
from tests.support.es_reads import while_shards_start
from tests.support.paths import ROOT

pytestmark = pytest.mark.servers

GAP = 15.0  # above the indexer's lag on a loaded shared machine
INTERVAL = 2.0
# a pass also runs the Sigma rules and waits for refreshes; on 2 shared cores one can take seconds
PASS_SLACK = 20.0
WAIT = 120.0


class Feeder(threading.Thread):
    """Sends one round of events a second until stopped; `switches` turn sources off and on."""

    def __init__(self, cfg: Config) -> None:
        super().__init__(daemon=True)
        self.sink = KafkaSink(cfg)
        self.on = {"stop-1": True, "chan-1-security": True}
        self.done = threading.Event()
        self.seq = 0
        self.rounds = 0

    def _event(self, dataset: str, doc: dict[str, Any], key: str) -> None:
        self.seq += 1
        doc = {"@timestamp": f"2020-04-14T00:{self.seq // 60 % 60:02d}:{self.seq % 60:02d}.000Z", **doc}
        self.sink.send(Event(f"silence-test-{uuid.uuid4().hex}", dataset, key, doc))

    def windows(self, host: str, channel: str, n: int = 1) -> None:
        for _ in range(n):
            self._event("windows", {"event": {"code": "4624" if channel == "Security" else "7036",
                                              "dataset": "system." + channel.lower()},
                                    "host": {"name": host}, "winlog": {"channel": channel}}, host)

    def av(self, host: str) -> None:
        self._event("av", {"event": {"dataset": "av", "kind": "event"}, "host": {"name": host}}, host)

    def run(self) -> None:
        while not self.done.is_set():
            self.windows("keep-1.corp.local", "Security")
            self.av("KEEP-1")
            self._event("firewall", {"event": {"dataset": "firewall"}, "observer": {"name": "fw-1"}}, "fw-1")
            if self.on["stop-1"]:
                self.windows("stop-1", "Security")
                self.windows("stop-1", "System")
                self.av("stop-1")
            if self.on["chan-1-security"]:
                self.windows("chan-1", "Security", 5)
            self.windows("chan-1", "System")
            self.av("chan-1")
            self.windows("noav-1", "Security")
            self.sink.flush()
            self.rounds += 1
            self.done.wait(1.0)
        self.sink.close()


def _start(cfg: Config, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "logwarden.cli", *args], env={**env_for(cfg), **env}, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def _silence_docs(es: Any, cfg: Config) -> list[dict[str, Any]]:
    index = f"{cfg.index_prefix}alerts-*"
    while_shards_start(es.indices.refresh, index=index, ignore_unavailable=True, allow_no_indices=True)
    resp = while_shards_start(es.search, index=index, size=1000, ignore_unavailable=True, allow_no_indices=True,
                              query={"term": {"rule.ruleset": "silence"}})
    return [h["_source"] for h in resp["hits"]["hits"]]


def _wait_for(es: Any, cfg: Config, want: Any, what: str, procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        docs = _silence_docs(es, cfg)
        if want(docs):
            return docs
        for p in procs:
            assert p.poll() is None, f"{p.args!r} exited {p.returncode}: {p.stderr.read() if p.stderr else ''}"
        time.sleep(1.0)
    raise AssertionError(f"no {what} within {WAIT}s: {json.dumps(_silence_docs(es, cfg))[:3000]}")


def _of(docs: list[dict[str, Any]], kind: str, source: str, phase: str = "silent") -> list[dict[str, Any]]:
    return [d for d in docs if d["silence"]["kind"] == kind and d["silence"]["source"] == source
            and d["silence"]["phase"] == phase]


@pytest.fixture
def running(ns: Config) -> Iterator[tuple[Config, Feeder, list[subprocess.Popen[str]]]]:
    feeder = Feeder(ns)
    feeder.start()
    env = {"LOGWARDEN_SILENCE_GAP": f"{GAP:g}s", "LOGWARDEN_SILENCE_BASELINE": "1h"}
    procs = [_start(ns, "index"), _start(ns, "detect", "--interval", f"{INTERVAL:g}s", **env)]
    try:
        yield ns, feeder, procs
    finally:
        feeder.done.set()
        feeder.join(30)
        for p in procs:
            if p.poll() is None:
                _stop(p)


def test_sources_that_stop_raise_one_alert_each_and_close_when_they_resume(running: Any) -> None:
    cfg, feeder, procs = running
    es = client(cfg)
    deadline = time.monotonic() + WAIT
    while feeder.rounds < 6:  # a baseline for every source, Security of chan-1 busy enough to be missed
        assert feeder.is_alive() and time.monotonic() < deadline, f"the feeder stopped after {feeder.rounds} rounds"
        time.sleep(0.5)
    feeder.on["stop-1"] = False
    feeder.on["chan-1-security"] = False

    docs = _wait_for(es, cfg, lambda d: _of(d, "source", "stop-1") and _of(d, "channel", "chan-1")
                     and _of(d, "av-never", "noav-1"), "silence alerts", procs)

    [stopped] = [d for d in _of(docs, "source", "stop-1") if d["silence"]["family"] == "windows"]
    assert stopped["rule"]["id"] == "silence-source" and stopped["event"]["kind"] == "alert"
    assert stopped["host"]["name"] == "stop-1"
    assert stopped["silence"]["last_event"].startswith("2020-04-14T")  # the replayed events' own time
    # quiet for more than the gap, raised by the first pass after it (+ the pass's own duration)
    assert GAP < stopped["silence"]["gap_seconds"] <= GAP + INTERVAL + PASS_SLACK
    assert stopped["silence"]["rate_per_hour"] > 0

    [channel] = _of(docs, "channel", "chan-1")
    assert channel["silence"]["channel"] == "Security" and channel["rule"]["id"] == "silence-channel"
    assert not _of(docs, "source", "chan-1")  # the host still sends: no source alert

    [never] = _of(docs, "av-never", "noav-1")
    assert never["rule"]["id"] == "silence-av-never"

    for quiet_host_never in ("keep-1.corp.local", "KEEP-1", "fw-1"):
        assert not [d for d in docs if d["silence"]["source"] == quiet_host_never], quiet_host_never
    assert not [d for d in docs if d["silence"]["kind"] == "av-never" and d["silence"]["source"] != "noav-1"]

    # the alert reached the alerts topic too, once
    consumer = make_consumer(cfg, [cfg.topic("alerts")], f"{cfg.topic_prefix}silence-check")
    try:
        ids: list[str] = []
        deadline = time.monotonic() + 60
        while stopped["event"]["id"] not in ids and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                ids += [json.loads(r.value)["event"]["id"] for r in records]
    finally:
        consumer.close()
    assert ids.count(stopped["event"]["id"]) == 1

    feeder.on["stop-1"] = True
    def closing(d: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [x for x in _of(d, "source", "stop-1", "resumed") if x["silence"]["alert_id"] == stopped["event"]["id"]]

    [resumed] = closing(_wait_for(es, cfg, closing, "resumed document", procs))
    assert resumed["event"]["end"] > stopped["silence"]["last_ingested"]
    # more passes: still one alert per episode, no new one for the resumed source
    time.sleep(3 * INTERVAL)
    docs = _silence_docs(es, cfg)
    assert len([d for d in _of(docs, "source", "stop-1") if d["silence"]["family"] == "windows"]) == 1
    assert len(_of(docs, "channel", "chan-1")) == 1 and len(_of(docs, "av-never", "noav-1")) == 1
    # the dashboard's source-health panels, as Kibana would run them on this namespace
    objects = parse_ndjson(OUT.read_text(encoding="utf-8"))
    queries = panel_queries(objects, cfg.index_prefix, "2020-01-01T00:00:00Z", "now+1d")
    panels = {pq.panel: run_panel(es, pq) for pq in queries if pq.dashboard == "Source health and silence"}
    assert panels["silence-alerts"].hits >= 4  # three alerts and one resumed document
    assert {"source", "channel", "av-never"} <= set(panels["silence-alerts-over-time"].buckets)
    assert {"stop-1", "chan-1", "noav-1"} <= set(panels["silent-sources"].buckets)
    assert {"keep-1.corp.local", "stop-1", "chan-1", "noav-1"} <= set(panels["windows-sources-last-heard"].buckets)
    assert panels["firewall-sources-last-heard"].buckets == ["fw-1"]
    assert {"KEEP-1", "stop-1", "chan-1"} == set(panels["av-sources-last-heard"].buckets)
    err = _stop(procs[1])
    assert "Traceback" not in err, err[-3000:]
    assert "silent" in err and "opened" in err
