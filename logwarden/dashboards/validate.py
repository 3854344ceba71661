"""Structural checks of a saved-objects NDJSON file (what `logwarden dashboards check` runs)."""

from __future__ import annotations

import json
from typing import Any

from .spec import INDEX_PREFIX, TIME_FIELD, data_views

KNOWN_TYPES = {"index-pattern", "visualization", "search", "dashboard"}


def parse_ndjson(text: str) -> list[dict[str, Any]]:
    objects = []
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        obj = json.loads(line)
        if not isinstance(obj, dict):
            raise ValueError(f"line {n}: not a JSON object")
        objects.append(obj)
    return objects


def problems(objects: list[dict[str, Any]], index_prefix: str = INDEX_PREFIX) -> list[str]:
    """Every structural problem found (empty = fine); data views must be ours under `index_prefix`."""
    out: list[str] = []
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    ids: set[str] = set()
    titles = {dv.title for dv in data_views(index_prefix).values()}
    for o in objects:
        t, oid = o.get("type"), o.get("id")
        if t not in KNOWN_TYPES or not isinstance(oid, str):
            out.append(f"object of type {t!r} id {oid!r}: unknown type or no id")
            continue
        if oid in ids:
            out.append(f"{t} {oid}: duplicate id")
        ids.add(oid)
        by_key[(t, oid)] = o
    for (t, oid), o in by_key.items():
        attrs = o.get("attributes", {})
        refs = o.get("references", [])
        names = [r.get("name") for r in refs]
        if len(set(names)) != len(names):
            out.append(f"{t} {oid}: duplicate reference names")
        for r in refs:
            if (r.get("type"), r.get("id")) not in by_key:
                out.append(f"{t} {oid}: reference {r.get('name')} -> {r.get('type')} {r.get('id')} not in the file")
        if t == "index-pattern":
            if attrs.get("title") not in titles:
                out.append(f"data view {oid}: title {attrs.get('title')!r} is not one of our index patterns")
            if attrs.get("timeFieldName") != TIME_FIELD:
                out.append(f"data view {oid}: timeFieldName {attrs.get('timeFieldName')!r}")
        if t in ("visualization", "search"):
            try:
                source = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
            except (KeyError, TypeError, ValueError) as exc:
                out.append(f"{t} {oid}: bad searchSourceJSON ({exc})")
                continue
            ref = source.get("indexRefName")
            if ref not in names or next(r for r in refs if r.get("name") == ref).get("type") != "index-pattern":
                out.append(f"{t} {oid}: indexRefName {ref!r} has no index-pattern reference")
            if source.get("query", {}).get("language") != "lucene":
                out.append(f"{t} {oid}: query language is not lucene")
        if t == "visualization":
            try:
                vis = json.loads(attrs["visState"])
                if vis.get("title") != attrs.get("title"):
                    out.append(f"visualization {oid}: visState title differs from the title")
            except (KeyError, TypeError, ValueError) as exc:
                out.append(f"visualization {oid}: bad visState ({exc})")
        if t == "dashboard":
            try:
                panels = json.loads(attrs["panelsJSON"])
            except (KeyError, TypeError, ValueError) as exc:
                out.append(f"dashboard {oid}: bad panelsJSON ({exc})")
                continue
            panel_refs = {f"{p.get('panelIndex')}:{p.get('panelRefName')}" for p in panels}
            for p in panels:
                name = f"{p.get('panelIndex')}:{p.get('panelRefName')}"
                ref = next((r for r in refs if r.get("name") == name), None)
                if ref is None:
                    out.append(f"dashboard {oid}: panel {p.get('panelIndex')} has no reference {name}")
                elif ref.get("type") != p.get("type"):
                    out.append(f"dashboard {oid}: panel {p.get('panelIndex')} type {p.get('type')} "
                               f"but reference type {ref.get('type')}")
            for n in names:
                if n not in panel_refs:
                    out.append(f"dashboard {oid}: reference {n} is used by no panel")
            if len({p.get("panelIndex") for p in panels}) != len(panels):
                out.append(f"dashboard {oid}: duplicate panelIndex")
    return out
