"""The schema on the real Elasticsearch: documents indexed under the generated template get
exactly the schema's mappings (no dynamic fields), and a SOC's own index prefix flows through
setup, ship, index and detect."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from logwarden import schema, schema_template
from logwarden.es_io import client, delete_indices, install_templates
from logwarden.resources import data_path
from tests.schema.goldens import golden_docs
from tests.support.cli import cli, shipped
from tests.support.namespaces import cleanup, isolated

pytestmark = pytest.mark.servers
DYNAMIC_KEYWORD = schema_template.field_mapping(schema.Field("*", "keyword", "dynamic"))


def _mapped_fields(mapping: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Leaf field -> its mapping, from a GET _mapping `properties` tree (objects descended)."""
    out = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if "properties" in value:
            out.update(_mapped_fields(value["properties"], f"{name}."))
        elif value.get("type", "object") != "object":
            out[name] = value
    return out


def _index_mappings(es, pattern: str) -> dict[str, dict[str, Any]]:
    """Leaf fields of every index matching `pattern`, merged (they must agree)."""
    merged: dict[str, dict[str, Any]] = {}
    for index, body in es.indices.get_mapping(index=pattern).items():
        for name, mapping in _mapped_fields(body["mappings"].get("properties", {})).items():
            assert merged.setdefault(name, mapping) == mapping, (index, name)
    return merged


def _undeclared_or_different(mapped: dict[str, dict[str, Any]]) -> dict[str, Any]:
    fields = schema.all_fields()
    wrong = {}
    for name, mapping in mapped.items():
        if name.startswith(tuple(f"{o}." for o in schema.DYNAMIC_OBJECTS)) and name not in fields:
            expected = DYNAMIC_KEYWORD  # the event_data decision: keyword + caseless per name
        else:
            expected = schema_template.field_mapping(fields[name]) if name in fields else {}
        if name == schema_template.ALL_VALUES_FIELD:
            expected = schema_template.all_values_mapping()
        if mapping != expected:
            wrong[name] = {"mapped": mapping, "schema": expected}
    return wrong


@pytest.fixture
def prefix(lab):
    """An index prefix of our own (and its template), removed afterwards."""
    name = f"lwschema-{uuid.uuid4().hex[:8]}-"
    es = client(lab.cfg)
    yield name
    delete_indices(es, f"{name}*")
    es.options(ignore_status=404).indices.delete_index_template(name=schema_template.template_name(name))


def test_goldens_get_exactly_the_schema_mappings(lab, prefix):
    es = client(lab.cfg, request_timeout=300)
    assert install_templates(es, prefix) == [schema_template.template_name(prefix)]
    lines: list[str] = []
    sources: set[str] = set()
    for source, _path, kind, doc in golden_docs():
        index = f"{prefix}{'deadletter' if kind == 'deadletter' else 'golden'}-2020.04.14"  # 2 indices: a busy lab
        lines += [json.dumps({"create": {"_index": index}}), json.dumps(doc, ensure_ascii=False)]
        sources.add(source)
    result = es.bulk(operations="\n".join(lines) + "\n", refresh=True)
    refused = [item["create"]["error"] for item in result["items"] if "error" in item["create"]]
    assert refused == []  # every value is one Elasticsearch stores under its declared type
    assert es.count(index=f"{prefix}*")["count"] == len(lines) // 2
    mapped = _index_mappings(es, f"{prefix}*")
    assert _undeclared_or_different(mapped) == {}
    # the goldens' fields are really there, with the types that matter to Sigma and the dashboards
    copied = {"copy_to": [schema_template.ALL_VALUES_FIELD]}
    assert mapped["source.ip"] == {"type": "ip", **copied} and mapped["destination.port"] == {"type": "long"}
    assert mapped["event.id"]["type"] == "keyword" and mapped["@timestamp"] == {"type": "date", **copied}
    assert mapped["winlog.event_data.TargetUserName"]["fields"]["caseless"]["normalizer"] == "lowercase"
    assert len(sources) == len(schema.source_files())


def test_a_soc_index_prefix_flows_through_setup_ship_index_detect(lab, tmp_path):
    cfg = isolated(lab.cfg, tmp_path)
    cfg.index_prefix = f"soc-{uuid.uuid4().hex[:8]}-"  # not under logwarden-*: only our template can apply
    es = client(cfg)
    try:
        setup = cli(cfg, "setup")
        assert setup.returncode == 0, setup.stderr
        assert f"indices {cfg.index_prefix}*" in setup.stdout
        incident = data_path("logwarden.shippers", "windows", "golden", "synth-incident.xml")
        ship = shipped(cli(cfg, "ship", "evtx", str(incident), "--json", "--no-progress"))
        index = cli(cfg, "index", "--once", "--json")
        assert index.returncode == 0, index.stderr[-3000:]
        docs = es.count(index=f"{cfg.index_prefix}windows-*")["count"]
        assert docs == ship["produced"] > 0
        detect = cli(cfg, "detect", "--once", "--json")
        assert detect.returncode == 0, detect.stderr[-3000:]
        es.indices.refresh(index=f"{cfg.index_prefix}alerts-*")
        hits = es.search(index=f"{cfg.index_prefix}alerts-*", size=500)["hits"]["hits"]
        fired = {h["_source"]["rule"]["name"] for h in hits}
        assert {"RDP Logon From A Public Address", "Security Event Log Cleared"} <= fired, fired
        # the documents have the template's mappings, not dynamic ones (event.id was text before)
        mapped = _index_mappings(es, f"{cfg.index_prefix}windows-*")
        assert _undeclared_or_different(mapped) == {}
        assert mapped["event.id"]["type"] == "keyword" and mapped["source.ip"]["type"] == "ip"
        alerts = _index_mappings(es, f"{cfg.index_prefix}alerts-*")
        assert {k: v for k, v in _undeclared_or_different(alerts).items() if not k.startswith("sigma.group.")} == {}
    finally:
        cleanup(cfg)
        es.options(ignore_status=404).indices.delete_index_template(name=schema_template.template_name(cfg.index_prefix))
