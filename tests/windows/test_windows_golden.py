"""Golden tests: inputs beside their expected ECS output, compared exactly.

Regenerate with `python -m logwarden.shippers.windows.golden --update` (never edit by hand)."""

from __future__ import annotations

import json

import pytest

from logwarden.shippers.windows import golden
from tests.support.paths import need_shared


@pytest.mark.parametrize("name", sorted(golden.SYNTH))
def test_synth_golden(name: str) -> None:
    xml, expected = golden.generate_synth(name)
    assert golden.synth_input(name).read_bytes() == xml.encode("utf-8")
    assert json.loads(expected) == json.loads(golden.expected_path(f"synth-{name}").read_text(encoding="utf-8"))


@pytest.mark.shared
@pytest.mark.parametrize("name", sorted(golden.SAMPLES))
def test_sample_golden(name: str) -> None:
    need_shared("evtx")
    rel = golden.SAMPLES[name]
    if not (golden.ROOT / rel).exists():
        need_shared(rel.removeprefix("../shared/data/"))
    actual = golden.generate_sample(name)
    assert actual is not None
    expected = golden.expected_path(name).read_text(encoding="utf-8")
    assert json.loads(actual) == json.loads(expected)


def test_synth_incident_covers_every_generator() -> None:
    doc = json.loads(golden.expected_path("synth-incident").read_text(encoding="utf-8"))
    codes = set(doc["summary"]["codes"])
    assert {
        "Microsoft-Windows-Security-Auditing/4625", "Microsoft-Windows-Security-Auditing/4624",
        "Microsoft-Windows-Security-Auditing/4634", "Microsoft-Windows-Security-Auditing/4648",
        "Microsoft-Windows-Security-Auditing/4672", "Microsoft-Windows-Security-Auditing/4688",
        "Microsoft-Windows-Security-Auditing/4697", "Microsoft-Windows-Security-Auditing/4720",
        "Microsoft-Windows-Security-Auditing/4732", "Microsoft-Windows-Eventlog/1102",
        "Microsoft-Windows-Eventlog/104", "Service Control Manager/7045", "Microsoft-Windows-Sysmon/1",
        "Microsoft-Windows-Sysmon/3", "Microsoft-Windows-Sysmon/11", "Microsoft-Windows-Windows Defender/1116",
        "Microsoft-Windows-Windows Defender/1117",
    } <= codes
    assert doc["summary"]["dead_letters"] == 0
