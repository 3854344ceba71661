"""Dashboard sources -> Kibana saved objects (NDJSON, one object per line) for the import API.

Format (imports into Kibana 8.x and 9.x; objects carry the migration versions Kibana 8.x exports
write, so Kibana runs only its later migrations on import):
- `index-pattern` (data view) per data_views() entry (for the configured index prefix), timeFieldName @timestamp;
- `visualization` (legacy aggregation-based: `histogram`, `table`, `metric`; visState + a Lucene
  query in kibanaSavedObjectMeta.searchSourceJSON with indexRefName) or `search` (saved search
  with columns) per panel;
- `dashboard` per source file: panelsJSON with panelRefName `panel_<panelIndex>`, references named
  `<panelIndex>:panel_<panelIndex>` as Kibana's own dashboard export writes them.

Every nested JSON string (visState, searchSourceJSON, panelsJSON, ...) and every line is produced
by json.dumps; nothing is escaped by hand. Ids are uuid5 of names, output is sorted and stable.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from logwarden.networks import Range

from .spec import INDEX_PREFIX, TIME_FIELD, Dashboard, DataView, Panel, data_views, expand_networks

NAMESPACE = uuid.UUID("5d0c6a8e-3f0e-5b6a-9a52-6c6f67776172")
CORE_MIGRATION = "8.8.0"
TYPE_MIGRATION = {"index-pattern": "8.0.0", "visualization": "8.5.0", "search": "8.0.0", "dashboard": "8.9.0"}
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
GRID_COLUMNS = 48
PANEL_HEIGHT = 15


def object_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "logwarden:" + "/".join(parts)))


def data_view_id(key: str) -> str:
    return object_id("data-view", key)


def panel_object_id(dashboard: Dashboard, panel: Panel) -> str:
    return object_id("panel", dashboard.slug, panel.id)


def dashboard_id(dashboard: Dashboard) -> str:
    return object_id("dashboard", dashboard.slug)


def enc(value: Any) -> str:
    """The one JSON encoder for nested JSON strings and lines: sorted keys, no whitespace, ASCII only
    (no raw U+2028 or other line breaks a reader could split a line on)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _saved(obj_type: str, oid: str, attributes: dict[str, Any], references: list[dict[str, str]]) -> dict[str, Any]:
    return {"attributes": attributes, "coreMigrationVersion": CORE_MIGRATION, "id": oid, "managed": False,
            "references": references, "type": obj_type, "typeMigrationVersion": TYPE_MIGRATION[obj_type]}


def data_view_object(dv: DataView) -> dict[str, Any]:
    return _saved("index-pattern", data_view_id(dv.key), {
        "allowHidden": False, "fieldAttrs": "{}", "fieldFormatMap": "{}", "fields": "[]", "name": dv.name,
        "runtimeFieldMap": "{}", "sourceFilters": "[]", "timeFieldName": dv.time_field, "title": dv.title,
    }, [])


def _search_source(query: str) -> str:
    return enc({"filter": [], "indexRefName": INDEX_REF, "query": {"language": "lucene", "query": query}})


def _metric_agg(panel: Panel) -> dict[str, Any]:
    m = panel.metric
    params: dict[str, Any] = {"emptyAsNull": False} if m.type == "count" else {"field": m.field}
    if m.label:
        params["customLabel"] = m.label
    return {"enabled": True, "id": "1", "params": params, "schema": "metric", "type": m.type}


def _terms_agg(agg_id: str, field: str, size: int, schema: str, label: str = "") -> dict[str, Any]:
    params: dict[str, Any] = {"excludeIsRegex": True, "field": field, "includeIsRegex": True,
                              "missingBucket": False, "missingBucketLabel": "Missing",
                              "order": "desc", "orderBy": "1", "otherBucket": False,
                              "otherBucketLabel": "Other", "size": size}
    if label:
        params["customLabel"] = label
    return {"enabled": True, "id": agg_id, "params": params, "schema": schema, "type": "terms"}


def _date_histogram_agg(agg_id: str, panel: Panel) -> dict[str, Any]:
    return {"enabled": True, "id": agg_id, "schema": "segment", "type": "date_histogram",
            "params": {"drop_partials": False, "extendToTimeRange": True, "extended_bounds": {},
                       "field": panel.time_field, "interval": panel.interval, "min_doc_count": 1,
                       "scaleMetricValues": False, "useNormalizedEsInterval": True}}


def _histogram_params() -> dict[str, Any]:
    return {
        "type": "histogram", "addLegend": True, "addTimeMarker": False, "addTooltip": True,
        "legendPosition": "right", "times": [], "thresholdLine": {"show": False, "value": 10, "width": 1,
                                                                    "style": "full", "color": "#E7664C"},
        "categoryAxes": [{"id": "CategoryAxis-1", "labels": {"filter": True, "show": True, "truncate": 100},
                          "position": "bottom", "scale": {"type": "linear"}, "show": True, "style": {},
                          "title": {}, "type": "category"}],
        "valueAxes": [{"id": "ValueAxis-1", "labels": {"filter": False, "rotate": 0, "show": True, "truncate": 100},
                       "name": "LeftAxis-1", "position": "left", "scale": {"mode": "normal", "type": "linear"},
                       "show": True, "style": {}, "title": {"text": "Count"}, "type": "value"}],
        "seriesParams": [{"data": {"id": "1", "label": "Count"}, "drawLinesBetweenPoints": True,
                          "interpolate": "linear", "lineWidth": 2, "mode": "stacked", "show": True,
                          "showCircles": True, "type": "histogram", "valueAxis": "ValueAxis-1"}],
        "grid": {"categoryLines": False}, "labels": {"show": False}, "palette": {"name": "default", "type": "palette"},
        "isVislibVis": True, "detailedTooltip": True, "fittingFunction": "linear", "radiusRatio": 0,
    }


