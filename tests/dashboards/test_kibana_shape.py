"""The generated saved objects against the shape of objects Kibana itself exported.

The rules below were read off saved-objects exports written by Kibana 8.13 and 8.17 (a data view,
an aggregation-based visualization, a saved search, a dashboard with by-reference panels; Stack
Management > Saved objects > Export) and off Elastic's integration packages
(elastic/integrations packages/*/kibana/dashboard/*.json). No exported file is copied here: each
rule is the key set or value Kibana wrote, compared field by field with every object of
dashboards/logwarden.ndjson. Kibana itself cannot run on this machine (no Docker, no Kibana
package on the allowed registries), so this and the real-Elasticsearch panel tests are what is
checked; rendering is not.

What the rules protect against on import into Kibana 8.x / 9.x:
- an object without coreMigrationVersion / typeMigrationVersion is treated as pre-7.x and run
  through every legacy migration; a typeMigrationVersion higher than the Kibana knows is refused;
- unknown attributes fail the model-version schema validation of newer Kibanas;
- a panel whose panelRefName / reference name do not pair, or an indexRefName without its
  index-pattern reference, imports but renders "Could not find reference";
- a dashboard without timeRestore opens on the last 15 minutes and shows nothing of the incident.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from logwarden.dashboards import OUT, parse_ndjson

OBJECTS = parse_ndjson(OUT.read_text(encoding="utf-8"))

# The envelope of an exported object, without the fields an export adds about the stored copy
# (created_at, updated_at, version, namespaces, originId): an import file need not carry them.
ENVELOPE = {"attributes", "coreMigrationVersion", "id", "managed", "references", "type", "typeMigrationVersion"}
CORE_MIGRATION = "8.8.0"  # what every export since 8.8 writes (model versions took over after it)
# typeMigrationVersion exports carry for these types: a version Kibana knows since 8.8, so 8.x
# and 9.x both import the objects and run only the migrations after it
TYPE_MIGRATIONS = {"index-pattern": {"8.0.0"}, "visualization": {"8.0.0", "8.5.0"},
                   "search": {"8.0.0", "10.5.0"}, "dashboard": {"8.9.0", "10.2.0", "10.3.0"}}
ATTRIBUTES = {
    "index-pattern": {"allowHidden", "fieldAttrs", "fieldFormatMap", "fields", "name", "runtimeFieldMap",
                      "sourceFilters", "timeFieldName", "title"},
    "visualization": {"description", "kibanaSavedObjectMeta", "title", "uiStateJSON", "version", "visState"},
    "search": {"columns", "description", "grid", "hideChart", "isTextBasedQuery", "kibanaSavedObjectMeta", "sort",
               "timeRestore", "title"},
    "dashboard": {"description", "kibanaSavedObjectMeta", "optionsJSON", "panelsJSON", "timeRestore", "title",
                  "version"},
}
TIME_RESTORE = {"refreshInterval", "timeFrom", "timeTo"}  # present exactly when timeRestore is true
# index-pattern attributes Kibana stores as JSON text, and the JSON type inside
INDEX_PATTERN_JSON = {"fieldAttrs": dict, "fieldFormatMap": dict, "fields": list, "runtimeFieldMap": dict,
                      "sourceFilters": list}
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
PANEL_SEARCH_SOURCE = {"filter", "indexRefName", "query"}
DASHBOARD_SEARCH_SOURCE = {"filter", "query"}
QUERY = {"language", "query"}
OPTIONS = {"hidePanelTitles", "syncColors", "syncCursor", "syncTooltips", "useMargins"}
PANEL = {"embeddableConfig", "gridData", "panelIndex", "panelRefName", "title", "type"}  # by-reference panel
GRID = {"h", "i", "w", "x", "y"}
GRID_COLUMNS = 48
VIS_STATE = {"aggs", "params", "title", "type"}
AGG = {"enabled", "id", "params", "schema", "type"}
TERMS_PARAMS = {"excludeIsRegex", "field", "includeIsRegex", "missingBucket", "missingBucketLabel", "order",
                "orderBy", "otherBucket", "otherBucketLabel", "size"}


def by_type(objects: list[dict[str, Any]], t: str) -> list[dict[str, Any]]:
    found = [o for o in objects if o["type"] == t]
    assert found, t
    return found


def _ids(objects: list[dict[str, Any]], t: str) -> list[str]:
    return [o["id"] for o in objects if o["type"] == t]


def check_envelope(objects: list[dict[str, Any]]) -> None:
    for o in objects:
        assert set(o) == ENVELOPE, o["id"]
        assert "migrationVersion" not in o  # the pre-8.8 field: never next to typeMigrationVersion
        assert o["coreMigrationVersion"] == CORE_MIGRATION
        assert o["typeMigrationVersion"] in TYPE_MIGRATIONS[o["type"]], o["type"]
        assert o["managed"] is False  # managed objects cannot be edited in Kibana
        for r in o["references"]:
            assert set(r) == {"id", "name", "type"}


def check_attribute_keys(objects: list[dict[str, Any]]) -> None:
    for obj_type, expected in ATTRIBUTES.items():
        for o in by_type(objects, obj_type):
            restore = obj_type == "dashboard" and o["attributes"].get("timeRestore") is True
            assert set(o["attributes"]) == (expected | TIME_RESTORE if restore else expected), o["id"]


def check_data_views(objects: list[dict[str, Any]]) -> None:
    for o in by_type(objects, "index-pattern"):
        a = o["attributes"]
        assert o["references"] == []
        assert a["allowHidden"] is False and a["name"] and a["title"] and a["timeFieldName"] == "@timestamp"
        for key, kind in INDEX_PATTERN_JSON.items():
            assert isinstance(a[key], str) and isinstance(json.loads(a[key]), kind), key


def check_panel_search_source(objects: list[dict[str, Any]]) -> None:
    for o in by_type(objects, "visualization") + by_type(objects, "search"):
        source = json.loads(o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert set(source) == PANEL_SEARCH_SOURCE and source["filter"] == []
        assert set(source["query"]) == QUERY and source["query"]["language"] in ("kuery", "lucene")
        assert source["indexRefName"] == INDEX_REF  # the id lives in references, never inline
        [ref] = [r for r in o["references"] if r["name"] == INDEX_REF]
        assert ref["type"] == "index-pattern" and ref["id"] in _ids(objects, "index-pattern")


def check_visualizations(objects: list[dict[str, Any]]) -> None:
    for o in by_type(objects, "visualization"):
        a = o["attributes"]
        assert json.loads(a["uiStateJSON"]) == {} and a["version"] == 1
        vis = json.loads(a["visState"])
        assert set(vis) == VIS_STATE and vis["title"] == a["title"]
        assert vis["type"] in ("histogram", "table", "metric")  # aggregation-based types Kibana 9 still has
        assert vis["type"] == "table" or vis["params"]["type"] == vis["type"]
        ids = [agg["id"] for agg in vis["aggs"]]
        assert len(set(ids)) == len(ids)
        for agg in vis["aggs"]:
            assert set(agg) == AGG and agg["enabled"] is True
            if agg["type"] == "count":
                assert agg["params"] == {"emptyAsNull": False} or set(agg["params"]) == {"emptyAsNull", "customLabel"}
            if agg["type"] == "terms":
                assert TERMS_PARAMS <= set(agg["params"]) <= TERMS_PARAMS | {"customLabel"}
                assert agg["params"]["orderBy"] in ids


def check_saved_searches(objects: list[dict[str, Any]]) -> None:
    for o in by_type(objects, "search"):
        a = o["attributes"]
        assert a["columns"] and all(isinstance(c, str) for c in a["columns"])
        assert a["sort"] == [["@timestamp", "desc"]] and a["isTextBasedQuery"] is False and a["grid"] == {}


def check_dashboards(objects: list[dict[str, Any]]) -> None:
    panel_types = {t: set(_ids(objects, t)) for t in ("visualization", "search")}
    for o in by_type(objects, "dashboard"):
        a = o["attributes"]
        source = json.loads(a["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert set(source) == DASHBOARD_SEARCH_SOURCE and set(source["query"]) == QUERY
        assert set(json.loads(a["optionsJSON"])) == OPTIONS
        assert a["timeRestore"] is True
        assert a["refreshInterval"] == {"pause": True, "value": 60000}
        refs = {r["name"]: r for r in o["references"]}
        panels = json.loads(a["panelsJSON"])
        for p in panels:
            assert set(p) == PANEL, p
            assert set(p["gridData"]) == GRID and p["gridData"]["i"] == p["panelIndex"]
            g = p["gridData"]
            assert g["x"] >= 0 and g["y"] >= 0 and g["w"] > 0 and g["h"] > 0 and g["x"] + g["w"] <= GRID_COLUMNS
            assert p["embeddableConfig"] == {"enhancements": {}}
            assert p["panelRefName"] == f"panel_{p['panelIndex']}"
            ref = refs[f"{p['panelIndex']}:{p['panelRefName']}"]
            assert ref["type"] == p["type"] and ref["id"] in panel_types[p["type"]]
        assert len(refs) == len(panels) == len(o["references"])
        # no two panels overlap on the grid
        cells = [(x, y) for p in panels for x in range(p["gridData"]["x"], p["gridData"]["x"] + p["gridData"]["w"])
                 for y in range(p["gridData"]["y"], p["gridData"]["y"] + p["gridData"]["h"])]
        assert len(cells) == len(set(cells)), a["title"]


CHECKS = [check_envelope, check_attribute_keys, check_data_views, check_panel_search_source, check_visualizations,
          check_saved_searches, check_dashboards]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_generated_objects_have_kibanas_shape(check):
    check(OBJECTS)


def _first(objects: list[dict[str, Any]], t: str) -> dict[str, Any]:
    return next(o for o in objects if o["type"] == t)


def _edit_json(obj: dict[str, Any], key: str, edit: Any) -> None:
    value = json.loads(obj["attributes"][key])
    edit(value)
    obj["attributes"][key] = json.dumps(value)


MUTATIONS = {
    "no typeMigrationVersion": lambda objs: _first(objs, "dashboard").pop("typeMigrationVersion"),
    "a version Kibana does not know": lambda objs: _first(objs, "visualization").update(typeMigrationVersion="99.0.0"),
    "legacy migrationVersion": lambda objs: _first(objs, "search").update(migrationVersion={"search": "7.9.3"}),
    "unknown attribute": lambda objs: _first(objs, "index-pattern")["attributes"].update(colour="red"),
    "opens on the last 15 minutes": lambda objs: [_first(objs, "dashboard")["attributes"].pop(k) for k in TIME_RESTORE]
    and _first(objs, "dashboard")["attributes"].update(timeRestore=False),
    "inline index id": lambda objs: _first(objs, "visualization")["attributes"]["kibanaSavedObjectMeta"].update(
        searchSourceJSON=json.dumps({"filter": [], "index": "x", "query": {"language": "lucene", "query": "*"}})),
    "panel without its reference": lambda objs: _first(objs, "dashboard")["references"].pop(),
    "panel with a stale version key": lambda objs: _edit_json(_first(objs, "dashboard"), "panelsJSON",
                                                              lambda ps: ps[0].update(version="7.10.0")),
    "overlapping panels": lambda objs: _edit_json(_first(objs, "dashboard"), "panelsJSON",
                                                  lambda ps: ps[1]["gridData"].update(x=0, y=0)),
    "agg without schema": lambda objs: _edit_json(_first(objs, "visualization"), "visState",
                                                  lambda v: v["aggs"][0].pop("schema")),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_the_rules_catch_what_breaks_an_import(mutation):
    objects = copy.deepcopy(OBJECTS)
    MUTATIONS[mutation](objects)
    failed = []
    for check in CHECKS:
        try:
            check(objects)
        except (AssertionError, KeyError, StopIteration, ValueError):
            failed.append(check.__name__)
    assert failed, f"{mutation}: no rule noticed"
