"""`logwarden parse` reconciles for every way input arrives (a file, a pipe `-`, a FIFO) and every
kind of input: records in = documents on stdout + dead letters on stderr, on seeded hostile
corpora (tests/reconcile/corpus.py) for `--source auto`, each line source and Windows JSON lines
and event XML. A record lost or split anywhere (reader, line counter, pipe handling) fails here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

from . import corpus
from .modes import MODES, given_as

TEXT_RECORDS = 800
# the per-line autodetect in every mode, each line source the registry lists from a file
TEXT_SOURCES = ["auto", *corpus.LINE_SOURCES]
TEXT_CASES = [("auto", mode) for mode in MODES] + [(name, "file") for name in corpus.LINE_SOURCES]


def run_parse(source: str, path: str, stdin: bytes | None) -> tuple[int, list[str], list[str]]:
    """(exit code, stdout lines, stderr lines) of `logwarden parse --source SOURCE PATH`."""
    proc = subprocess.run([sys.executable, "-m", "logwarden.cli", "parse", "--source", source, path],
                          input=stdin if stdin is not None else b"", capture_output=True, cwd=ROOT, timeout=300)
    out = proc.stdout.decode("utf-8").splitlines()
    err = proc.stderr.decode("utf-8").splitlines()
    return proc.returncode, out, err


def reconcile(code: int, out: list[str], err: list[str], records: int) -> int:
    """Checks records = documents + dead letters and the exit code; returns the dead letters."""
    assert not any("Traceback" in line for line in err), "\n".join(err[-20:])
    dead = [line for line in err if ": dead letter: " in line]
    assert len(err) == len(dead), [line for line in err if ": dead letter: " not in line][:5]
    for doc in out:
        json.loads(doc)  # every stdout line one document
    assert len(out) + len(dead) == records, f"{len(out)} documents + {len(dead)} dead letters != {records}"
    assert code == (1 if dead else 0)
    return len(dead)


@pytest.mark.parametrize(("source", "mode"), TEXT_CASES)
def test_text_records_in_equal_documents_plus_dead_letters(source: str, mode: str, tmp_path: Path) -> None:
    seed = TEXT_SOURCES.index(source) * 10 + MODES.index(mode)
    records = corpus.text_records(seed, TEXT_RECORDS)
    with given_as(mode, corpus.text_file(records, seed), tmp_path) as (path, stdin):
        dead = reconcile(*run_parse(source, path, stdin), len(records))
    assert dead > 0  # the corpus holds bad records for every parser


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["json", "xml"])
def test_windows_records_in_equal_documents_plus_dead_letters(kind: str, mode: str, tmp_path: Path) -> None:
    seed = 100 + MODES.index(mode)
    body, records = (corpus.windows_json_lines if kind == "json" else corpus.windows_xml)(seed, 400)
    with given_as(mode, body, tmp_path) as (path, stdin):
        dead = reconcile(*run_parse("windows", path, stdin), records)
    assert 0 < dead < records


def test_lone_cr_in_the_first_64_kib_of_json_lines_splits_nothing(tmp_path: Path) -> None:
    """Found by the reconciliation above: the Windows JSON reader split the lines of its format
    sniffing buffer at a lone CR as well, so a record holding one became two (only within the
    first 64 KiB)."""
    good = json.dumps(corpus._evtx_dump(1, "bob"))
    path = tmp_path / "events.json"
    path.write_bytes((good + "\n" + "not json \r with a CR\n" + good + "\n").encode())
    code, out, err = run_parse("windows", str(path), None)
    assert (code, len(out), len(err)) == (1, 2, 1), err
    assert "line 2: bad JSON" in err[0]
