"""The silence decisions (logwarden/detection/silence.py) without servers: what is silent, when
an episode opens and closes, and that repeated passes do not repeat alerts."""

from __future__ import annotations

import pytest

from logwarden.config import ConfigError, load
from logwarden.detection.silence import (
    Episode,
    Seen,
    Silence,
    alert_doc,
    current,
    evaluate,
    host_key,
    rate_per_hour,
    resumed_doc,
)
from logwarden.pipelines.indexer import with_ingested
from logwarden.silence_settings import Settings, parse_settings

NOW = 1_800_000_000.0
GAP = 600.0
SETTINGS = Settings(True, GAP, {"av": 3600.0}, 86400.0)


def seen(family: str, host: str, last: float, channel: str = "", first: float | None = None,
         recent: int = 100) -> Seen:
    first = NOW - 20000 if first is None else first
    return Seen(family, host, channel, family, last, first, last - 5, recent, first)


def episode_of(s: Silence) -> Episode:
    return Episode(s.alert_id, s.kind, s.family, s.host, s.channel, s.last)


def kinds(silences: list[Silence]) -> set[tuple[str, str, str, str]]:
    return {(s.kind, s.family, s.host, s.channel) for s in silences}


def test_a_source_quiet_beyond_the_gap_is_silent_and_one_within_it_is_not() -> None:
    sources = [seen("firewall", "fw1", NOW - GAP - 1), seen("firewall", "fw2", NOW - GAP + 1)]
    silences, _ = current(sources, NOW, SETTINGS)
    assert kinds(silences) == {("source", "firewall", "fw1", "")}
    assert silences[0].gap == pytest.approx(GAP + 1)
    assert silences[0].threshold == GAP


def test_per_family_gap_overrides_the_default() -> None:
    sources = [seen("av", "pc1", NOW - 2000), seen("firewall", "fw1", NOW - 2000)]
    assert kinds(current(sources, NOW, SETTINGS)[0]) == {("source", "firewall", "fw1", "")}


def test_a_stopped_channel_alerts_only_while_the_host_still_sends_others() -> None:
    host_sends = [seen("windows", "srv1", NOW - GAP - 60, "Security"), seen("windows", "srv1", NOW - 5, "System"),
                  seen("av", "srv1", NOW - 5)]
    assert kinds(current(host_sends, NOW, SETTINGS)[0]) == {("channel", "windows", "srv1", "Security")}
    host_quiet = [seen("windows", "srv1", NOW - GAP - 60, "Security"),
                  seen("windows", "srv1", NOW - GAP - 30, "System"), seen("av", "srv1", NOW - 5)]
    # the whole host stopped: one source alert, not one per channel
    assert kinds(current(host_quiet, NOW, SETTINGS)[0]) == {("source", "windows", "srv1", "")}


def test_a_sparse_channel_is_not_missed_after_one_gap() -> None:
    sparse = [seen("windows", "srv1", NOW - GAP - 60, "Microsoft-Windows-Windows Defender/Operational", recent=2),
              seen("windows", "srv1", NOW - 5, "System"), seen("av", "srv1", NOW - 5)]
    assert current(sparse, NOW, SETTINGS)[0] == []


def test_a_windows_host_whose_av_never_reported() -> None:
    sources = [seen("windows", "SRV-TAX01.corp.local", NOW - 5, "Security", first=NOW - 3700),
               seen("windows", "SRV-TAX02.corp.local", NOW - 5, "Security", first=NOW - 3700),
               seen("av", "srv-tax02", NOW - 50000),  # reported long ago: not "never"
               seen("windows", "NEW-PC", NOW - 5, "Security", first=NOW - 100)]  # too new to tell
    silences = current(sources, NOW, SETTINGS)[0]
    assert ("av-never", "windows", "SRV-TAX01.corp.local", "") in kinds(silences)
    assert not {s.host for s in silences if s.kind == "av-never"} - {"SRV-TAX01.corp.local"}


def test_defender_channel_counts_as_av() -> None:
    sources = [seen("windows", "pc1", NOW - 5, "Security", first=NOW - 9000),
               seen("windows", "pc1", NOW - 5000, "Microsoft-Windows-Windows Defender/Operational", recent=1)]
    assert not [s for s in current(sources, NOW, SETTINGS)[0] if s.kind == "av-never"]


def test_an_episode_opens_once_across_passes_and_closes_when_the_source_is_heard() -> None:
    quiet = [seen("firewall", "fw1", NOW - GAP - 1)]
    opened, closed = evaluate(quiet, [], NOW, SETTINGS)
    assert len(opened) == 1 and closed == []
    episodes = [episode_of(opened[0])]
    # the next passes: same last ingest, same id, already open: nothing new
    assert evaluate(quiet, episodes, NOW + 60, SETTINGS) == ([], [])
    assert opened[0].alert_id == current(quiet, NOW + 60, SETTINGS)[0][0].alert_id
    heard = [seen("firewall", "fw1", NOW + 100)]
    opened2, closed2 = evaluate(heard, episodes, NOW + 110, SETTINGS)
    assert opened2 == [] and closed2 == [(episodes[0], NOW + 100)]


