"""The stream's correlation state written at a commit point and read back by a new process gives
the alerts of a run that never stopped (no servers: the Detector fed directly; the same with the
real Kafka and a SIGKILL is test_stream_restart_servers.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector
from logwarden.detection.stream_state import StreamState, state_file

T0 = datetime(2020, 4, 14, 0, 0, 0, tzinfo=UTC)


def failure(i: int) -> dict[str, Any]:
    """A 4625 every 2 s from one of 3 addresses against one of 5 servers, each a new user name:
    brute-force (event_count) and spraying (value_count) groups fill and fire throughout."""
    address, host = f"198.51.100.{i % 3 + 1}", f"SRV-{i % 5}"
    return {
        "@timestamp": (T0 + timedelta(seconds=2 * i)).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "winlog": {"channel": "Security", "event_id": "4625", "computer_name": host,
                   "event_data": {"TargetUserName": f"user{i}", "LogonType": "3", "IpAddress": address,
                                  "WorkstationName": f"WS-{i % 7}"}},
        "event": {"code": "4625", "id": f"restart-{i}"},
        "source": {"ip": address},
        "host": {"name": host},
        "user": {"name": f"user{i}"},
    }


def _alert_ids(detector: Detector, docs: list[dict[str, Any]]) -> list[str]:
    return [a["event"]["id"] for doc in docs for a in detector.process(doc, doc["event"]["id"])]


class _Rec:
    def __init__(self, offset: int) -> None:
        self.topic, self.partition, self.offset = "lw.windows", 0, offset


def test_state_saved_mid_stream_and_restored_gives_the_clean_run_alerts(tmp_path: Path) -> None:
    ruleset = load_ruleset(None)
    docs = [failure(i) for i in range(600)]
    clean = _alert_ids(Detector(ruleset), docs)
    assert clean, "the timeline must fire correlations"

    before = Detector(ruleset)
    first = _alert_ids(before, docs[:301])
    path = state_file(tmp_path, "lw.stream", None)
    state = StreamState(path, before.correlations)
    state.advance([_Rec(300)])
    state.save()
    assert json.loads(path.read_text())["stream"]["correlations"]["groups"]  # groups were open at the kill

    after = Detector(ruleset)
    resumed = StreamState(path, after.correlations)  # a new process reading the file
    assert resumed.offsets == {("lw.windows", 0): 301}
    assert first + _alert_ids(after, docs[301:]) == clean

    fresh = Detector(ruleset)  # what a restart without the state did (issue 14: alerts missing)
    assert first + _alert_ids(fresh, docs[301:]) != clean


def test_an_unreadable_state_file_starts_empty(tmp_path: Path) -> None:
    path = state_file(tmp_path, "lw.stream", "a/b")
    assert path.name == "stream-lw.stream-a_b.json"
    path.write_text('{"stream": {"offsets": "nonsense"}}')
    state = StreamState(path, Detector(load_ruleset(None)).correlations)
    assert state.offsets == {}
