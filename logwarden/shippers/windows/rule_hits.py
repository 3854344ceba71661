"""Measuring tool for the Windows field mapping: alerts per Sigma rule over EVTX samples.

Runs hunt's batch semantics (every file read by the Windows shipper, each distinct event once:
a record present in two sample files has one id) with a rule set, and writes the alert count of
every rule that fired as JSON. Two such files compared give the before/after table of
docs/ecs-conformance.md ("## Windows"):

    python -m logwarden.shippers.windows.rule_hits count ../shared/data/evtx -o after.json
    python -m logwarden.shippers.windows.rule_hits compare before.json after.json

With no `--rules`, the rules are SigmaHQ's Windows rules in ../shared/data/sigmahq:
rules/windows, rules-threat-hunting/windows and the rules-emerging-threats files for
`product: windows`. Not used at runtime.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

SIGMAHQ = Path("../shared/data/sigmahq")


def sigmahq_windows_rules(root: Path = SIGMAHQ) -> list[Path]:
    """SigmaHQ's Windows rule files under `root`, sorted; [] when `root` is missing."""
    files = sorted((root / "rules" / "windows").rglob("*.yml"))
    files += sorted((root / "rules-threat-hunting" / "windows").rglob("*.yml"))
    for f in sorted((root / "rules-emerging-threats").rglob("*.yml")):
        if "product: windows" in f.read_text(encoding="utf-8", errors="replace"):
            files.append(f)
    return files


def count_alerts(paths: list[Path], rules: list[Path]) -> dict[str, Any]:
    """{"events": n, "rules": {rule id: {"title", "alerts"}}} for the rules that fired."""
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.engine import Detector, run_batch
    from logwarden.detection.hunt import HuntStats, iter_docs

    ruleset = load_ruleset(rules)
    unique: dict[str, dict[str, Any]] = {}
    for eid, doc in iter_docs(paths, HuntStats()):
        unique.setdefault(eid, doc)
    counts: Counter[str] = Counter()
    titles: dict[str, str] = {}
    for alert in run_batch(Detector(ruleset), unique.items()):
        rid = alert["rule"]["id"]
        counts[rid] += 1
        titles[rid] = alert["rule"]["name"]
    return {"events": len(unique), "rules_compiled": len(ruleset.rules),
            "rules": {rid: {"title": titles[rid], "alerts": n} for rid, n in sorted(counts.items())}}


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Markdown table rows (header first) of every rule whose alert count changed."""
    rows = ["| rule | before | after |", "| --- | ---: | ---: |"]
    ids = set(before["rules"]) | set(after["rules"])
    changed = []
    for rid in ids:
        b = before["rules"].get(rid, {}).get("alerts", 0)
        a = after["rules"].get(rid, {}).get("alerts", 0)
        if a != b:
            title = (after["rules"].get(rid) or before["rules"][rid])["title"]
            changed.append((a - b, title, b, a))
    for _, title, b, a in sorted(changed, key=lambda c: (c[0], c[1])):
        rows.append(f"| {title.replace('|', '/')} | {b} | {a} |")
    total_b = sum(r["alerts"] for r in before["rules"].values())
    total_a = sum(r["alerts"] for r in after["rules"].values())
    rows.append(f"| **all rules ({len(before['rules'])} -> {len(after['rules'])} rules firing)** "
                f"| {total_b} | {total_a} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m logwarden.shippers.windows.rule_hits",
                                 description=(__doc__ or "").split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("count", help="alerts per rule over the samples, as JSON")
    c.add_argument("paths", nargs="+", type=Path)
    c.add_argument("--rules", type=Path, action="append", help="rule file or folder (default: SigmaHQ Windows)")
    c.add_argument("-o", "--output", type=Path, help="write the JSON here instead of stdout")
    d = sub.add_parser("compare", help="markdown table of the rules whose count changed")
    d.add_argument("before", type=Path)
    d.add_argument("after", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "count":
        result = count_alerts(args.paths, args.rules or sigmahq_windows_rules())
        text = json.dumps(result, indent=1, ensure_ascii=False) + "\n"
        if args.output:
            args.output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    else:
        rows = compare(*(json.loads(p.read_text(encoding="utf-8")) for p in (args.before, args.after)))
        sys.stdout.write("\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