def test_a_short_return_then_quiet_again_closes_the_old_episode_and_opens_a_new_one() -> None:
    first = evaluate([seen("firewall", "fw1", NOW - GAP - 1)], [], NOW, SETTINGS)[0][0]
    later = NOW + 5000
    opened, closed = evaluate([seen("firewall", "fw1", later - GAP - 10)], [episode_of(first)], later, SETTINGS)
    assert [e.alert_id for e, _ in closed] == [first.alert_id]
    assert len(opened) == 1 and opened[0].alert_id != first.alert_id


def test_av_never_closes_when_the_av_reports() -> None:
    windows = seen("windows", "pc1", NOW - 5, "Security", first=NOW - 9000)
    opened = evaluate([windows], [], NOW, SETTINGS)[0]
    assert [s.kind for s in opened] == ["av-never"]
    opened2, closed = evaluate([windows, seen("av", "PC1", NOW - 1, first=NOW - 1)], [episode_of(opened[0])],
                               NOW + 10, SETTINGS)
    assert opened2 == [] and [e.kind for e, _ in closed] == ["av-never"]


def test_a_source_that_disappeared_from_the_indices_keeps_its_episode_open() -> None:
    opened = evaluate([seen("firewall", "fw1", NOW - GAP - 1)], [], NOW, SETTINGS)[0]
    assert evaluate([], [episode_of(opened[0])], NOW + 10, SETTINGS) == ([], [])


def test_alert_and_resumed_documents() -> None:
    s = current([seen("firewall", "fw\x1b[31m1", NOW - GAP - 1)], NOW, SETTINGS)[0][0]
    doc = alert_doc(s, NOW)
    assert doc["event"]["kind"] == "alert" and doc["event"]["id"] == s.alert_id
    assert doc["rule"]["id"] == "silence-source" and doc["rule"]["ruleset"] == "silence"
    assert doc["silence"]["phase"] == "silent" and doc["silence"]["threshold_seconds"] == GAP
    assert doc["host"]["name"] == "fw\x1b[31m1"  # data stays data; logs and screens escape it
    end = resumed_doc(episode_of(s), NOW + 50, NOW + 60)
    assert end["silence"]["alert_id"] == s.alert_id and end["event"]["id"] != s.alert_id
    assert end["event"]["end"] > end["event"]["start"]
    assert end["event"]["duration"] == int((GAP + 51) * 1e9)


def test_rate_and_host_key() -> None:
    assert rate_per_hour(120, NOW - 3600, NOW, 86400) == pytest.approx(120)
    assert rate_per_hour(120, NOW - 90000, NOW, 86400) == pytest.approx(5)  # the window caps the span
    assert rate_per_hour(0, None, NOW, 86400) == 0
    assert host_key("SRV-TAX01.corp.local") == "srv-tax01" and host_key("10.0.0.5") == "10.0.0.5"


def test_settings() -> None:
    s = parse_settings("on", "30m, av=24h, firewall=90s", "12h")
    assert (s.enabled, s.gap, s.gaps, s.baseline) == (True, 1800, {"av": 86400, "firewall": 90}, 43200)
    assert s.gap_for("windows") == 1800 and s.gap_for("av") == 86400
    assert parse_settings("off", "30m", "24h").enabled is False
    for bad in (("maybe", "30m", "24h"), ("on", "soon", "24h"), ("on", "dns=5m", "24h"), ("on", "0s", "24h")):
        with pytest.raises(ValueError):
            parse_settings(*bad)


def test_a_bad_silence_setting_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGWARDEN_SILENCE_GAP", "firewall=later")
    with pytest.raises(ConfigError, match="LOGWARDEN_SILENCE_GAP"):
        load()


def test_indexer_sets_event_ingested_only_when_missing() -> None:
    assert with_ingested(b'{"a":1}', b"T") == b'{"a":1,"event.ingested":"T"}'
    assert with_ingested(b"{}", b"T") == b'{"event.ingested":"T"}'
    assert with_ingested(b'{"event":{"ingested":"X"}}', b"T") == b'{"event":{"ingested":"X"}}'
    assert with_ingested(b'{"event.ingested":"X"}', b"T") == b'{"event.ingested":"X"}'
    assert with_ingested(b'{"note":"ingested"}', b"T") == b'{"note":"ingested","event.ingested":"T"}'


def test_silence_off_means_no_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    from logwarden.commands.detect import silence_watch

    monkeypatch.setenv("LOGWARDEN_SILENCE", "off")
    assert silence_watch(load(), es=None, dry_run=True) is None
    monkeypatch.setenv("LOGWARDEN_SILENCE", "on")
    assert silence_watch(load(), es=None, dry_run=True) is not None
