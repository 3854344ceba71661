"""Every rule fires on its positive cases and stays quiet on its near misses (in-process)."""

from __future__ import annotations

import pytest

from logwarden.detection.cases import Case, load_cases
from logwarden.detection.compiler import load_ruleset, rule_files
from logwarden.detection.engine import Detector, run_batch
from logwarden.detection.evaluate import flatten
from tests.support.cases import mixed_case

CASES = load_cases()


def verdict(detector: Detector, case: Case, events: list) -> bool:
    if case.building_block:
        return any(case.rule_id in {r.id for r in detector.match(flatten(d))} for _, d in events)
    fresh = Detector(detector.ruleset)  # correlation state per case
    return case.rule_id in {a["rule"]["id"] for a in run_batch(fresh, events)}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(detector: Detector, case: Case) -> None:
    assert verdict(detector, case, case.events) is case.expect


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_mixed_case(detector: Detector, case: Case) -> None:
    events = [(eid, mixed_case(doc)) for eid, doc in case.events]
    assert verdict(detector, case, events) is case.expect


def test_ruleset_compiles_cleanly(ruleset) -> None:
    assert ruleset.errors == []
    assert Detector(ruleset).failed == []


def test_every_rule_has_cases(ruleset) -> None:
    ids = {r.id for r in ruleset.rules} | {c.id for c in ruleset.correlations}
    with_fire = {c.rule_id for c in CASES if c.expect}
    with_quiet = {c.rule_id for c in CASES if not c.expect}
    assert ids - with_fire == set(), "rules without a positive case"
    assert ids - with_quiet == set(), "rules without a near miss"
    assert {c.rule_id for c in CASES} <= ids, "case files for unknown rules"


def test_cache_roundtrip(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LOGWARDEN_CACHE", str(tmp_path))
    cold = load_ruleset()
    assert list(tmp_path.glob("rules-*.json"))
    warm = load_ruleset()
    assert warm.to_json()["rules"] == cold.to_json()["rules"]
    assert len(rule_files(None)) == cold.total_files
