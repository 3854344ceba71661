"""dashboards/logwarden.ndjson by structure, no servers: valid JSON lines, references that
resolve, unique ids, panelRefName <-> references, our index patterns, up to date with the sources,
hostile values carried as data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from logwarden.dashboards import OUT, SRC, check, load_dashboards, parse_ndjson, problems, render
from logwarden.dashboards.saved_objects import build_objects, to_ndjson
from logwarden.dashboards.spec import DATA_VIEWS, SpecError, parse_dashboard
from tests.support.paths import ROOT

TEXT = OUT.read_text(encoding="utf-8")
LINES = TEXT.split("\n")
OBJECTS = [json.loads(line) for line in LINES if line]
BY_KEY = {(o["type"], o["id"]): o for o in OBJECTS}
OUR_PATTERNS = {"logwarden-windows-*", "logwarden-firewall-*", "logwarden-av-*", "logwarden-alerts-*",
                "logwarden-deadletter-*"}


def test_every_line_is_one_json_object():
    assert TEXT.endswith("\n") and LINES[-1] == ""
    for n, line in enumerate(LINES[:-1], 1):
        assert line.strip() == line and line, f"line {n} blank or padded"
        assert isinstance(json.loads(line), dict), f"line {n}"
        assert line.isascii(), f"line {n}: non-ASCII (U+2028 and friends must be escaped)"


def test_ids_unique_and_deterministic():
    ids = [o["id"] for o in OBJECTS]
    assert len(ids) == len(set(ids))
    assert to_ndjson(build_objects(load_dashboards(SRC))) == TEXT  # same ids, same bytes, every run


def test_types_and_counts():
    dashboards = load_dashboards(SRC)
    types = [o["type"] for o in OBJECTS]
    assert types.count("dashboard") == len(dashboards) == 6
    assert types.count("visualization") + types.count("search") == sum(len(d.panels) for d in dashboards)
    assert {o["attributes"]["title"] for o in OBJECTS if o["type"] == "dashboard"} == {
        "Incident timeline / RDP and logons", "Defense evasion & ransomware", "Firewall & AV", "Alert triage",
        "Pipeline health", "Source health and silence"}


def test_every_reference_resolves_in_the_file():
    for o in OBJECTS:
        for r in o["references"]:
            assert (r["type"], r["id"]) in BY_KEY, f"{o['type']} {o['id']}: {r}"


def test_data_views_are_our_index_patterns():
    views = [o for o in OBJECTS if o["type"] == "index-pattern"]
    titles = set()
    for v in views:
        assert v["attributes"]["timeFieldName"] == "@timestamp"
        titles.update(v["attributes"]["title"].split(","))
    assert OUR_PATTERNS <= titles
    assert titles <= OUR_PATTERNS
    assert {v["attributes"]["title"] for v in views} == {dv.title for dv in DATA_VIEWS.values()}


def test_dashboard_panels_match_references():
    for d in (o for o in OBJECTS if o["type"] == "dashboard"):
        panels = json.loads(d["attributes"]["panelsJSON"])
        refs = {r["name"]: r for r in d["references"]}
        assert len(refs) == len(d["references"]) == len(panels)
        assert len({p["panelIndex"] for p in panels}) == len(panels)
        for p in panels:
            assert p["panelRefName"] == f"panel_{p['panelIndex']}"
            ref = refs[f"{p['panelIndex']}:{p['panelRefName']}"]
            assert ref["type"] == p["type"] and (ref["type"], ref["id"]) in BY_KEY
            assert p["gridData"]["i"] == p["panelIndex"]
            assert 0 <= p["gridData"]["x"] and p["gridData"]["x"] + p["gridData"]["w"] <= 48
            assert BY_KEY[(ref["type"], ref["id"])]["attributes"]["title"] == p["title"]


def test_panels_carry_lucene_query_and_data_view():
    for o in OBJECTS:
        if o["type"] not in ("visualization", "search"):
            continue
        source = json.loads(o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert source["query"]["language"] == "lucene" and source["query"]["query"].strip()
        ref = next(r for r in o["references"] if r["name"] == source["indexRefName"])
        assert ref["type"] == "index-pattern"
        if o["type"] == "visualization":
            vis = json.loads(o["attributes"]["visState"])
            assert vis["title"] == o["attributes"]["title"]
            assert vis["type"] in ("histogram", "table", "metric")
            assert [a["id"] for a in vis["aggs"]][0] == "1" and vis["aggs"][0]["schema"] == "metric"
        else:
            assert o["attributes"]["columns"] and o["attributes"]["sort"] == [["@timestamp", "desc"]]


def test_file_is_up_to_date_with_sources():
    assert check() == [], "run `logwarden dashboards build`"
    assert problems(parse_ndjson(TEXT)) == []


def test_check_fails_on_a_stale_or_edited_file(tmp_path):
    stale = tmp_path / "out.ndjson"
    stale.write_text(TEXT.replace('"Alert triage"', '"Alert triage (edited)"', 1), encoding="utf-8")
    assert any("stale" in p for p in check(SRC, stale))
    r = subprocess.run([sys.executable, "-m", "logwarden.dashboards", "check", "--out", str(stale)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 1 and "stale" in r.stderr


def test_build_writes_what_check_accepts(tmp_path):
    out = tmp_path / "x.ndjson"
    r = subprocess.run([sys.executable, "-m", "logwarden.cli", "dashboards", "build", "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.read_text(encoding="utf-8") == TEXT
    assert check(SRC, out) == []


def test_broken_reference_is_reported():
    objects = [dict(o) for o in OBJECTS]
    d = next(o for o in objects if o["type"] == "dashboard")
    d["references"] = [dict(r, id="00000000-0000-0000-0000-000000000000") if i == 0 else r
                       for i, r in enumerate(d["references"])]
    assert any("not in the file" in p for p in problems(objects))


HOSTILE = "</script><script>alert(\"x\")</script> \\ ' \u2028 \n 火绒 \x00 ${jndi:ldap://x}"


def test_hostile_values_are_data(tmp_path):
    """Titles, descriptions and queries pass through json.dumps only: any text survives the
    two JSON layers (line -> visState/searchSourceJSON/panelsJSON) unchanged."""
    src = tmp_path / "src"
    src.mkdir()
    spec = {"title": HOSTILE, "description": HOSTILE, "panels": [
        {"id": "a", "title": HOSTILE, "data_view": "windows", "query": HOSTILE, "vis": "terms_table",
         "terms": ["user.name"], "description": HOSTILE},
        {"id": "b", "title": HOSTILE + "2", "data_view": "av", "query": HOSTILE, "vis": "search",
         "columns": ["rule.name"]},
    ]}
    (src / "evil.yml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    text = render(src)
    lines = text.split("\n")[:-1]
    assert all(line.isascii() and "\n" not in line for line in lines)
    objects = [json.loads(line) for line in lines]
    assert problems(objects) == []
    dash = next(o for o in objects if o["type"] == "dashboard")
    assert dash["attributes"]["title"] == HOSTILE == dash["attributes"]["description"]
    assert json.loads(dash["attributes"]["panelsJSON"])[0]["title"] == HOSTILE
    vis = next(o for o in objects if o["type"] == "visualization")
    assert json.loads(vis["attributes"]["visState"])["title"] == HOSTILE
    assert json.loads(vis["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"] == HOSTILE


@pytest.mark.parametrize("bad, message", [
    ({"panels": []}, "panels"),
    ({"panels": [{"id": "a", "title": "t", "data_view": "nope", "query": "*", "vis": "metric"}]}, "data_view"),
    ({"panels": [{"id": "a", "title": "t", "data_view": "windows", "query": "*", "vis": "pie"}]}, "vis"),
    ({"panels": [{"id": "a", "title": "t", "data_view": "windows", "query": "*", "vis": "terms_table"}]}, "terms"),
    ({"panels": [{"id": "a", "title": "t", "data_view": "windows", "query": "*", "vis": "metric",
                  "time_field": "event.created"}]}, "time_field"),
    ({"panels": [{"id": "A b", "title": "t", "data_view": "windows", "query": "*", "vis": "metric"}]}, "id"),
    ({"panels": [{"id": "a", "title": "t", "data_view": "windows", "query": "*", "vis": "metric"},
                 {"id": "a", "title": "u", "data_view": "windows", "query": "*", "vis": "metric"}]}, "duplicate"),
    ({"panels": [{"id": "a", "title": "t", "data_view": "windows", "query": " ", "vis": "metric"}]}, "query"),
    ({"panels": [{"id": "a", "title": "t", "data_view": "windows", "query": "*", "vis": "metric",
                  "colour": "red"}]}, "unknown"),
])
def test_source_errors_are_clear(bad, message):
    with pytest.raises(SpecError, match=message):
        parse_dashboard("x", {"title": "x", **bad}, Path("x.yml"))


def test_build_exit_code_on_bad_source(tmp_path):
    (tmp_path / "bad.yml").write_text("title: x\npanels: [{id: a}]\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "logwarden.dashboards", "build", "--src", str(tmp_path),
                        "--out", str(tmp_path / "o.ndjson")], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "bad.yml" in r.stderr and not (tmp_path / "o.ndjson").exists()
