"""Correlation episodes: one attacker's brute force is one alert (first and last time, count,
the contributing events), reported again with the same id while it goes on; a new burst after
the window has passed is a new alert."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from logwarden.detection.engine import Detector
from logwarden.detection.hunt import HuntStats, hunt, iter_docs
from logwarden.shippers.windows import synth
from tests.report import events

BRUTE = "Logon Brute Force From One Source"


def _write(tmp_path: Path, xml: list[str]) -> Path:
    path = tmp_path / "events.xml"
    path.write_text(synth.events(*xml), encoding="utf-8")
    return path


def test_a_long_brute_force_is_one_alert_in_hunt(tmp_path, ruleset) -> None:
    path = _write(tmp_path, events.brute_force(200))
    alerts, _ = hunt([path], Detector(ruleset))
    brute = [a for a in alerts if a["rule"]["name"] == BRUTE]
    assert len(brute) == 1
    [alert] = brute
    assert alert["sigma"]["count"] == 200 and len(alert["sigma"]["events"]) == 200
    assert alert["event"]["start"] == "2026-04-13T23:40:00.000Z"
    assert alert["event"]["end"] == "2026-04-13T23:46:38.000Z"
    assert alert["@timestamp"] == alert["event"]["start"]  # every version in the same daily index


def test_a_burst_after_the_window_is_a_new_alert(tmp_path, ruleset) -> None:
    later = [synth.security_4625(events.HOST, events.T0 + timedelta(hours=2, seconds=i), 900 + i,
                                 target_user="administrator", ip=events.ATTACKER, workstation="KALI")
             for i in range(20)]
    path = _write(tmp_path, events.brute_force(30) + later)
    alerts, _ = hunt([path], Detector(ruleset))
    brute = [a for a in alerts if a["rule"]["name"] == BRUTE]
    assert [a["sigma"]["count"] for a in brute] == [30, 20]
    assert len({a["event"]["id"] for a in brute}) == 2


def test_stream_reports_versions_of_one_alert_as_the_episode_grows(tmp_path, ruleset) -> None:
    path = _write(tmp_path, events.brute_force(100))
    detector = Detector(ruleset)
    stream = [a for eid, doc in iter_docs([path], HuntStats()) for a in detector.process(doc, eid)
              if a["rule"]["name"] == BRUTE]
    assert len({a["event"]["id"] for a in stream}) == 1
    assert [a["sigma"]["count"] for a in stream] == [20, 40, 80]  # opened, then each time it doubled
    [ended] = [f for f in detector.correlations.advance(events.T0.timestamp() + 3600)]
    assert ended.count == 100 and ended.episode == stream[0]["event"]["id"] and ended.update
    hunted, _ = hunt([path], Detector(ruleset))
    assert [a["event"]["id"] for a in hunted if a["rule"]["name"] == BRUTE] == [stream[0]["event"]["id"]]


def test_a_restored_stream_goes_on_updating_the_same_alert(tmp_path, ruleset) -> None:
    import json

    path = _write(tmp_path, events.brute_force(60))
    docs = list(iter_docs([path], HuntStats()))
    before = Detector(ruleset)
    first = [a for eid, doc in docs[:30] for a in before.process(doc, eid) if a["rule"]["name"] == BRUTE]
    snap = json.loads(json.dumps(before.correlations.snapshot()))  # what stream writes to disk
    after = Detector(ruleset)
    after.correlations.restore(snap)
    rest = [a for eid, doc in docs[30:] for a in after.process(doc, eid) if a["rule"]["name"] == BRUTE]
    assert [a["sigma"]["count"] for a in first + rest] == [20, 40]
    assert {a["event"]["id"] for a in first + rest} == {first[0]["event"]["id"]}
