"""`stream` killed (SIGKILL) with correlation groups half full, restarted, gives the alerts of a
run that was never stopped (before: 18 missing and 13 different alerts, all value_count groups
active at the kill). The restarted member has a static id, so it takes its partitions back at
once instead of waiting out the dead member's session.

Topics of one partition: with several, the order in which two partitions' events reach one
correlation group depends on how polls interleave them, which differs from run to run with or
without a kill (state follows the message key, the host, not the correlation's group-by)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from logwarden.kafka_io import ensure_topics
from logwarden.shippers.base import Event
from tests.support.namespaces import cleanup, isolated

from .helpers import Service, committed_everything, produce, read_topic
from .test_stream_state_unit import failure

pytestmark = pytest.mark.servers

N, KILL_AT = 600, 301


def _events(lo: int, hi: int) -> list[Event]:
    return [Event(f"restart-{i}", "windows", failure(i)["host"]["name"], failure(i), i) for i in range(lo, hi)]


def _committed(cfg, gid: str, service: Service, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not committed_everything(cfg, gid, [cfg.topic("windows")]):
        assert service.proc.poll() is None, "\n".join(service.lines[-20:])
        assert time.monotonic() < deadline, "\n".join(service.lines[-20:])
        time.sleep(0.5)


def _alerts(cfg) -> dict[str, list[dict[str, Any]]]:
    """Alert documents in the namespace's alerts topic, by id (a copy from a re-read batch
    shares its original's id)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for m in read_topic(cfg, cfg.topic("alerts")):
        doc = json.loads(m.value)
        out.setdefault(doc["event"]["id"], []).append(doc)
    return out


def test_killed_and_restarted_stream_gives_the_clean_run_alerts(lab, tmp_path: Path) -> None:
    killed, clean = isolated(lab.cfg, tmp_path / "killed"), isolated(lab.cfg, tmp_path / "clean")
    try:
        for cfg in (killed, clean):
            ensure_topics(cfg, partitions=1)
        produce(clean, _events(0, N))
        out = Service(clean, "stream", "--once", "--json")
        assert out.proc.wait(300) == 0, "\n".join(out.lines[-20:])

        gid = f"{killed.topic_prefix}stream-restart"
        produce(killed, _events(0, KILL_AT))
        first = Service(killed, "stream", "--group", gid, "--instance-id", "member-1")
        _committed(killed, gid, first)
        first.proc.kill()  # SIGKILL: no shutdown code runs
        first.proc.wait(30)
        state = json.loads((Path(killed.state) / f"stream-{gid}" / "0.json").read_text())  # repartition partition 0
        families = state["partition"]["families"].values()
        assert any(f["groups"] for f in families)  # correlation groups were active at the kill
        produce(killed, _events(KILL_AT, N))
        started = time.monotonic()
        second = Service(killed, "stream", "--group", gid, "--instance-id", "member-1", "--json")
        second.wait_for("correlation state loaded")
        _committed(killed, gid, second)
        rejoined = time.monotonic() - started
        code, _ = second.stop()
        assert code == 0, "\n".join(second.lines[-20:])

        expected, got = _alerts(clean), _alerts(killed)
        assert expected, "the timeline must fire correlations"
        assert sorted(got) == sorted(expected), (f"missing {len(set(expected) - set(got))}, "
                                                 f"extra {len(set(got) - set(expected))}")
        # same documents, not only the same ids (an alert names its event's topic: the namespaces' differ)
        def same(doc: dict[str, Any]) -> str:
            return json.dumps(doc, sort_keys=True).replace(killed.topic_prefix, clean.topic_prefix)

        assert all(same(got[i][0]) == same(expected[i][0]) for i in expected)
        correlation_alerts = sum(d[0]["sigma"]["type"] in ("event_count", "value_count") for d in expected.values())
        assert correlation_alerts > 0
        print(f"\n{len(expected)} alerts ({correlation_alerts} from correlations) in both runs; "
              f"restarted member done {rejoined:.1f}s after its start")
    finally:
        for cfg in (killed, clean):
            cleanup(cfg)
