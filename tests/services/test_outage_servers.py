"""Broker and Elasticsearch outages, on the real servers, without stopping them: the services talk
to them through a proxy on loopback that the test cuts and restores (tests/services/proxy.py).
Each service keeps running, logs the outage once and the recovery once, and the counts are
exact afterwards: nothing committed past what Elasticsearch accepted, nothing lost."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from logwarden.consume import StopFlag
from logwarden.es_io import client
from logwarden.kafka_io import client_options
from logwarden.pipelines.indexer import run_indexer, topics
from tests.support.namespaces import count

from .helpers import Service, committed_everything, event, group, produce
from .proxy import CuttableProxy

pytestmark = pytest.mark.servers

OUTAGE = "unreachable ("
RECOVERY = "reachable again after"


def _wait(condition: Callable[[], bool], what: str, timeout: float = 180) -> None:
    """Poll `condition` until it holds; the test's own requests to the shared servers may fail
    meanwhile (a hiccup of theirs is not what is tested), so a failing check counts as "not yet"."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except Exception:  # noqa: BLE001 - see the docstring; the final assertions still need the servers
            pass
        assert time.monotonic() < deadline, f"still not {what} after {timeout}s"
        time.sleep(0.3)


def test_index_rides_out_an_elasticsearch_outage(ns):
    """Elasticsearch unreachable when the indexer starts: it waits, logs it once, indexes
    everything once Elasticsearch is back, logs that once, and stops cleanly."""
    n = 5000
    produce(ns, [event(i) for i in range(n)])
    proxy = CuttableProxy(target=("127.0.0.1", int(ns.elasticsearch.rsplit(":", 1)[1])))
    proxy.cut()
    try:
        es_url = proxy.url_for(ns.elasticsearch)
        # the request timeout stays the default 60 s: the outage here is a refused connection, and
        # with 5 s a 5,000-document bulk on a loaded box was answered too late, carried out all
        # the same, and its documents then counted as already indexed (created < n)
        service = Service(ns, "index", "--json", "--group", group(ns, "es-outage"), env={"LOGWARDEN_ES": es_url})
        service.wait_for(f"Elasticsearch at {es_url} {OUTAGE}")
        proxy.restore()
        es = client(ns)
        _wait(lambda: count(es, ns, "windows") == n, f"{n} documents indexed")
        code, out = service.stop()
    finally:
        proxy.close()
    assert code == 0, "\n".join(service.lines[-20:])
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["created"] == n and stats["retries"] >= 1
    es_at = f"Elasticsearch at {es_url} "
    assert service.count(es_at + OUTAGE) == 1 and service.count(es_at + RECOVERY) == 1, "\n".join(service.lines)


def test_index_stopped_during_an_elasticsearch_outage_loses_nothing(ns):
    """SIGTERM while Elasticsearch is away: the batch cannot be finished, so it is given up
    uncommitted (exit 0, counted as such); the next run indexes every message."""
    n = 2000
    produce(ns, [event(i) for i in range(n)])
    gid = group(ns, "es-stop")
    proxy = CuttableProxy(target=("127.0.0.1", int(ns.elasticsearch.rsplit(":", 1)[1])))
    proxy.cut()
    try:
        es_url = proxy.url_for(ns.elasticsearch)
        service = Service(ns, "index", "--json", "--group", gid, env={"LOGWARDEN_ES": es_url})
        service.wait_for(f"Elasticsearch at {es_url} {OUTAGE}")
        code, out = service.stop()
    finally:
        proxy.close()
    assert code == 0, "\n".join(service.lines[-20:])
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["created"] == 0 and stats["uncommitted"] > 0
    after = run_indexer(ns, once=True, group_id=gid)
    assert after.created == n
    assert count(client(ns), ns, "windows") == n


