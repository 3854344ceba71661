"""The field schema (logwarden/schema.py + every fields.yml): it loads, it declares every field
the goldens emit with the type Elasticsearch stores, and the artifacts generated from it (the
committed index template, the Sigma field list) are fresh."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import yaml

from logwarden import schema, schema_template
from logwarden.pipelines.sigma.loader import declared_fields
from logwarden.shippers.base import DeadLetter
from tests.schema.goldens import golden_docs

DOCS = list(golden_docs())


def test_goldens_are_all_there():
    kinds = Counter((source, kind) for source, _, kind, _ in DOCS)
    sources = {source for source, _ in kinds}
    assert sources == set(schema.source_files())  # every source with a fields.yml has goldens
    assert kinds[("windows", "event")] > 400
    assert sum(n for (s, k), n in kinds.items() if k == "deadletter") > 5


@pytest.mark.parametrize("source", sorted(schema.source_files()))
def test_every_golden_field_is_declared_with_its_stored_type(source):
    fields = schema.load_fields(schema.source_files()[source])
    dead_fields = schema.load_fields(schema.dataset_files()["deadletter"])
    problems: Counter[str] = Counter()
    checked = 0
    for src, path, kind, doc in DOCS:
        if src != source:
            continue
        checked += 1
        for p in schema.document_problems(doc, dead_fields if kind == "deadletter" else fields):
            problems[f"{path.name}: {p}"] += 1
    assert checked
    assert dict(problems) == {}


def test_declared_but_never_emitted_fields_are_few():
    """A source's fields.yml lists what its parser emits, not a wish list: every field of a
    text source appears in its goldens (Windows also declares the EventData names rules use)."""
    emitted: dict[str, set[str]] = {}
    for source, _, kind, doc in DOCS:
        if kind == "event":
            emitted.setdefault(source, set()).update(name for name, _ in schema.leaves(doc))
    for source, path in schema.source_files().items():
        declared = set(schema.load_fields(path))
        unused = {n for n in declared - emitted[source]
                  if not n.startswith("winlog.event_data.") and n not in schema.DYNAMIC_OBJECTS}
        # fields set by textlog.finish for every source whether or not the goldens show it
        unused -= {"log.flags", "log.syslog.appname", "log.syslog.facility.code", "log.syslog.priority",
                   "log.syslog.severity.code", "observer.hostname", "host.hostname"}
        assert unused == set(), source


def test_dead_letter_documents_fit_their_fields():
    for raw in (b"not a record \xff\xfe", b"ok text"):
        doc = DeadLetter("udp:127.0.0.1:5514", raw, "no parser accepted the line", "firewall", 7).to_doc()
        assert schema.document_problems(doc, schema.load_fields(schema.dataset_files()["deadletter"])) == []


@pytest.mark.parametrize(("type_", "good", "bad"), [
    ("ip", ["203.0.113.7", "::1", ["10.0.0.1", "fe80::1"]],
     ["-", "", "203.0.113.7:3389", 3232235777, ["1.2.3.4", "x"]]),
    ("long", [3389, -1, [1, 2]], ["3389", 1.5, True, 2**63]),
    ("date", ["2020-04-14T00:22:01Z", "2020-04-13T16:22:01.1234560Z", "2020-04-14T08:22:01+08:00", "2020-04-14"],
     ["14/Apr/2020", "2020-04-14 00:22:01", 1586823721]),
    ("boolean", [True, False], ["true", 1]),
    ("keyword", ["x", ["a", "b"]], [1, {"a": "b"}]),
])
def test_value_types(type_, good, bad):
    field = schema.Field("f", type_, "test")
    assert [v for v in good if schema.value_problem(field, v)] == []
    assert [v for v in bad if not schema.value_problem(field, v)] == []


def test_undeclared_and_hostile_event_data_are_reported():
    fields = schema.load_fields(schema.source_files()["windows"])
    doc = {"@timestamp": "2020-04-14T00:22:01Z", "source": {"ip": "not-an-ip", "port": "3389"},
           "winlog": {"event_data": {"IpAddress": "1.2.3.4", "Nested": {"x": "y"}}}, "surprise": "x"}
    assert sorted(schema.document_problems(doc, fields)) == [
        "source.ip: 'not-an-ip' is not a valid ip", "source.port: '3389' is not a valid long",
        "surprise: not declared", "winlog.event_data.Nested: {'x': 'y'} is not a string"]


def test_committed_template_is_what_the_schema_generates():
    assert schema_template.committed_template_path().read_text(encoding="utf-8") == schema_template.template_json(), \
        "run `python -m logwarden.schema_template --write`"


def test_template_follows_the_index_prefix():
    default, soc = schema_template.index_template(), schema_template.index_template("soc-")
    assert default["index_patterns"] == ["logwarden-*"] and soc["index_patterns"] == ["soc-*"]
    assert schema_template.template_name() == "logwarden" and schema_template.template_name("soc-") == "logwarden-soc"
    assert soc["template"] == default["template"]
    # a more specific prefix wins over a broader one (equal priorities that overlap are refused)
    assert schema_template.index_template("logwarden-t1234-")["priority"] > default["priority"]


def test_template_keeps_the_mapping_decisions():
    props = schema_template.index_template()["template"]["mappings"]["properties"]
    event = props["event"]["properties"]
    assert event["original"] == {"type": "keyword", "ignore_above": 32000, "index": False, "doc_values": False}
    assert event["id"]["type"] == "keyword"  # detect sorts and aggregates on it (no fielddata)
    assert event["code"]["fields"]["caseless"]["normalizer"] == "lowercase"
    # every string-valued field feeds the keyword catch-all; numbers and raw originals do not
    copied = {"copy_to": [schema_template.ALL_VALUES_FIELD]}
    assert props["source"]["properties"]["ip"] == {"type": "ip", **copied}
    assert props["source"]["properties"]["port"] == {"type": "long"}
    assert props["@timestamp"] == {"type": "date", **copied}
    assert props["error"]["properties"]["message"] == {"type": "keyword", "ignore_above": 8191, **copied}
    assert props["logwarden"]["properties"]["all_values"] == schema_template.all_values_mapping()
    assert all(t[next(iter(t))]["mapping"]["copy_to"] == [schema_template.ALL_VALUES_FIELD]
               for t in schema_template.index_template()["template"]["mappings"]["dynamic_templates"])
    assert props["winlog"]["properties"]["event_data"]["properties"]["TargetUserName"]["fields"]["caseless"]
    dynamic = [next(iter(d)) for d in schema_template.index_template()["template"]["mappings"]["dynamic_templates"]]
    assert dynamic == ["event_data_any", "ip_fields", "strings_as_keyword"]


def test_one_type_per_field_across_sources():
    fields = schema.all_fields()
    assert len(fields) > 250
    per_name: dict[str, set[str]] = {}
    for path in (*schema.source_files().values(), *schema.dataset_files().values()):
        for name, f in schema.load_fields(path).items():
            per_name.setdefault(name, set()).add(json.dumps(f.mapping(), sort_keys=True))
    assert {n: m for n, m in per_name.items() if len(m) > 1} == {}


def test_conflicting_declarations_are_refused(tmp_path):
    bad = tmp_path / "fields.yml"
    bad.write_text(yaml.safe_dump([{"name": "x.port", "type": "number", "description": "d"}]))
    with pytest.raises(schema.SchemaError, match="type 'number'"):
        schema.load_fields(bad)
    bad.write_text(yaml.safe_dump([{"name": "source.ip", "external": "ecs", "type": "keyword"}]))
    with pytest.raises(schema.SchemaError, match="takes its type"):
        schema.load_fields(bad)
    bad.write_text(yaml.safe_dump([{"name": "no.such", "external": "ecs"}]))
    with pytest.raises(schema.SchemaError, match="not defined"):
        schema.load_fields(bad)
    for entry in ({"name": "x.y", "type": "keyword"}, {"name": "x.y", "type": "keyword", "description": "TODO"}):
        bad.write_text(yaml.safe_dump([entry]))  # the `golden --fields` draft's placeholder too
        with pytest.raises(schema.SchemaError, match="description"):
            schema.load_fields(bad)


def test_every_shared_definition_is_used():
    used = set(schema.all_fields())
    for kind, defs in schema.externals().items():
        assert set(defs) - used == set(), kind


def test_sigma_field_list_comes_from_the_schema():
    known = declared_fields()
    assert schema.sigma_fields() <= known
    assert {"winlog.event_data.TargetUserName", "source.ip", "process.command_line", "rule.name"} <= known


def test_dashboard_panels_use_declared_aggregatable_fields():
    from logwarden.dashboards import SRC, load_dashboards

    fields = schema.all_fields()
    wrong = []
    for dashboard in load_dashboards(SRC):
        for panel in dashboard.panels:
            aggregated = [*panel.terms, *([panel.split] if panel.split else []),
                          *([panel.metric.field] if panel.metric.field else [])]
            for name in [*aggregated, *panel.columns]:
                field = fields.get(name.removesuffix(".caseless"))
                if name.startswith("winlog.event_data.") and field is None:
                    continue  # dynamic keyword (event_data_any), aggregatable
                if field is None or (name in aggregated and (field.type == "object" or not field.index)):
                    wrong.append(f"{dashboard.slug}/{panel.id}: {name}")
    assert wrong == []
