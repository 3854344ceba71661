"""Run the panels of the saved-objects file against Elasticsearch, the way Kibana would.

Reads the NDJSON itself (not the YAML source): the data view title from the panel's
index-pattern reference, the Lucene query from searchSourceJSON, the aggregations from visState.
Each panel becomes one search: query_string (Kibana's Lucene mode) + the time range, and the
legacy aggs in nesting order (count is doc_count; cardinality / max and terms ordered by metric "1").
Used by `logwarden dashboards query` and by the real-server tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .spec import INDEX_PREFIX

AUTO_INTERVAL = "1h"


@dataclass
class PanelQuery:
    dashboard: str  # dashboard title
    panel: str  # panelIndex (the source's panel id)
    title: str
    type: str  # visualization | search
    index: str
    body: dict[str, Any]
    bucket_aggs: list[str]  # names of the bucket aggs, outermost first


@dataclass
class PanelResult:
    query: PanelQuery
    hits: int
    top: Any  # first bucket key of the outermost bucket agg (None: no buckets / no agg)
    buckets: list[Any]


def rewrite_index(title: str, index_prefix: str) -> str:
    """Data view title (logwarden-windows-*[,...]) -> the same patterns under another prefix
    (patterns already under `index_prefix`, from `dashboards build --index-prefix`, stay)."""
    parts = []
    for pattern in title.split(","):
        if pattern.startswith(index_prefix):
            parts.append(pattern)
            continue
        if not pattern.startswith(INDEX_PREFIX):
            raise ValueError(f"data view pattern {pattern!r} does not start with {INDEX_PREFIX}")
        parts.append(index_prefix + pattern[len(INDEX_PREFIX):])
    return ",".join(parts)


def _es_agg(agg: dict[str, Any], metric: dict[str, Any] | None) -> dict[str, Any]:
    p = agg.get("params", {})
    if agg["type"] == "terms":
        order_by = p.get("orderBy", "1")
        order = {"_count": p.get("order", "desc")}
        if metric is not None and metric["type"] != "count" and order_by == metric["id"]:
            order = {metric["id"]: p.get("order", "desc")}
        return {"terms": {"field": p["field"], "size": int(p.get("size", 10)), "order": order}}
    if agg["type"] == "date_histogram":
        interval = p.get("interval", "auto")
        return {"date_histogram": {"field": p["field"], "min_doc_count": int(p.get("min_doc_count", 1)),
                                   "fixed_interval": AUTO_INTERVAL if interval == "auto" else interval}}
    raise ValueError(f"unsupported bucket agg {agg['type']}")


def _metric_body(metric: dict[str, Any]) -> dict[str, Any]:
    if metric["type"] in ("cardinality", "max"):
        return {metric["type"]: {"field": metric["params"]["field"]}}
    raise ValueError(f"unsupported metric {metric['type']}")


def panel_queries(objects: list[dict[str, Any]], index_prefix: str, start: str | None = None,
                  end: str | None = None) -> list[PanelQuery]:
    """One query per dashboard panel, over [start, end]; None: the range the dashboard opens on
    (its saved timeFrom / timeTo when timeRestore is on, else Kibana's default last 15 minutes)."""
    by_key = {(o["type"], o["id"]): o for o in objects}
    out = []
    for dash in (o for o in objects if o["type"] == "dashboard"):
        refs = {r["name"]: r for r in dash["references"]}
        restore = dash["attributes"].get("timeRestore") is True
        gte = start or (dash["attributes"]["timeFrom"] if restore else "now-15m")
        lte = end or (dash["attributes"]["timeTo"] if restore else "now")
        for p in json.loads(dash["attributes"]["panelsJSON"]):
            ref = refs[f"{p['panelIndex']}:{p['panelRefName']}"]
            obj = by_key[(ref["type"], ref["id"])]
            attrs = obj["attributes"]
            source = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
            dv_ref = next(r for r in obj["references"] if r["name"] == source["indexRefName"])
            dv = by_key[("index-pattern", dv_ref["id"])]["attributes"]
            time_field = dv["timeFieldName"]
            q = source["query"]
            if q.get("language") != "lucene":
                raise ValueError(f"{attrs['title']}: query language {q.get('language')} (only lucene is run)")
            query = {"bool": {"filter": [
                {"query_string": {"query": q["query"], "analyze_wildcard": True}},
                {"range": {time_field: {"gte": gte, "lte": lte, "format": "strict_date_optional_time"}}},
            ]}}
            body: dict[str, Any] = {"query": query, "track_total_hits": True, "size": 0}
            names: list[str] = []
            if obj["type"] == "visualization":
                vis = json.loads(attrs["visState"])
                metrics = [a for a in vis["aggs"] if a["schema"] == "metric" and a.get("enabled", True)]
                buckets = [a for a in vis["aggs"] if a["schema"] != "metric" and a.get("enabled", True)]
                first = metrics[0] if metrics else None
                extra = {m["id"]: _metric_body(m) for m in metrics if m["type"] != "count"}
                level = body
                for b in buckets:
                    agg = _es_agg(b, first)
                    if extra:
                        agg["aggs"] = dict(extra)
                    level.setdefault("aggs", {})[b["id"]] = agg
                    names.append(b["id"])
                    level = agg
                if not buckets and extra:
                    body["aggs"] = dict(extra)
            else:
                body["size"] = 10
                body["sort"] = [{time_field: "desc"}]
            out.append(PanelQuery(dash["attributes"]["title"], p["panelIndex"], attrs["title"], obj["type"],
                                  rewrite_index(dv["title"], index_prefix), body, names))
    return out


def run_panel(es: Any, pq: PanelQuery) -> PanelResult:
    resp = es.search(index=pq.index, ignore_unavailable=True, allow_no_indices=True, **pq.body)
    hits = int(resp["hits"]["total"]["value"])
    buckets: list[Any] = []
    if pq.bucket_aggs:
        # no matching index at all: Elasticsearch answers without "aggregations"
        raw = (resp.body.get("aggregations") or {}).get(pq.bucket_aggs[0], {}).get("buckets", [])
        buckets = [b.get("key_as_string", b["key"]) for b in raw]
    return PanelResult(pq, hits, buckets[0] if buckets else None, buckets)
