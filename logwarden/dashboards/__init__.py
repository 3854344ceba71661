"""Kibana saved objects for the SOC: readable source in dashboards/src/*.yml, generated
dashboards/logwarden.ndjson (never hand-edited). See dashboards/README.md."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from logwarden.networks import Range
from logwarden.resources import dashboards_dir

from .saved_objects import build_objects, to_ndjson
from .spec import DATA_VIEWS, INDEX_PREFIX, Dashboard, SpecError, data_views, load_dashboards, parse_time_range
from .validate import parse_ndjson, problems

SRC = dashboards_dir() / "src"
OUT = dashboards_dir() / "logwarden.ndjson"

__all__ = ["DATA_VIEWS", "INDEX_PREFIX", "OUT", "SRC", "Dashboard", "SpecError", "build_objects", "check",
           "data_views", "load_dashboards", "parse_ndjson", "problems", "render", "to_ndjson"]


def render(src: Path = SRC, index_prefix: str = INDEX_PREFIX, internal_extra: tuple[Range, ...] = (),
           time_range: tuple[str, str] | None = None) -> str:
    """The NDJSON text the sources generate for a site: its index prefix (data views), its own
    internal ranges (added to the network lists of the queries) and, when given, the (from, to)
    every dashboard opens on instead of its source's. The committed file uses the defaults.

    Raises:
        SpecError: a source is invalid, or time_range is not ISO UTC / date math."""
    dashboards = load_dashboards(src)
    if time_range is not None:
        start, end = parse_time_range("--time-from/--time-to", {"from": time_range[0], "to": time_range[1]})
        dashboards = [replace(d, time_from=start, time_to=end) for d in dashboards]
    return to_ndjson(build_objects(dashboards, index_prefix, internal_extra))


def check(src: Path = SRC, out: Path = OUT) -> list[str]:
    """Problems with the committed file: stale against the sources, or structurally broken."""
    expected = render(src)
    try:
        actual = out.read_text(encoding="utf-8")
    except OSError as exc:
        return [f"{out}: {exc} (run `logwarden dashboards build`)"]
    found = []
    if actual != expected:
        found.append(f"{out} is stale: it differs from what {src} generates (run `logwarden dashboards build`)")
    try:
        found += problems(parse_ndjson(actual))
    except ValueError as exc:
        found.append(f"{out}: {exc}")
    return found
