"""The readable source of the SOC dashboards: dashboards/src/*.yml, one file per dashboard.

    title: Incident timeline / RDP and logons
    description: ...                      (optional)
    time: {from: "2020-04-13T00:00:00.000Z", to: "2020-04-15T00:00:00.000Z"}
                                          (optional) the range the dashboard opens on (timeRestore);
                                          default DEFAULT_TIME, the incident replay's two days
    panels:
      - id: failed-logons-over-time       unique in the file: the saved object's id derives from it
        title: Failed logons over time by source address
        data_view: windows                 a key of DATA_VIEWS
        query: 'event.code:4625'           Lucene (query_string), exactly what Elasticsearch runs;
                                           {{not_public:source.ip}} / {{internal:source.ip}} expand to
                                           the CIDR lists of logwarden.networks at build time
        time_field: '@timestamp'           must be the data view's time field
        vis: date_histogram                date_histogram | terms_table | metric | search
        split: source.ip                   date_histogram: one series per top value (optional)
        terms: [source.ip, host.name]      terms_table: nested buckets, outermost first
        metric: {type: cardinality, field: host.name, label: distinct target hosts}
                                           count (default), cardinality, or max (e.g. the last
                                           event.ingested per source); terms are ordered by it
        size: 10                           buckets per terms level (default 10)
        interval: auto                     date_histogram bucket (Kibana's auto, or e.g. 1h)
        columns: [host.name, ...]          search: the document table's columns
        width: half                        half (default) | full

Validation errors name the file and the panel; nothing is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from logwarden import networks
from logwarden.bounded_yaml import YamlLimitError, load_file
from logwarden.networks import Range
from logwarden.schema import ALL_DATASETS, EVENT_DATASETS

TIME_FIELD = "@timestamp"
VIS_KINDS = ("date_histogram", "terms_table", "metric", "search")
METRIC_TYPES = ("count", "cardinality", "max")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True, slots=True)
class DataView:
    key: str
    name: str
    title: str  # the index pattern (comma-separated patterns allowed, as Kibana does)
    time_field: str = TIME_FIELD


INDEX_PREFIX = "logwarden-"  # the default index_prefix of logwarden.config: the committed NDJSON uses it
_VIEW_NAMES = {"windows": "Windows events", "firewall": "firewall", "av": "antivirus", "alerts": "alerts",
               "deadletter": "dead letters"}


def data_views(index_prefix: str = INDEX_PREFIX) -> dict[str, DataView]:
    """One data view per dataset of logwarden.schema (indices <prefix><dataset>-YYYY.MM.DD, written
    by the indexer and `detect`), and `events` over the datasets shippers produce."""
    views = {d: DataView(d, f"logwarden {_VIEW_NAMES.get(d, d)}", f"{index_prefix}{d}-*") for d in ALL_DATASETS}
    views["events"] = DataView("events", f"logwarden events ({', '.join(EVENT_DATASETS)})",
                               ",".join(f"{index_prefix}{d}-*" for d in EVENT_DATASETS))
    return views


DATA_VIEWS: dict[str, DataView] = data_views()
NETWORK_PLACEHOLDER = re.compile(r"\{\{(internal|not_public):([A-Za-z0-9_.@]+)\}\}")


def expand_networks(query: str, internal_extra: tuple[Range, ...] = ()) -> str:
    """`{{internal:FIELD}}` / `{{not_public:FIELD}}` -> FIELD:("10.0.0.0/8" OR ...), the lists of
    logwarden.networks (plus the site's configured internal ranges)."""
    def one(m: re.Match[str]) -> str:
        ranges = networks.internal(internal_extra) if m[1] == "internal" else networks.not_public(internal_extra)
        return f"{m[2]}:{networks.lucene_list(ranges)}"

    return NETWORK_PLACEHOLDER.sub(one, query)


@dataclass(frozen=True, slots=True)
class Metric:
    type: str = "count"
    field: str = ""
    label: str = ""


@dataclass(frozen=True, slots=True)
class Panel:
    id: str
    title: str
    data_view: str
    query: str
    vis: str
    time_field: str = TIME_FIELD
    description: str = ""
    split: str = ""
    terms: tuple[str, ...] = ()
    metric: Metric = field(default_factory=Metric)
    size: int = 10
    interval: str = "auto"
    columns: tuple[str, ...] = ()
    width: str = "half"


# The range every dashboard opens on unless its source says otherwise: the two days of
# ../shared/INCIDENT.md that `logwarden lab replay phobos` re-enacts (13-14 April 2020, UTC), so a
# fresh import after the demo shows the incident instead of Kibana's empty last 15 minutes. Kibana
# accepts absolute ISO times and date math ("now-24h") alike in timeFrom/timeTo.
DEFAULT_TIME = ("2020-04-13T00:00:00.000Z", "2020-04-15T00:00:00.000Z")
TIME_RE = re.compile(r"^(now([+-]\d+[smhdwMy])*(/[smhdwMy])?|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z)$")


@dataclass(frozen=True, slots=True)
class Dashboard:
    slug: str  # the source file's stem
    title: str
    description: str
    panels: tuple[Panel, ...]
    source: Path | None = None
    time_from: str = DEFAULT_TIME[0]
    time_to: str = DEFAULT_TIME[1]


# A dashboard source is a few kilobytes; larger ones (and YAML aliases) are refused unparsed
# (logwarden/bounded_yaml.py).
MAX_SOURCE_BYTES = 1024 * 1024


class SpecError(ValueError):
    pass


PANEL_KEYS = {"id", "title", "data_view", "query", "vis", "time_field", "description", "split", "terms", "metric",
              "size", "interval", "columns", "width"}


def _str(where: str, data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        raise SpecError(f"{where}: `{key}` is required")
    if not isinstance(value, str):
        raise SpecError(f"{where}: `{key}` must be a string, got {type(value).__name__}")
    return value


def _fields(where: str, value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SpecError(f"{where}: `{key}` must be a field name or a list of field names")
    return tuple(value)


def parse_panel(where: str, data: Any) -> Panel:
    if not isinstance(data, dict):
        raise SpecError(f"{where}: a panel must be a mapping")
    unknown = set(data) - PANEL_KEYS
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    pid = _str(where, data, "id")
    where = f"{where} ({pid})"
    if not ID_RE.match(pid):
        raise SpecError(f"{where}: id must be lowercase letters, digits and dashes")
    dv = _str(where, data, "data_view")
    if dv not in DATA_VIEWS:
        raise SpecError(f"{where}: unknown data_view {dv!r} (known: {', '.join(DATA_VIEWS)})")
    vis = _str(where, data, "vis")
    if vis not in VIS_KINDS:
        raise SpecError(f"{where}: unknown vis {vis!r} (known: {', '.join(VIS_KINDS)})")
    time_field = _str(where, data, "time_field", TIME_FIELD)
    if time_field != DATA_VIEWS[dv].time_field:
        raise SpecError(f"{where}: time_field {time_field!r} is not the data view's ({DATA_VIEWS[dv].time_field})")
    query = _str(where, data, "query")
    if not query.strip():
        raise SpecError(f"{where}: empty query (use '*' for every document)")
    m = data.get("metric") or {}
    if not isinstance(m, dict) or set(m) - {"type", "field", "label"}:
        raise SpecError(f"{where}: metric must be a mapping of type, field, label")
    metric = Metric(_str(where, m, "type", "count"), _str(where, m, "field", ""), _str(where, m, "label", ""))
    if metric.type not in METRIC_TYPES:
        raise SpecError(f"{where}: metric type {metric.type!r} (known: {', '.join(METRIC_TYPES)})")
    if (metric.type != "count") != bool(metric.field):
        raise SpecError(f"{where}: a {metric.type} metric needs a field, a count metric takes none")
    size = data.get("size", 10)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 500:
        raise SpecError(f"{where}: size must be an integer from 1 to 500")
    split = _str(where, data, "split", "")
    terms = _fields(where, data.get("terms"), "terms")
    columns = _fields(where, data.get("columns"), "columns")
    if vis == "terms_table" and not terms:
        raise SpecError(f"{where}: a terms_table needs `terms`")
    if vis != "terms_table" and terms:
        raise SpecError(f"{where}: `terms` only applies to terms_table")
    if split and vis != "date_histogram":
        raise SpecError(f"{where}: `split` only applies to date_histogram")
    if columns and vis != "search":
        raise SpecError(f"{where}: `columns` only applies to search")
    if vis == "search" and not columns:
        raise SpecError(f"{where}: a search needs `columns`")
    width = _str(where, data, "width", "half")
    if width not in ("half", "full"):
        raise SpecError(f"{where}: width must be half or full")
    interval = _str(where, data, "interval", "auto")
    if not re.fullmatch(r"auto|\d+[smhd]", interval):
        raise SpecError(f"{where}: interval must be auto or a number with s, m, h or d")
    return Panel(id=pid, title=_str(where, data, "title"), data_view=dv, query=query, vis=vis, time_field=time_field,
                 description=_str(where, data, "description", ""), split=split, terms=terms, metric=metric,
                 size=size, interval=interval, columns=columns, width=width)


def parse_dashboard(slug: str, data: Any, source: Path | None = None) -> Dashboard:
    where = str(source or slug)
    if not isinstance(data, dict):
        raise SpecError(f"{where}: expected a mapping at top level")
    unknown = set(data) - {"title", "description", "panels", "time"}
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    panels_data = data.get("panels")
    if not isinstance(panels_data, list) or not panels_data:
        raise SpecError(f"{where}: `panels` must be a non-empty list")
    panels = tuple(parse_panel(f"{where}: panel {i + 1}", p) for i, p in enumerate(panels_data))
    seen: set[str] = set()
    for p in panels:
        if p.id in seen:
            raise SpecError(f"{where}: duplicate panel id {p.id!r}")
        seen.add(p.id)
    time_from, time_to = parse_time_range(where, data.get("time"))
    return Dashboard(slug=slug, title=_str(where, data, "title"), description=_str(where, data, "description", ""),
                     panels=panels, source=source, time_from=time_from, time_to=time_to)


def parse_time_range(where: str, value: Any) -> tuple[str, str]:
    """(from, to) of a source's `time` mapping, DEFAULT_TIME without one.

    Raises:
        SpecError: not a mapping of from/to, or a time Kibana's time picker cannot read.
    """
    if value is None:
        return DEFAULT_TIME
    if not isinstance(value, dict) or set(value) != {"from", "to"}:
        raise SpecError(f"{where}: `time` must be a mapping with `from` and `to`")
    out = []
    for key in ("from", "to"):
        v = value[key]
        if not isinstance(v, str) or not TIME_RE.match(v):
            raise SpecError(f"{where}: time.{key} {v!r} must be an ISO time in UTC (2020-04-13T00:00:00.000Z) "
                            "or date math (now-24h)")
        out.append(v)
    return out[0], out[1]


def load_dashboards(src: Path) -> list[Dashboard]:
    """Every dashboards/src/*.yml, in file-name order (the output order)."""
    files = sorted(src.glob("*.yml"))
    if not files:
        raise SpecError(f"no dashboard sources (*.yml) in {src}")
    out = []
    titles: dict[str, Path] = {}
    for path in files:
        try:
            data = load_file(path, MAX_SOURCE_BYTES, "MAX_SOURCE_BYTES", "dashboard sources")
        except (OSError, UnicodeDecodeError, yaml.YAMLError, YamlLimitError) as exc:
            raise SpecError(f"{path}: {' '.join(str(exc).split())}") from exc
        d = parse_dashboard(path.stem, data, path)
        if d.title in titles:
            raise SpecError(f"{path}: title {d.title!r} already used by {titles[d.title]}")
        titles[d.title] = path
        out.append(d)
    return out
