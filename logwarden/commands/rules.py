"""`logwarden rules check|convert`: rule authoring (offline)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="check or convert Sigma rules")
    rs = p.add_subparsers(dest="rules_command", metavar="ACTION")
    c = rs.add_parser("check", help="YAML/Sigma errors, unmapped fields, duplicate ids, dangling references")
    c.add_argument("paths", nargs="*", type=Path, help="rule files or folders (default: sigma_rules/)")
    c.add_argument("--no-metadata", action="store_true", help="skip the metadata checks (third-party rule sets)")
    c.add_argument("--json", action="store_true", help="findings as JSON")
    c.set_defaults(func=run_check)
    v = rs.add_parser("convert", help="queries for Elasticsearch / Kibana")
    v.add_argument("paths", nargs="*", type=Path)
    v.add_argument("--target", choices=("lucene", "dsl", "esql", "kibana"), default="lucene")
    v.add_argument("--case-sensitive", action="store_true", help="query the fields themselves, not .caseless")
    v.add_argument("-o", "--output", type=Path)
    v.set_defaults(func=run_convert)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_check(args: argparse.Namespace) -> int:
    from logwarden.detection.check import check

    rs, findings = check(args.paths or None, strict_metadata=not args.no_metadata)
    if args.json:
        print(json.dumps([f.__dict__ for f in findings], indent=1))
    else:
        for f in findings:
            print(f)
    n = len(rs.rules) + len(rs.correlations)
    print(f"rules check: {rs.total_files} files, {n} rules compiled, {len(findings)} errors", file=sys.stderr)
    return 1 if findings else 0


def run_convert(args: argparse.Namespace) -> int:
    from logwarden.detection.convert import convert, render

    conv = convert(args.paths or None, args.target, caseless=not args.case_sensitive)
    text = render(conv, args.target)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    for where, why in conv.skipped:
        print(f"{where}: skipped: {why}", file=sys.stderr)
    print(f"rules convert: {len(conv.outputs)} queries, {len(conv.skipped)} skipped", file=sys.stderr)
    return 0
