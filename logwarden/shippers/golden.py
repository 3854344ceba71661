"""Golden files for the text-log sources (Elastic integrations style).

Each source folder holds `testdata/test-*.log` (raw input) beside `test-*.log-expected.json`
(the documents the parser must produce). Never hand-edit the expected files; regenerate them:

    python -m logwarden.shippers.golden --update          # all sources
    python -m logwarden.shippers.golden --update fortigate
    python -m logwarden.shippers.golden --check           # exit 1 on any difference

Runs are deterministic: the zone default is UTC and "now" (for syslog dates without a year, and
events without a time) is fixed at REFERENCE_NOW. The source name in ids is the file's name.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from logwarden.shippers import registry, textlog
from logwarden.shippers.base import DeadLetter

ROOT = Path(__file__).resolve().parent
REFERENCE_NOW = datetime(2020, 6, 1, tzinfo=UTC)


def cases(names: list[str] | None = None) -> Iterator[tuple[str, Path]]:
    for folder in sorted(p for p in ROOT.iterdir() if (p / "testdata").is_dir()):
        name = folder.name
        if name not in registry.PARSERS or (names and name not in names):
            continue
        for log in sorted((folder / "testdata").glob("test-*.log")):
            yield name, log


def render(name: str, log: Path) -> str:
    """The expected-file text for one golden input."""
    textlog.CONFIG.tz, textlog.CONFIG.now = UTC, lambda: REFERENCE_NOW
    parse = registry.get(name)
    docs: list[dict[str, Any]] = []
    with log.open("rb") as fh:
        for item in parse(log.name, fh):
            if isinstance(item, DeadLetter):
                doc = item.to_doc()
                doc.pop("@timestamp", None)  # receive time: not deterministic
                docs.append({"deadletter": doc})
            else:
                docs.append(item.doc)
    return json.dumps({"expected": docs}, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _leaves(doc: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in doc.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _type(path: str, value: Any) -> str:
    if path == "@timestamp":
        return "date"
    if path.endswith(".ip"):
        return "ip"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    return "keyword"


# set by textlog.finish from a syslog header or when the line has no time, on every source
COMMON = {"log.syslog.priority": "long", "log.syslog.facility.code": "long", "log.syslog.severity.code": "long",
          "log.syslog.appname": "keyword", "log.flags": "keyword", "observer.hostname": "keyword",
          "host.hostname": "keyword"}


def fields_draft(name: str) -> str:
    """A fields.yml draft (logwarden/schema.py format) from what the golden inputs produce: shared
    fields by reference, the source's own with a guessed type and a description to write."""
    from logwarden.schema import externals

    shared = externals()
    seen: dict[str, str] = dict(COMMON)
    for src, log in cases([name]):
        with log.open("rb") as fh:
            for item in registry.get(src)(log.name, fh):
                if not isinstance(item, DeadLetter):
                    for path, value in _leaves(item.doc):
                        seen.setdefault(path, _type(path, value))
    lines = [f"# Fields the {name} parser emits (draft by `golden --fields {name}`: write the descriptions).\n"]
    for path in sorted(seen):
        kind = next((k for k, defs in shared.items() if path in defs), None)
        if kind:
            lines.append(f"- name: \"{path}\"\n  external: {kind}\n")
        else:
            lines.append(f"- name: \"{path}\"\n  type: {seen[path]}\n  description: \"TODO\"\n")
    return "".join(lines)


def expected_path(log: Path) -> Path:
    return log.with_name(log.name + "-expected.json")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m logwarden.shippers.golden", description=__doc__.split("\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--update", action="store_true", help="rewrite the expected files")
    mode.add_argument("--check", action="store_true", help="compare, exit 1 on a difference")
    mode.add_argument("--fields", action="store_true",
                      help="print a fields.yml draft (fields the golden output uses) for review")
    ap.add_argument("sources", nargs="*", help="source names (default: all)")
    args = ap.parse_args(argv)
    if args.fields:
        for name in args.sources:
            print(fields_draft(name), end="")
        return 0
    bad = 0
    for name, log in cases(args.sources):
        text = render(name, log)
        exp = expected_path(log)
        if args.update:
            exp.write_text(text, encoding="utf-8")
            print(f"wrote {exp.relative_to(ROOT)}")
            continue
        old = exp.read_text(encoding="utf-8") if exp.exists() else ""
        if old != text:
            bad += 1
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(True), text.splitlines(True), str(exp), "actual", n=2))
    if args.check:
        print("golden: all match" if not bad else f"golden: {bad} file(s) differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
