"""The detection oracle in CI: hunt on our documents against SigmaHQ's Windows rules run by
pySigma's SQLite backend on the raw EVTX fields (tests/oracle/oracle.py), on all of
../shared/data/evtx. Every disagreement must be listed, with its cause and whose verdict is right,
in exceptions.yml (docs/sigma-oracle.md explains them); a new one fails, and so does a listed one
that no longer happens (the list stays true)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.paths import need_shared

from . import warm
from .evtx_table import READERS
from .oracle import Report, Verdict, run, summary

pytestmark = [pytest.mark.shared, pytest.mark.oracle]

EXCEPTIONS = Path(__file__).with_name("exceptions.yml")
CAUSES = {"our mapping", "our matcher", "oracle backend", "spec ambiguity", "reader"}
SIDES = {"only oracle", "only hunt"}
# python-evtx by default (shares no code with our shipper); `evtx-rs` for a quick local run
READER = os.environ.get("LOGWARDEN_ORACLE_READER", READERS[0])


def load_exceptions() -> list[dict[str, Any]]:
    """The documented disagreements: rule ('*' = any), side, records ('*' = every record), optional
    event ("Channel/EventID" of the record) and reader (only with that reader), cause, right
    (whose verdict the Sigma spec backs), reason."""
    items: list[dict[str, Any]] = yaml.safe_load(EXCEPTIONS.read_text(encoding="utf-8")) or []
    return items


def _covered(v: Verdict, side: str, items: list[dict[str, Any]], events: dict[str, str]) -> dict[str, Any] | None:
    """The exception that explains verdict `v` on `side`: same rule (or "*"), same side, the
    record listed (or "*"), and the record's Channel/EventID when the item names one."""
    key = f"{v[1]}#{v[2]}"
    for item in items:
        if item["rule"] in ("*", v[0]) and item["side"] == side and item.get("reader", READER) == READER:
            if item["records"] != "*" and key not in item["records"]:
                continue
            if "event" in item and events.get(key) != item["event"]:
                continue
            return item
    return None


@pytest.fixture(scope="module")
def report() -> Report:
    warm.stop()  # the background read (tests/oracle/warm.py) leaves the CPUs to the oracle's own pool
    got = run(need_shared("evtx"), need_shared("sigmahq/rules/windows"), reader=READER)
    print(summary(got))
    return got


def test_exceptions_are_well_formed() -> None:
    for item in load_exceptions():
        assert set(item) >= {"rule", "side", "records", "cause", "right", "reason"}, item
        assert item["cause"] in CAUSES, item
        assert item["side"] in SIDES, item
        assert item["right"] in {"oracle", "hunt", "either"}, item
        assert item["reason"].strip(), item


def test_oracle_compares_enough(report: Report) -> None:
    """The comparison is not vacuous: most rules and records take part, many verdicts agree."""
    assert report.rules_compared > 2000
    assert report.records_compared > 15000  # python-evtx reads fewer than pyevtx-rs (34,724)
    assert report.both > 1000


def test_no_undocumented_disagreement(report: Report) -> None:
    items = load_exceptions()
    new = [(side, v) for side, vs in (("only oracle", report.only_oracle), ("only hunt", report.only_hunt))
           for v in vs if _covered(v, side, items, report.events) is None]
    shown = "\n".join(f"{side}: rule {v[0]} {report.titles.get(v[0], '')!r} on {v[1]}#{v[2]}" for side, v in new[:20])
    assert not new, f"{len(new)} disagreements not in {EXCEPTIONS.name}:\n{shown}"


def test_every_exception_still_happens(report: Report) -> None:
    """A fixed cause (e.g. a corrected field mapping) must leave the list with its fix. Only
    exceptions whose records were all compared count (a reader may miss some)."""
    items = load_exceptions()
    seen = {id(_covered(v, side, items, report.events)) for side, vs in (("only oracle", report.only_oracle),
                                                         ("only hunt", report.only_hunt)) for v in vs}
    stale = [f"{i['rule']} ({i['side']}): {i['reason'][:60]}" for i in items
             if id(i) not in seen and i.get("reader", READER) == READER
             and (i["records"] == "*" or set(i["records"]) <= report.compared)]
    assert not stale, "no longer disagree, remove from exceptions.yml:\n" + "\n".join(stale)
