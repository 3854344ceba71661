"""The one field schema of logwarden documents, and the one list of datasets.

Fields are declared where they are produced, as Elastic integration packages do: each source
folder's `fields.yml` (logwarden/shippers/<source>/fields.yml) lists what its parser emits, the
datasets that no shipper writes have theirs in pipelines/elasticsearch/fields/ (alerts.yml,
deadletter.yml). An entry either defines a field (name, type, description) or names a shared one
(`external: ecs` -> fields/ecs.yml, `external: common` -> fields/common.yml), so a field has one
type and one description everywhere. A name declared twice with different mappings is an error.

From the schema come the index template (logwarden/schema_template.py), the field list `rules
check` accepts (`sigma_fields`) and the fields Lucene exports query without `.caseless`
(`without_caseless`). `value_problem` says whether a value is one Elasticsearch stores under the
declared type; `document_problems` checks a whole document.

Datasets: the Kafka topics `<topic_prefix><dataset>` and the indices `<index_prefix><dataset>-DAY`.
The list itself stays in `logwarden.shippers.base` (DATASETS, DEADLETTER: the shipper contract);
this module is where everything else takes it from.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from logwarden.resources import data_path
from logwarden.shippers.base import DATASETS, DEADLETTER

ALERTS = "alerts"
EVENT_DATASETS: tuple[str, ...] = tuple(d for d in DATASETS if d != ALERTS)  # what shippers produce
ALL_DATASETS: tuple[str, ...] = (*DATASETS, DEADLETTER)  # every topic and index family

TYPES = ("keyword", "long", "float", "ip", "date", "boolean", "object")
KEYWORD_IGNORE_ABOVE = 8191  # Lucene's term limit is 32766 bytes: 8191 four-byte characters fit
DYNAMIC_OBJECTS = ("winlog.event_data", "winlog.user_data")  # names only known at run time
_ENTRY_KEYS = {"name", "type", "description", "external", "index", "ignore_above", "caseless"}


class SchemaError(ValueError):
    """A fields.yml that cannot be used: unknown key or type, a missing description, a conflict."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: str
    description: str
    index: bool = True  # False: kept in _source, not searchable (raw originals)
    ignore_above: int | None = None  # keyword only; None: KEYWORD_IGNORE_ABOVE
    caseless: bool = True  # keyword only: a lowercase-normalised `.caseless` sub-field for Sigma

    def mapping(self) -> dict[str, Any]:
        """This field's Elasticsearch mapping (an `object` has none of its own)."""
        if self.type != "keyword":
            return {"type": self.type}
        out: dict[str, Any] = {"type": "keyword", "ignore_above": self.ignore_above or KEYWORD_IGNORE_ABOVE}
        if not self.index:
            out.update(index=False, doc_values=False)
        elif self.caseless:
            out["fields"] = {"caseless": {"type": "keyword", "normalizer": "lowercase",
                                          "ignore_above": out["ignore_above"]}}
        return out


def _field_files() -> Path:
    return data_path("logwarden.pipelines", "elasticsearch", "fields")


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError) as exc:
        raise SchemaError(f"{path}: {exc}") from exc
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise SchemaError(f"{path}: expected a list of field entries")
    return data


def _define(path: Path, entry: dict[str, Any]) -> Field:
    where = f"{path}: {entry.get('name')!r}"
    unknown = set(entry) - _ENTRY_KEYS
    if unknown:
        raise SchemaError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if entry.get("type") not in TYPES:
        raise SchemaError(f"{where}: type {entry.get('type')!r} is not one of {', '.join(TYPES)}")
    description = entry.get("description")
    if not isinstance(description, str) or description.strip().upper() in ("", "TODO"):
        raise SchemaError(f"{where}: needs a description")
    if entry["type"] != "keyword" and {"index", "ignore_above", "caseless"} & set(entry):
        raise SchemaError(f"{where}: index, ignore_above and caseless apply to keyword fields only")
    return Field(str(entry["name"]), entry["type"], entry["description"].strip(), bool(entry.get("index", True)),
                 entry.get("ignore_above"), bool(entry.get("caseless", True)))


@lru_cache(maxsize=1)
def externals() -> dict[str, dict[str, Field]]:
    """The shared definitions: {"ecs": {name: Field}, "common": {...}}."""
    out: dict[str, dict[str, Field]] = {}
    for kind in ("ecs", "common"):
        path = _field_files() / f"{kind}.yml"
        out[kind] = {}
        for entry in _read(path):
            if "external" in entry:
                raise SchemaError(f"{path}: {entry.get('name')!r}: a shared definition cannot be external")
            f = _define(path, entry)
            if f.name in out[kind]:
                raise SchemaError(f"{path}: {f.name!r} defined twice")
            out[kind][f.name] = f
    return out


