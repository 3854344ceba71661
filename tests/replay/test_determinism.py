"""The replay generator: same seed, same files and event ids; the seed varies details only;
--scale multiplies the background and leaves the incident alone; every record parses."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from logwarden.replay import path, scenario, writers
from logwarden.replay.model import ROW_KEYS


def _contents(files: list[writers.WrittenFile]) -> dict[str, object]:
    out: dict[str, object] = {}
    for f in files:
        if f.source == "huorong":
            with sqlite3.connect(f.path) as db:
                out[f.label] = db.execute("SELECT id, fname, ts, detail FROM HrLogV3 ORDER BY id").fetchall()
        else:
            out[f.label] = f.path.read_bytes()
    return out


def test_same_seed_same_files_and_event_ids(tmp_path: Path) -> None:
    first = writers.write(scenario.records(seed=7), tmp_path / "a")
    second = writers.write(scenario.records(seed=7), tmp_path / "b")
    assert _contents(first) == _contents(second)
    assert list(path.event_rows(first)) == list(path.event_rows(second))


def test_rewriting_a_folder_gives_the_same_ids(tmp_path: Path) -> None:
    ids = list(path.event_rows(writers.write(scenario.records(seed=3), tmp_path)))
    assert list(path.event_rows(writers.write(scenario.records(seed=3), tmp_path))) == ids


def test_another_seed_changes_details_not_the_rows(tmp_path: Path) -> None:
    one = path.event_rows(writers.write(scenario.records(seed=1), tmp_path / "a"))
    two = path.event_rows(writers.write(scenario.records(seed=2), tmp_path / "b"))
    assert set(one) != set(two)
    rows_one = sorted(str(row) for row, _doc in one.values())
    rows_two = sorted(str(row) for row, _doc in two.values())
    assert rows_one == rows_two  # as many records per row, and background records, for any seed


def test_scale_multiplies_the_background_only(tmp_path: Path) -> None:
    base = scenario.records(seed=1, scale=1)
    scaled = scenario.records(seed=1, scale=3)
    incident = [r for r in base if r.row is not None]
    assert [(r.time, r.host, r.payload(1)) for r in scaled if r.row is not None] == \
           [(r.time, r.host, r.payload(1)) for r in incident]
    background = len(base) - len(incident)
    assert len(scaled) - len(incident) == 3 * background


def test_every_record_is_an_event_on_five_or_more_hosts(tmp_path: Path) -> None:
    files = writers.write(scenario.records(seed=1), tmp_path)
    events = path.event_rows(files)  # raises on any dead letter or a missing record
    assert len(events) == sum(len(f.rows) for f in files)
    windows_hosts = {doc["host"]["name"] for _row, doc in events.values()
                     if doc.get("event", {}).get("module") in ("security", "system", "sysmon", "windows_defender")
                     or "winlog" in doc}
    assert len(windows_hosts) >= 5
    assert {f.source for f in files} == {"windows", "secgate", "winfirewall", "huorong"}
    assert {row for row, _doc in events.values()} - {None} == set(ROW_KEYS) - {"disconnect"}


def test_incident_artifacts_are_in_the_native_logs(tmp_path: Path) -> None:
    files = writers.write(scenario.records(seed=1), tmp_path)
    text = "\n".join(f.path.read_text(encoding="utf-8") for f in files if f.source != "huorong")
    for needle in (".id[2C7BD37B-2803].[mccreight.ellery@tutanota.com].eight", "\\info.hta", "\\info.txt",
                   "securebootthemes", "vssadmin delete shadows /all /quiet", "wmic shadowcopy delete",
                   "recoveryenabled no", "wbadmin delete catalog", "wevtutil.exe cl",
                   "policy=POLICY_NAT_PERMIT", "dport=3389"):
        assert needle in text, needle
