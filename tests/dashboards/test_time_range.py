"""The range dashboards open on: the incident replay's days by default (sources), a site's own
with `dashboards build|import --time-from --time-to`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from logwarden.dashboards import SpecError, parse_ndjson
from logwarden.dashboards.spec import DEFAULT_TIME, parse_dashboard


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logwarden.cli", *args], capture_output=True, text=True,
                          timeout=120, check=False)


PANEL = {"id": "p", "title": "P", "data_view": "alerts", "query": "*", "vis": "metric"}


def test_a_source_without_time_opens_on_the_replay_days():
    d = parse_dashboard("x", {"title": "X", "panels": [PANEL]})
    assert (d.time_from, d.time_to) == DEFAULT_TIME == ("2020-04-13T00:00:00.000Z", "2020-04-15T00:00:00.000Z")


def test_a_source_sets_its_own_time():
    d = parse_dashboard("x", {"title": "X", "panels": [PANEL], "time": {"from": "now-7d/d", "to": "now"}})
    assert (d.time_from, d.time_to) == ("now-7d/d", "now")


@pytest.mark.parametrize("time", [{"from": "now-1d"}, {"from": "yesterday", "to": "now"}, "now-1d",
                                  {"from": "2020-04-13", "to": "now"}, {"from": "now-1d", "to": "now", "x": 1}])
def test_bad_time_is_refused_with_the_file_named(time):
    with pytest.raises(SpecError, match="x.yml"):
        parse_dashboard("x", {"title": "X", "panels": [PANEL], "time": time}, Path("x.yml"))


def test_build_with_a_live_time_range(tmp_path):
    """A live site's file opens on the last day; the committed file keeps the replay's days."""
    out = tmp_path / "live.ndjson"
    r = run_cli("dashboards", "build", "--time-from", "now-24h", "--time-to", "now", "-o", str(out))
    assert r.returncode == 0, r.stderr
    dashboards = [o for o in parse_ndjson(out.read_text(encoding="utf-8")) if o["type"] == "dashboard"]
    assert dashboards and {(d["attributes"]["timeFrom"], d["attributes"]["timeTo"]) for d in dashboards} == {
        ("now-24h", "now")}
    assert all(d["attributes"]["timeRestore"] is True for d in dashboards)


def test_build_refuses_half_or_bad_time_ranges(tmp_path):
    out = tmp_path / "x.ndjson"
    half = run_cli("dashboards", "build", "--time-from", "now-24h", "-o", str(out))
    bad = run_cli("dashboards", "build", "--time-from", "yesterday", "--time-to", "now", "-o", str(out))
    for r in (half, bad):
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "yesterday" in bad.stderr and not out.exists()
