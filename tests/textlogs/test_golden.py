"""Golden files: every source's test-*.log must still produce its -expected.json exactly.

Regenerate after a reviewed change with `python -m logwarden.shippers.golden --update`.
"""

from __future__ import annotations

import json

import pytest

from logwarden.shippers import golden
from logwarden.shippers.base import DeadLetter

from .sources import SHIPPERS, TEXT_SOURCES

CASES = list(golden.cases())


def test_every_source_has_golden_files_and_fields() -> None:
    with_golden = {name for name, _ in CASES}
    for name in TEXT_SOURCES:
        assert name in with_golden, f"{name}: no testdata/test-*.log"
        assert (SHIPPERS / name / "fields.yml").exists(), f"{name}: no fields.yml"


@pytest.mark.parametrize(("name", "log"), CASES, ids=[f"{n}/{p.name}" for n, p in CASES])
def test_golden(name: str, log) -> None:
    exp = golden.expected_path(log)
    assert exp.exists(), f"run python -m logwarden.shippers.golden --update {name}"
    assert golden.render(name, log) == exp.read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "log"), CASES, ids=[f"{n}/{p.name}" for n, p in CASES])
def test_counts_add_up_and_fields_declared(name: str, log) -> None:
    """received = parsed + dead letters; every emitted leaf field is declared in fields.yml."""
    from logwarden.shippers import capabilities

    declared = _declared(name)
    with log.open("rb") as fh:
        items = list(capabilities.stream_parser(name)(log.name, fh))
    records = golden_records(log)
    assert len(items) == records
    for item in items:
        if isinstance(item, DeadLetter):
            continue
        for leaf in _leaves(item.doc):
            assert leaf in declared or leaf.split(".")[0] in _VENDOR_OK, f"{name}: {leaf} not in fields.yml"
        assert item.doc["event"]["original"]
        assert item.doc["event"]["id"] == item.id


_VENDOR_OK: set[str] = set()


def golden_records(log) -> int:
    n = 0
    for line in log.read_bytes().splitlines():
        text = line.strip()
        if text and not text.startswith(b"#"):
            n += 1
    return n


def _declared(name: str) -> set[str]:
    import yaml

    data = yaml.safe_load((SHIPPERS / name / "fields.yml").read_text(encoding="utf-8"))
    out: set[str] = set()

    def walk(items, prefix: str) -> None:
        for it in items or []:
            path = f"{prefix}{it['name']}"
            if it.get("fields"):
                walk(it["fields"], path + ".")
            else:
                out.add(path)

    walk(data, "")
    return out


def _leaves(doc, prefix: str = ""):
    for k, v in doc.items():
        if isinstance(v, dict):
            yield from _leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}"


def test_golden_json_is_valid() -> None:
    for _, log in CASES:
        json.loads(golden.expected_path(log).read_text(encoding="utf-8"))
