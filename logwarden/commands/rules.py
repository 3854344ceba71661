"""`logwarden rules check|convert`: rule authoring (offline).

Exit codes: 0 clean (convert: skipped rules are listed, not failures), 1 findings (check), 2 a
path that does not exist or an output that cannot be written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from logwarden.errors import EXIT_INPUT, EXIT_OK, UsageError
from logwarden.safe_text import printable


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


def require_paths(paths: list[Path]) -> None:
    """Raises UsageError naming every path of `paths` that does not exist."""
    missing = [printable(str(p)) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")


def run_check(args: argparse.Namespace) -> int:
    from logwarden.atomic_file import output
    from logwarden.detection.check import check

    require_paths(args.paths)
    rs, findings = check(args.paths or None, strict_metadata=not args.no_metadata)
    with output(None) as out:
        if args.json:
            out.write(json.dumps([f.__dict__ for f in findings], indent=1) + "\n")
        else:
            for f in findings:
                out.write(printable(str(f)) + "\n")
    warnings = sum(1 for f in findings if f.severity == "warning")
    errors = len(findings) - warnings
    n = len(rs.rules) + len(rs.correlations)
    print(f"rules check: {rs.total_files} files, {n} rules compiled, {errors} errors, {warnings} warnings",
          file=sys.stderr)
    return EXIT_INPUT if errors else EXIT_OK


def _kibana(paths: list[Path] | None) -> tuple[Any, str]:
    """Kibana rules from the compiled rule set (detection/kibana_rules.py), in convert's shape."""
    from logwarden.config import load
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.convert import Converted
    from logwarden.detection.kibana_rules import export, render

    exported = export(load_ruleset(paths), load().index_prefix)
    conv = Converted(outputs=[(r["rule_id"], r) for r in exported.rules], skipped=list(exported.skipped))
    for rid in exported.approximate:
        print(f"{rid}: approximate: Kibana runs a wider query than the rule (tagged 'logwarden: approximate')",
              file=sys.stderr)
    return conv, render(exported)


def run_convert(args: argparse.Namespace) -> int:
    from logwarden.atomic_file import check_output_path, output
    from logwarden.detection.convert import convert, render

    require_paths(args.paths)
    if args.output is not None:
        check_output_path(args.output)
    if args.target == "kibana":
        conv, text = _kibana(args.paths or None)
    else:
        conv = convert(args.paths or None, args.target, caseless=not args.case_sensitive)
        text = render(conv, args.target)
    with output(args.output) as out:
        out.write(text)
    for where, why in conv.skipped:
        print(f"{printable(str(where))}: skipped: {printable(str(why))}", file=sys.stderr)
    print(f"rules convert: {len(conv.outputs)} {'rules' if args.target == 'kibana' else 'queries'},"
          f" {len(conv.skipped)} skipped", file=sys.stderr)
    return EXIT_OK  # skipped rules are listed; correlations are always skipped (no query form)
