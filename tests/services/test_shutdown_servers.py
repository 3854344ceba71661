"""SIGTERM to the running services, on the real servers: the batch in hand is finished and
committed, the consumer leaves its group (the next member takes over at once instead of waiting
out a session), the counters are printed, exit 0 -- the same for `index` and `stream`."""

from __future__ import annotations

import json
import time

import pytest

from logwarden.es_io import client
from logwarden.pipelines.indexer import topics
from tests.support.namespaces import count

from .helpers import Service, committed_everything, event, group, group_state, produce

pytestmark = pytest.mark.servers

N = 3000


def _until_committed(cfg, group_id: str, topic_names: list[str], service: Service, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not committed_everything(cfg, group_id, topic_names):
        assert service.proc.poll() is None, "\n".join(service.lines[-20:])
        assert time.monotonic() < deadline, f"{group_id} did not commit everything: " + "\n".join(service.lines[-20:])
        time.sleep(0.5)


def test_index_sigterm_commits_leaves_the_group_and_exits_0(ns):
    produce(ns, [event(i) for i in range(N)])
    gid = group(ns, "index")
    service = Service(ns, "index", "--json", "--group", gid)
    _until_committed(ns, gid, topics(ns), service)
    code, out = service.stop()
    assert code == 0, "\n".join(service.lines[-20:])
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["created"] == N and stats["uncommitted"] == 0
    assert count(client(ns), ns, "windows") == N
    assert group_state(ns, gid) == ("Empty", 0)  # left the group: no session to wait out
    assert service.count("SIGTERM received") == 1


def test_stream_sigterm_commits_leaves_the_group_and_exits_0(ns):
    """Before: SIGTERM raised KeyboardInterrupt, `stream` exited 130 without its counters."""
    produce(ns, [event(i) for i in range(N)])
    gid = group(ns, "stream")
    service = Service(ns, "stream", "--json", "--group", gid)
    _until_committed(ns, gid, [ns.topic("windows")], service)
    code, out = service.stop()
    assert code == 0, "\n".join(service.lines[-20:])
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["consumed"] == N and stats["uncommitted"] == 0
    assert group_state(ns, gid) == ("Empty", 0)


def test_detect_interval_sigterm_ends_the_wait_prints_counters_and_exits_0(ns):
    """Before: SIGTERM killed `detect --interval` in its sleep (exit 130 "interrupted")."""
    service = Service(ns, "detect", "--interval", "1h", "--lookback", "100000d", "--json")
    service.wait_for('"rules":')  # the first pass is done; the service now waits an hour
    started = time.monotonic()
    code, _ = service.stop()
    assert code == 0, "\n".join(service.lines[-20:])
    assert time.monotonic() - started < 60  # the wait ended at the stop, not after the hour
    passes = [json.loads(line) for line in service.lines if line.startswith('{"rules":')]
    assert len(passes) == 1 and passes[0]["rules"] > 0
    assert service.count("SIGTERM received: stopped") == 1
