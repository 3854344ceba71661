"""One coverage-guided fuzz harness for every parser entry point, found through the source
registry (a new source is fuzzed without being named here).

Entry points, per source: `<name>.line` (its line parser, when it has one: any bytes -> exactly
one event or dead letter) and `<name>.stream` (its stream parser over a whole input; for a line
source, one result per record); plus `auto.line` and `auto.stream`, the per-line autodetect of
`parse --source auto`, `ship file --source auto` and `ship syslog`. The stream of a database
(Huorong's log.db) is fuzzed by its own generator of SQLite files
(tests/textlogs/test_huorong_fuzz.py). The checks, for every result: it is an `Event` or a
`DeadLetter`, a dead letter has a reason, an event's document encodes as UTF-8 JSON (what Kafka
gets) and holds `event.original` for text sources. Anything else (an exception, a wrong count)
is a crash.

Run (atheris, libFuzzer underneath; docs/fuzzing.md):

    .venv/bin/python -m tests.fuzz.harness iptables.line -max_total_time=60
    .venv/bin/python -m tests.fuzz.harness --list

Crashers go to tests/fuzz/corpus/<entry>/ (`-artifact_prefix`), where `test_fuzz.py` replays
every file as a regression test; the seed inputs are the sources' golden lines.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

from logwarden.shippers import registry
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.source import Source

CORPUS = Path(__file__).resolve().parent / "corpus"
Check = Callable[[bytes], None]


class FuzzFailure(AssertionError):
    """An entry point broke its contract on one input."""


def _check_item(item: object, text_source: bool) -> None:
    if isinstance(item, DeadLetter):
        if not item.reason:
            raise FuzzFailure("dead letter without a reason")
        return
    if not isinstance(item, Event):
        raise FuzzFailure(f"neither an Event nor a DeadLetter: {type(item).__name__}")
    json.dumps(item.doc, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
    if text_source and not item.doc.get("event", {}).get("original"):
        raise FuzzFailure("event without event.original")


def records_in(data: bytes) -> int:
    """Records of a line source in `data`: lines (split at LF) that are not blank."""
    return sum(1 for line in data.split(b"\n") if line.rstrip(b"\r\n").strip())


def line_check(src: Source | None) -> Check:
    """The line parser of `src` (None: the autodetect)."""
    from logwarden.shippers import autodetect

    parse = src.line_parser() if src is not None else autodetect.parse_line

    def check(data: bytes) -> None:
        raw = data.replace(b"\n", b" ")  # a line parser gets one line
        _check_item(parse(raw, "fuzz", 1), text_source=True)

    return check


def stream_check(src: Source | None) -> Check:
    """The stream parser of `src` (None: the autodetect, line by line)."""
    from logwarden.shippers import autodetect, textlog

    parse = src.stream_parser() if src is not None else textlog.stream_parser(autodetect.parse_line)
    text_source = src is None or src.dataset != "windows"
    counted = src is None or (src.line_oriented and src.line_session is None)  # one result per non-blank line

    def check(data: bytes) -> None:
        n = 0
        for item in parse("fuzz", io.BytesIO(data)):
            _check_item(item, text_source)
            n += 1
        if counted and n != records_in(data):
            raise FuzzFailure(f"{records_in(data)} records in, {n} results out")

    return check


def entry_points() -> dict[str, Callable[[], Check]]:
    """Every entry point by name (`<source>.line`, `<source>.stream`), built lazily."""
    found: dict[str, Callable[[], Check]] = {"auto.line": lambda: line_check(None),
                                             "auto.stream": lambda: stream_check(None)}
    for name, src in sorted(registry.sources().items()):
        if src.parse_line is not None:
            found[f"{name}.line"] = lambda src=src: line_check(src)  # type: ignore[misc]
        if src.read_rows is None:  # databases (Huorong log.db): their own fuzz test builds SQLite files
            found[f"{name}.stream"] = lambda src=src: stream_check(src)  # type: ignore[misc]
    return found


def seeds(entry: str) -> list[bytes]:
    """Starting inputs: the source's golden lines (one per input) and the kept crashers."""
    import importlib

    name = entry.split(".")[0]
    out: list[bytes] = []
    for src in registry.sources().values() if name == "auto" else [registry.source(name)]:
        folder = Path(str(importlib.import_module(src.package).__file__)).parent / "testdata"
        out += [line for log in sorted(folder.glob("test-*.log")) for line in log.read_bytes().splitlines()
                if line.strip()]
    if name == "windows":
        out += windows_seeds()
    kept = CORPUS / entry
    if kept.is_dir():
        out += [p.read_bytes() for p in sorted(kept.iterdir()) if p.is_file()]
    return out


def windows_seeds() -> list[bytes]:
    """Event XML (an export of two events, UTF-8 and UTF-16) and evtx_dump JSON lines."""
    from logwarden.shippers.windows import synth

    xml = synth.events(synth.security_4625("TAX-PROD", "2020-04-14T00:22:01Z", 1, target_user="bob", ip="203.0.113.7"),
                       synth.system_7045("TAX-PROD", "2020-04-14T00:22:02Z", 2, service_name="svc",
                                         image_path="C:\\x.exe"))
    record = {"Event": {"System": {"EventID": 4625, "EventRecordID": 1, "Channel": "Security", "Computer": "h",
                                   "TimeCreated": {"#attributes": {"SystemTime": "2020-04-14T00:22:01Z"}}},
                        "EventData": {"TargetUserName": "bob"}}}
    return [xml.encode(), xml.encode("utf-16"), ((json.dumps(record) + "\n") * 2).encode()]


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] == "--list":
        print("\n".join(entry_points()))
        return
    entry = argv[1]
    import tempfile

    import atheris

    build = entry_points()[entry]
    with atheris.instrument_imports(include=["logwarden"]):
        check = build()
    artifacts = CORPUS / entry
    artifacts.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"fuzz-{entry}-"))  # the evolving corpus: not kept
    for i, seed in enumerate(seeds(entry)):
        (work / f"seed-{i}").write_bytes(seed)
    atheris.Setup([argv[0], *argv[2:], f"-artifact_prefix={artifacts}/", str(work)], check)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