def load_fields(path: Path) -> dict[str, Field]:
    """One fields.yml, external references resolved.

    Raises:
        SchemaError: the file is malformed, names an unknown external field or declares one twice.
    """
    shared = externals()
    out: dict[str, Field] = {}
    for entry in _read(path):
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise SchemaError(f"{path}: an entry without a name")
        if "external" in entry:
            kind = entry["external"]
            if set(entry) - {"name", "external"}:
                raise SchemaError(f"{path}: {name!r}: an external field takes its type and description from {kind}")
            if kind not in shared or name not in shared[kind]:
                raise SchemaError(f"{path}: {name!r} is not defined in fields/{kind}.yml")
            field = shared[kind][name]
        else:
            field = _define(path, entry)
        if name in out:
            raise SchemaError(f"{path}: {name!r} declared twice")
        out[name] = field
    return out


def source_files() -> dict[str, Path]:
    """Every source folder's fields.yml, by source name (the folder's)."""
    root = data_path("logwarden.shippers")
    return {p.parent.name: p for p in sorted(root.glob("*/fields.yml"))}


def dataset_files() -> dict[str, Path]:
    """The fields of the datasets no shipper writes (alerts, deadletter)."""
    return {name: _field_files() / f"{name}.yml" for name in (ALERTS, DEADLETTER)}


@lru_cache(maxsize=1)
def all_fields() -> dict[str, Field]:
    """Every declared field of every source and dataset, by name.

    Raises:
        SchemaError: a file is malformed, or one name is declared with two different mappings.
    """
    out: dict[str, Field] = {}
    origin: dict[str, Path] = {}
    for path in (*source_files().values(), *dataset_files().values()):
        for name, field in load_fields(path).items():
            seen = out.get(name)
            if seen is not None and seen.mapping() != field.mapping():
                raise SchemaError(f"{name!r}: {path} maps it as {field.mapping()}, {origin[name]} as {seen.mapping()}")
            if seen is None:
                out[name], origin[name] = field, path
    for name in out:  # a leaf cannot also be an object with children
        parent = name.rpartition(".")[0]
        while parent:
            if parent in out and out[parent].type != "object":
                raise SchemaError(f"{name!r} is declared under {parent!r}, which is a {out[parent].type}")
            parent = parent.rpartition(".")[0]
    return out


# -- values ---------------------------------------------------------------------------------------

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?\Z")
_LONG_RANGE = (-(2**63), 2**63 - 1)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def value_problem(field: Field, value: Any) -> str | None:
    """Why `value` would not be stored under `field`'s type, or None when it would be (arrays are
    judged per element, as Elasticsearch does). Strings are not coerced: a `long` must be a JSON
    integer, so a number kept as text is reported instead of silently converted."""
    values = value if isinstance(value, list) else [value]
    for v in values:
        if v is None:
            continue
        t = field.type
        if t == "object":
            ok = isinstance(v, dict)
        elif t == "keyword":
            ok = isinstance(v, str)
        elif t == "long":
            ok = type(v) is int and _LONG_RANGE[0] <= v <= _LONG_RANGE[1]
        elif t == "float":
            ok = type(v) in (int, float)
        elif t == "boolean":
            ok = type(v) is bool
        elif t == "date":
            ok = isinstance(v, str) and bool(_DATE.match(v))
        else:  # ip
            ok = isinstance(v, str) and _is_ip(v)
        if not ok:
            return f"{field.name}: {v!r} is not a valid {t}"
    return None


def leaves(doc: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted name, value) of every leaf of a nested document; the dynamic objects stay whole."""
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in DYNAMIC_OBJECTS:
            yield from leaves(value, f"{name}.")
        else:
            yield name, value


def document_problems(doc: dict[str, Any], fields: dict[str, Field]) -> list[str]:
    """Every leaf of `doc` that `fields` does not declare, or holds a value of the wrong type;
    winlog.event_data / user_data must be objects of strings (or lists of strings: a repeated
    element, the unnamed Data values)."""
    out = []
    for name, value in leaves(doc):
        field = fields.get(name)
        if field is None:
            out.append(f"{name}: not declared")
            continue
        problem = value_problem(field, value)
        if problem:
            out.append(problem)
        elif name in DYNAMIC_OBJECTS:
            out += [f"{name}.{k}: {v!r} is not a string" for k, v in value.items()
                    if not (isinstance(v, str) or isinstance(v, list) and all(isinstance(x, str) for x in v))]
    return out


# -- Sigma ----------------------------------------------------------------------------------------

def without_caseless() -> list[str]:
    """Declared fields that hold values but have no `.caseless` sub-field (sorted): a query on
    them must keep the field's own name (pipelines/sigma/caseless.yml is completed with these)."""
    return sorted(name for name, f in all_fields().items()
                  if f.type != "object" and "caseless" not in f.mapping().get("fields", {}))


def sigma_fields() -> frozenset[str]:
    """The document fields a Sigma rule may name: every declared field that holds values."""
    return frozenset(name for name, f in all_fields().items() if f.type != "object")