def test_index_waits_for_a_broker_that_is_down_at_start(ns):
    """Kafka unreachable when the indexer starts (before: exit 3, "Unable to bootstrap", after 30 s)."""
    n = 1000
    produce(ns, [event(i) for i in range(n)])
    proxy = CuttableProxy(target=("127.0.0.1", int(ns.kafka.rsplit(":", 1)[1])))
    proxy.cut()
    try:
        service = Service(ns, "index", "--json", "--group", group(ns, "late-broker"),
                          env={"LOGWARDEN_KAFKA": f"127.0.0.1:{proxy.port}"})
        service.wait_for(f"Kafka at 127.0.0.1:{proxy.port} {OUTAGE}")
        proxy.restore()  # the bootstrap address answers again (the broker's own address is direct)
        es = client(ns)
        _wait(lambda: count(es, ns, "windows") == n, f"{n} documents indexed")
        code, out = service.stop()
    finally:
        proxy.close()
    assert code == 0, "\n".join(service.lines[-20:])
    assert json.loads(out.strip().splitlines()[-1])["created"] == n
    kafka_at = f"Kafka at 127.0.0.1:{proxy.port} "
    assert service.count(kafka_at + OUTAGE) == 1 and service.count(kafka_at + RECOVERY) == 1, "\n".join(service.lines)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)


def _stream_runner(cfg, gid: str, stop: StopFlag, options: dict[str, Any]) -> Any:
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.engine import Detector
    from logwarden.detection.stream import run_stream

    detector = Detector(load_ruleset(None))
    return lambda: run_stream(cfg, detector, group_id=gid, stop=stop, kafka_options=options)


@pytest.mark.parametrize("service", ["index", "stream"])
def test_service_rides_out_a_broker_outage(ns, service):
    """The broker goes away under a running service, usually with part of the backlog in hand
    (before: the indexer died with KafkaConnectionError in poll()/commit() soon after)."""
    first, second = 20_000, 2_000
    produce(ns, [event(i) for i in range(first)])
    gid = group(ns, f"{service}-broker")
    watched = [ns.topic("windows")] if service == "stream" else topics(ns)
    proxy = CuttableProxy(socks=True)
    stop = StopFlag()
    options = {"proxy_url": proxy.url}
    run = (_stream_runner(ns, gid, stop, options) if service == "stream"
           else lambda: run_indexer(ns, group_id=gid, stop=stop, kafka_options=options))
    logs = _Lines()
    root = logging.getLogger("logwarden")
    level = root.level
    root.addHandler(logs)
    root.setLevel(logging.INFO)  # the recovery is logged at info
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["stats"] = run()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    try:
        thread.start()
        _wait(lambda: _consumed_some(ns, gid) or "error" in result, "consuming", timeout=120)
        proxy.cut()
        _wait(lambda: logs.count(f"Kafka at {ns.kafka} {OUTAGE}") > 0 or "error" in result, "outage noticed",
              timeout=120)
        produce(ns, [event(i) for i in range(first, first + second)])  # produced meanwhile, directly
        proxy.restore()
        _wait(lambda: committed_everything(ns, gid, watched) or "error" in result, "everything committed")
    finally:
        stop.set()
        thread.join(120)
        proxy.close()
        root.removeHandler(logs)
        root.setLevel(level)
    assert "error" not in result, repr(result.get("error"))
    stats = result["stats"]
    assert stats.consumed >= first + second  # a batch read before the outage may be read twice
    assert stats.kafka_retries >= 1
    kafka_at = f"Kafka at {ns.kafka} "  # (a hiccup of the shared Elasticsearch may be logged too)
    assert logs.count(kafka_at + OUTAGE) == 1 and logs.count(kafka_at + RECOVERY) == 1, logs.lines
    if service == "index":
        assert count(client(ns), ns, "windows") == first + second


def _consumed_some(cfg, gid: str) -> bool:
    """The group committed something already (the service is in the middle of the backlog)."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**client_options(cfg))
    try:
        return any(om.offset > 0 for om in admin.list_group_offsets({gid: None}).get(gid, {}).values())
    finally:
        admin.close()
