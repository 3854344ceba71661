"""The detection oracle: SigmaHQ's Windows rules on the raw EVTX fields (SQLite, no mapping)
against hunt on logwarden's documents, verdict by verdict, on every sample file.

A verdict is (rule id, file, record id). Compared are the rules both sides could convert and
the records both readers could read; the rest is counted, not hidden. `python -m
tests.oracle.oracle [--json]` prints the agreement and every disagreement; tests/oracle/
test_oracle.py asserts that no disagreement falls outside `exceptions.yml`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from logwarden.detection.compiler import cache_dir, load_ruleset, rule_files
from logwarden.detection.engine import Detector
from logwarden.detection.evaluate import flatten
from logwarden.detection.hunt import HuntStats, iter_docs

from .evtx_table import READERS, read_all
from .sigma_sqlite import Table, convert_files

Verdict = tuple[str, str, str]  # rule id, file (relative to the evtx root), record id


@dataclass
class Report:
    rules_compared: int = 0
    rules_only_oracle: list[str] = field(default_factory=list)  # ours refused them
    rules_only_hunt: list[str] = field(default_factory=list)  # the SQLite backend refused them
    records_compared: int = 0
    records_only_hunt: int = 0  # the oracle's reader could not read them
    records_only_oracle: int = 0  # logwarden could not read them
    files_reader_failed: list[str] = field(default_factory=list)
    both: int = 0
    only_oracle: list[Verdict] = field(default_factory=list)
    only_hunt: list[Verdict] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)
    compared: set[str] = field(default_factory=set)  # "file#record" of every record compared
    events: dict[str, str] = field(default_factory=dict)  # "file#record" -> "Channel/EventID" (disagreements)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def agreement(self) -> float:
        """Share of the verdicts either side gave (a rule fired on a record) that both gave."""
        union = self.both + len(self.only_oracle) + len(self.only_hunt)
        return self.both / union if union else 1.0


def _rel(path: str | Path, root: Path) -> str:
    p = Path(path)
    try:
        return p.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def run(evtx_root: Path, rules_root: Path, cache: Path | None = None, reader: str = READERS[0]) -> Report:
    """Run both sides over `evtx_root` with the rules under `rules_root`; returns the Report."""
    cache = cache or cache_dir() / "oracle"
    report = Report()
    t0 = time.perf_counter()
    files = rule_files([rules_root])
    sql = convert_files(files, cache)
    report.seconds["convert"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ruleset = load_ruleset([rules_root])
    detector = Detector(ruleset)
    ours = {r.id for r in ruleset.rules} - {r.id for r, _ in detector.failed}
    oracle_rules = {v["id"]: v for v in sql.values() if "where" in v and v["id"]}
    compared = ours & set(oracle_rules)
    report.rules_compared = len(compared)
    report.rules_only_oracle = sorted(set(oracle_rules) - ours)
    report.rules_only_hunt = sorted(ours - set(oracle_rules))
    report.titles = {rid: oracle_rules[rid]["title"] for rid in compared}

    hunt_verdicts: set[Verdict] = set()
    hunt_records: set[tuple[str, str]] = set()
    for _eid, doc in iter_docs([evtx_root], HuntStats()):
        flat = flatten(doc)
        key = (_rel(str(flat.get("log.file.path")), evtx_root), str(flat.get("winlog.record_id")))
        hunt_records.add(key)
        for rule in detector.match(flat):
            if rule.id in compared:
                hunt_verdicts.add((rule.id, *key))
    report.seconds["hunt"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    evtx_files = sorted(evtx_root.rglob("*.evtx"))
    rows: list[tuple[str, str, dict[str, str]]] = []
    for path, file_rows, error in read_all(evtx_files, cache, reader):
        rel = _rel(path, evtx_root)
        if error:
            report.files_reader_failed.append(f"{rel}: {error}")
        rows.extend((rel, r.get("EventRecordID", ""), r) for r in file_rows if "_error" not in r)
    report.seconds["read"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    table = Table()
    table.load(rows)
    oracle_records = {(f, r) for f, r, _ in rows}
    oracle_verdicts: set[Verdict] = set()
    for rid in sorted(compared):
        oracle_verdicts.update((rid, f, r) for f, r in table.matches(oracle_rules[rid]["where"]))
    report.seconds["sqlite"] = time.perf_counter() - t0

    common = hunt_records & oracle_records
    report.compared = {f"{f}#{r}" for f, r in common}
    report.records_compared = len(common)
    report.records_only_hunt = len(hunt_records - oracle_records)
    report.records_only_oracle = len(oracle_records - hunt_records)
    hunt_verdicts = {v for v in hunt_verdicts if (v[1], v[2]) in common}
    oracle_verdicts = {v for v in oracle_verdicts if (v[1], v[2]) in common}
    report.both = len(hunt_verdicts & oracle_verdicts)
    report.only_oracle = sorted(oracle_verdicts - hunt_verdicts)
    report.only_hunt = sorted(hunt_verdicts - oracle_verdicts)
    report.files_reader_failed.sort()
    kinds = {(f, r): f"{row.get('Channel', '')}/{row.get('EventID', '')}" for f, r, row in rows}
    report.events = {f"{v[1]}#{v[2]}": kinds[(v[1], v[2])] for v in (*report.only_oracle, *report.only_hunt)}
    return report


def summary(report: Report) -> str:
    """The report as text: figures, then disagreements per rule."""
    lines = [
        f"rules compared: {report.rules_compared} (only ours compiled: {len(report.rules_only_hunt)}, "
        f"only the SQLite backend converted: {len(report.rules_only_oracle)})",
        f"records compared: {report.records_compared} (the oracle's reader missed {report.records_only_hunt}, "
        f"logwarden missed {report.records_only_oracle}; the reader failed on "
        f"{len(report.files_reader_failed)} files)",
        f"verdicts: both {report.both}, only oracle {len(report.only_oracle)}, only hunt {len(report.only_hunt)}; "
        f"agreement {report.agreement:.4%}",
        "seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items()),
    ]
    for label, items in (("only oracle", report.only_oracle), ("only hunt", report.only_hunt)):
        per_rule = Counter((v[0], report.events.get(f"{v[1]}#{v[2]}", "")) for v in items)
        for (rid, event), n in per_rule.most_common():
            example = next(v for v in items if v[0] == rid and report.events.get(f"{v[1]}#{v[2]}", "") == event)
            title = report.titles.get(rid, "")
            lines.append(f"  {label}: {rid} {title!r} [{event}]: {n} records, e.g. {example[1]}#{example[2]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evtx", type=Path, default=Path("../shared/data/evtx"))
    parser.add_argument("--rules", type=Path, default=Path("../shared/data/sigmahq/rules/windows"))
    parser.add_argument("--reader", choices=READERS, default=READERS[0], help="the oracle's EVTX reader")
    parser.add_argument("--json", action="store_true", help="the full report as JSON")
    args = parser.parse_args(argv)
    report = run(args.evtx, args.rules, reader=args.reader)
    if args.json:
        fields = {k: v for k, v in report.__dict__.items() if k != "compared"}
        json.dump({**fields, "agreement": report.agreement}, sys.stdout, indent=1)
        print()
    else:
        print(summary(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
