"""Coverage-guided fuzzing in the normal test run: a short atheris run of every parser entry point
the registry gives (tests/fuzz/harness.py), and every crasher ever kept under tests/fuzz/corpus/
replayed as a regression test. The long run and how to keep a crasher: docs/fuzzing.md.

`LOGWARDEN_FUZZ_SECONDS` sets the seconds per entry point (default 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

from .harness import CORPUS, entry_points, seeds

ENTRIES = list(entry_points())
SECONDS = int(os.environ.get("LOGWARDEN_FUZZ_SECONDS", "1"))


def test_every_source_has_entry_points() -> None:
    """The harness finds the sources itself: each one with a parser it can call is fuzzed."""
    from logwarden.shippers import registry

    for name, src in registry.sources().items():
        if src.read_rows is None:
            assert f"{name}.stream" in ENTRIES
        if src.parse_line is not None:
            assert f"{name}.line" in ENTRIES
    assert {"auto.line", "auto.stream"} <= set(ENTRIES)


@pytest.mark.parametrize("entry", ENTRIES)
def test_kept_crashers_and_seeds_pass(entry: str) -> None:
    """Every crasher kept for this entry point (a regression test once fixed) and every seed."""
    check = entry_points()[entry]()
    kept = sorted(p for p in (CORPUS / entry).glob("*") if p.is_file())
    for crasher in kept:
        check(crasher.read_bytes())
    inputs = seeds(entry)
    assert len(inputs) > len(kept)  # the golden lines at least
    for data in inputs:
        check(data)


@pytest.mark.parametrize("entry", ENTRIES)
def test_bounded_fuzz_run(entry: str, tmp_path: Path) -> None:
    """libFuzzer's exit code is 0 when the time ran out without a crash; a crash writes the input
    to tests/fuzz/corpus/<entry>/ (commit it with the fix) and fails here."""
    proc = subprocess.run([sys.executable, "-m", "tests.fuzz.harness", entry, f"-max_total_time={SECONDS}",
                           "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=SECONDS + 120)
    tail = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith('"'))[-4000:]
    assert proc.returncode == 0, f"{entry}: fuzzing found a crash (input kept under {CORPUS / entry}):\n{tail}"
    assert "Done " in proc.stderr, tail


def test_the_checks_catch_a_lost_record_and_a_wrong_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness can fail: a reader that drops a line, a parser that returns nothing."""
    from logwarden.shippers import autodetect, textlog

    from .harness import FuzzFailure

    real_lines = textlog.iter_lines
    monkeypatch.setattr(textlog, "iter_lines", lambda data: list(real_lines(data))[1:])
    with pytest.raises(FuzzFailure, match="2 records in, 1 results out"):
        entry_points()["auto.stream"]()(b"first line\nsecond line\n")
    monkeypatch.setattr(autodetect, "parse_line", lambda raw, source, position: None)
    with pytest.raises(FuzzFailure, match="neither an Event nor a DeadLetter"):
        entry_points()["auto.line"]()(b"a line")
