"""The index template, generated from the field schema (logwarden/schema.py) for an index prefix.

One composable template per prefix (`<prefix>*`: every dataset's daily indices share it), built at
`setup` time for the configured prefix. The default prefix's template is committed as
pipelines/elasticsearch/logwarden.json for review and checked fresh by tests/schema
(`python -m logwarden.schema_template --write` regenerates it).

Mapping decisions: every declared field maps as its Field says (keyword: ignore_above 8191 and a
lowercase `.caseless` sub-field for Sigma's case-insensitive matching; raw originals stored, not
indexed). Three dynamic templates remain, for what cannot be declared: the names inside
winlog.event_data / user_data (keyword + caseless, an object rather than `flattened`, which has no
sub-fields or normalisers), `*.ip` strings, and any other string a parser adds undeclared
(kept searchable as keyword rather than refused; tests/schema keeps the goldens fully declared).

Sigma keywords (values with no field, found inside any string value of the event) need one field
holding every value: each string-valued field (keyword, ip, date, and the three dynamic templates)
is copied (`copy_to`) into ALL_VALUES_FIELD, a lowercase-normalised keyword that is indexed only
(no doc values, absent from _source), so `detect` asks one `wildcard` query per keyword instead of
fetching every document. Not a `wildcard`-type field nor an n-gram text field: the lab's
Elasticsearch distribution has neither module (x-pack-wildcard, analysis-common). Raw originals
(index: false) are not copied: no engine keyword-searches them (detection/evaluate.py). Values
longer than its ignore_above are not indexed there either; such documents carry
`logwarden.long_fields` (kafka_io.encode) and detect fetches them and decides in process.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from logwarden.resources import data_path
from logwarden.schema import DYNAMIC_OBJECTS, KEYWORD_IGNORE_ABOVE, Field, all_fields

DEFAULT_INDEX_PREFIX = "logwarden-"  # logwarden.config's default index_prefix
# every string value of the event, lowercased, for Sigma keywords (see the module docstring)
ALL_VALUES_FIELD = "logwarden.all_values"
COPIED_TYPES = frozenset({"keyword", "ip", "date"})  # the types whose JSON values are strings (schema.value_problem)
TEMPLATE_PRIORITY = 200  # + len(prefix): a longer (more specific) prefix wins, equal ones cannot overlap


def template_name(index_prefix: str = DEFAULT_INDEX_PREFIX) -> str:
    """The template's name for a prefix: `logwarden` for the default, `logwarden-<prefix>` else."""
    if index_prefix == DEFAULT_INDEX_PREFIX:
        return "logwarden"
    return "logwarden-" + re.sub(r"[^a-z0-9_-]+", "-", index_prefix).strip("-_")


def _properties(fields: dict[str, Field]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for name in sorted(fields):
        field = fields[name]
        node = root
        *parents, leaf = name.split(".")
        for part in parents:
            node = node.setdefault(part, {"properties": {}})["properties"]
        if field.type == "object":
            node.setdefault(leaf, {"properties": {}})
        else:
            node[leaf] = field_mapping(field)
    return root


def _copied(mapping: dict[str, Any]) -> dict[str, Any]:
    """`mapping` with `copy_to` ALL_VALUES_FIELD when its values are searchable strings (a list,
    as Elasticsearch returns it)."""
    if mapping.get("type") in COPIED_TYPES and mapping.get("index", True):
        return {**mapping, "copy_to": [ALL_VALUES_FIELD]}
    return mapping


def field_mapping(field: Field) -> dict[str, Any]:
    """A declared field's mapping in the template: its own (Field.mapping) plus the copy into
    the keyword catch-all where its values are searchable strings."""
    return _copied(field.mapping())


def all_values_mapping() -> dict[str, Any]:
    """ALL_VALUES_FIELD's mapping: lowercased terms for `wildcard` queries, nothing else stored."""
    return {"type": "keyword", "normalizer": "lowercase", "ignore_above": KEYWORD_IGNORE_ABOVE,
            "doc_values": False}


def _strip_empty_objects(props: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in props.items():
        if "properties" in value:
            inner = _strip_empty_objects(value["properties"])
            out[key] = {"type": "object", "properties": inner} if inner else {"type": "object"}
        else:
            out[key] = value
    return out


def index_template(index_prefix: str = DEFAULT_INDEX_PREFIX) -> dict[str, Any]:
    """The composable index template for `<index_prefix>*` (see the module docstring)."""
    keyword = _copied(Field("*", "keyword", "dynamic string").mapping())
    properties = _properties(all_fields())
    properties.setdefault("logwarden", {"properties": {}})["properties"][ALL_VALUES_FIELD.split(".")[1]] = \
        all_values_mapping()
    return {
        "index_patterns": [f"{index_prefix}*"],
        "priority": TEMPLATE_PRIORITY + len(index_prefix),
        "_meta": {"description": "logwarden: ECS documents (Winlogbeat shape for Windows), alerts and dead letters",
                  "generated_by": "logwarden/schema_template.py from the fields.yml files",
                  "index_prefix": index_prefix},
        "template": {
            "settings": {"index": {
                "number_of_shards": 1,
                "number_of_replicas": 0,
                "refresh_interval": "1s",
                "mapping": {"total_fields": {"limit": 10000}, "ignore_malformed": False},
                "analysis": {"normalizer": {"lowercase": {"type": "custom", "filter": ["lowercase"]}}},
            }},
            "mappings": {
                "date_detection": False,
                "numeric_detection": False,
                "dynamic_templates": [
                    {"event_data_any": {"path_match": [f"{o}.*" for o in DYNAMIC_OBJECTS], "mapping": keyword}},
                    {"ip_fields": {"match_mapping_type": "string", "path_match": ["*.ip", "related.ip"],
                                   "mapping": _copied({"type": "ip"})}},
                    {"strings_as_keyword": {"match_mapping_type": "string", "mapping": keyword}},
                ],
                "properties": _strip_empty_objects(properties),
            },
        },
    }


def committed_template_path() -> Path:
    """pipelines/elasticsearch/logwarden.json: the default prefix's template, for review."""
    return data_path("logwarden.pipelines", "elasticsearch", "logwarden.json")


def template_json(index_prefix: str = DEFAULT_INDEX_PREFIX) -> str:
    """The template as the committed file holds it (sorted keys, stable bytes)."""
    return json.dumps(index_template(index_prefix), indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m logwarden.schema_template --write | --check`: regenerate or verify logwarden.json."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m logwarden.schema_template", description=main.__doc__)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite pipelines/elasticsearch/logwarden.json")
    mode.add_argument("--check", action="store_true", help="exit 1 if it differs from the schema")
    args = ap.parse_args(argv)
    path, text = committed_template_path(), template_json()
    if args.write:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path} ({len(all_fields())} fields)")
        return 0
    if path.read_text(encoding="utf-8") != text:
        print(f"{path} is stale: run `python -m logwarden.schema_template --write`", file=sys.stderr)
        return 1
    print(f"{path} matches the schema ({len(all_fields())} fields)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
