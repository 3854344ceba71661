"""The demo's line comparing `stream --once` with `detect` (logwarden/replay/engines.py): what it
says when the engines agree, when a correlation episode starts at another event, and when an
alert is on one side only; alerts on events that are not the replay's are left out (no servers)."""

from __future__ import annotations

from typing import Any

from logwarden.replay.engines import Streamed, agreement

EVENTS = {"e1", "e2", "e3"}


def alert(rule: str, aid: str, events: list[str], group: dict[str, str] | None = None) -> dict[str, Any]:
    sigma: dict[str, Any] = {"events": events, "type": "rule" if group is None else "event_count"}
    if group is not None:
        sigma["group"] = group
    return {"rule": {"id": rule}, "event": {"id": aid}, "sigma": sigma}


def streamed(*alerts: dict[str, Any]) -> Streamed:
    return Streamed(list(alerts), consumed=3, seconds=0.25)


DETECTED = [alert("r1", "a1", ["e1"]), alert("c1", "x1", ["e1", "e2"], {"source.ip": "10.0.0.5"})]


def test_agreeing_engines() -> None:
    other = alert("r1", "z9", ["not-the-replays"])  # another run's data in the same topics
    line = agreement(DETECTED, streamed(*DETECTED, other), EVENTS)
    assert line == ("stream --once over the replayed topics: 2 alerts from 3 messages in 0.2s, "
                    "the same as detect's (rule, alert id, group)")


def test_an_episode_that_starts_at_another_event_names_its_group() -> None:
    line = agreement(DETECTED, streamed(DETECTED[0], alert("c1", "x2", ["e2"], {"source.ip": "10.0.0.5"})), EVENTS)
    assert line.endswith("; 1 the same as detect's; 1 correlation episode(s) start at another event "
                         "(source.ip=10.0.0.5): the topics are keyed by host, so a group spanning hosts is "
                         "read out of time order, here by more than stream_reorder_grace")


def test_alerts_on_one_side_only_are_counted() -> None:
    line = agreement(DETECTED, streamed(DETECTED[1], alert("r2", "a2", ["e3"])), EVENTS)
    assert line.endswith("; 1 the same as detect's; 1 only in detect, 1 only in stream")