def vis_state(panel: Panel) -> dict[str, Any]:
    """The legacy visState: aggs in nesting order (outermost bucket first), metric id "1"."""
    aggs: list[dict[str, Any]] = [_metric_agg(panel)]
    if panel.vis == "date_histogram":
        if panel.split:
            aggs.append(_terms_agg("2", panel.split, panel.size, "group"))
        aggs.append(_date_histogram_agg("3", panel))
        params = _histogram_params()
        return {"aggs": aggs, "params": params, "title": panel.title, "type": "histogram"}
    if panel.vis == "terms_table":
        if panel.metric.type != "count":
            aggs.append({"enabled": True, "id": "9", "params": {"emptyAsNull": False}, "schema": "metric",
                         "type": "count"})
        for i, f in enumerate(panel.terms):
            aggs.append(_terms_agg(str(i + 2), f, panel.size, "bucket"))
        params = {"autoFitRowToContent": False, "perPage": 10, "percentageCol": "", "showMetricsAtAllLevels": False,
                  "showPartialRows": False, "showToolbar": True, "showTotal": False, "totalFunc": "sum"}
        return {"aggs": aggs, "params": params, "title": panel.title, "type": "table"}
    if panel.vis == "metric":
        params = {"addLegend": False, "addTooltip": True, "type": "metric",
                  "metric": {"colorSchema": "Green to Red", "colorsRange": [{"from": 0, "to": 10000}],
                             "invertColors": False, "labels": {"show": True}, "metricColorMode": "None",
                             "percentageMode": False, "style": {"bgColor": False, "bgFill": "#000",
                                                                "fontSize": 60, "labelColor": False,
                                                                "subText": ""}, "useRanges": False}}
        return {"aggs": aggs, "params": params, "title": panel.title, "type": "metric"}
    raise ValueError(f"not a visualization: {panel.vis}")


def panel_object(dashboard: Dashboard, panel: Panel, internal_extra: tuple[Range, ...] = ()) -> dict[str, Any]:
    oid = panel_object_id(dashboard, panel)
    refs = [{"id": data_view_id(panel.data_view), "name": INDEX_REF, "type": "index-pattern"}]
    meta = {"searchSourceJSON": _search_source(expand_networks(panel.query, internal_extra))}
    if panel.vis == "search":
        return _saved("search", oid, {
            "columns": list(panel.columns), "description": panel.description, "grid": {}, "hideChart": False,
            "isTextBasedQuery": False, "kibanaSavedObjectMeta": meta, "sort": [[TIME_FIELD, "desc"]],
            "timeRestore": False, "title": panel.title,
        }, refs)
    return _saved("visualization", oid, {
        "description": panel.description, "kibanaSavedObjectMeta": meta, "title": panel.title,
        "uiStateJSON": "{}", "version": 1, "visState": enc(vis_state(panel)),
    }, refs)


def _layout(panels: Iterable[Panel]) -> list[tuple[Panel, dict[str, Any]]]:
    out = []
    x = y = 0
    for p in panels:
        w = GRID_COLUMNS if p.width == "full" else GRID_COLUMNS // 2
        if x + w > GRID_COLUMNS:
            x, y = 0, y + PANEL_HEIGHT
        out.append((p, {"h": PANEL_HEIGHT, "i": p.id, "w": w, "x": x, "y": y}))
        x += w
        if x >= GRID_COLUMNS:
            x, y = 0, y + PANEL_HEIGHT
    return out


def dashboard_object(dashboard: Dashboard) -> dict[str, Any]:
    panels = []
    refs = []
    for p, grid in _layout(dashboard.panels):
        obj_type = "search" if p.vis == "search" else "visualization"
        panels.append({"embeddableConfig": {"enhancements": {}}, "gridData": grid, "panelIndex": p.id,
                       "panelRefName": f"panel_{p.id}", "title": p.title, "type": obj_type})
        refs.append({"id": panel_object_id(dashboard, p), "name": f"{p.id}:panel_{p.id}", "type": obj_type})
    return _saved("dashboard", dashboard_id(dashboard), {
        "description": dashboard.description,
        "kibanaSavedObjectMeta": {"searchSourceJSON": enc({"filter": [], "query": {"language": "lucene",
                                                                                     "query": ""}})},
        "optionsJSON": enc({"hidePanelTitles": False, "syncColors": False, "syncCursor": True,
                            "syncTooltips": False, "useMargins": True}),
        "panelsJSON": enc(panels), "refreshInterval": {"pause": True, "value": 60000},
        "timeFrom": dashboard.time_from, "timeRestore": True, "timeTo": dashboard.time_to,
        "title": dashboard.title, "version": 1,
    }, refs)


def build_objects(dashboards: list[Dashboard], index_prefix: str = INDEX_PREFIX,
                  internal_extra: tuple[Range, ...] = ()) -> list[dict[str, Any]]:
    """Data views (the ones any panel uses, in data_views() order) over `index_prefix`, panels (network
    placeholders expanded with the site's extra internal ranges), dashboards."""
    used = {p.data_view for d in dashboards for p in d.panels}
    objects = [data_view_object(dv) for key, dv in data_views(index_prefix).items() if key in used]
    for d in dashboards:
        objects += [panel_object(d, p, internal_extra) for p in d.panels]
    objects += [dashboard_object(d) for d in dashboards]
    return objects


def to_ndjson(objects: list[dict[str, Any]]) -> str:
    return "".join(enc(o) + "\n" for o in objects)
