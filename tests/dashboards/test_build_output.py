"""`dashboards build --out` where the output cannot be written: the existing NDJSON is kept
whole, the error is one line on stderr and the exit code is 2 (logwarden/atomic_file.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from logwarden.dashboards import OUT
from tests.support.full_disk import run_with_full_disk
from tests.support.paths import ROOT

BUILD = [sys.executable, "-m", "logwarden.cli", "dashboards", "build"]


def _one_line_exit_2(proc: object, where: str) -> None:
    assert proc.returncode == 2, proc.stderr  # type: ignore[attr-defined]
    lines = proc.stderr.splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("logwarden dashboards: cannot write to ") and where in lines[0]


def test_full_disk_keeps_the_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "logwarden.ndjson"
    before = OUT.read_bytes()
    assert len(before) > 4096
    target.write_bytes(before)
    proc = run_with_full_disk([*BUILD, "--out", str(target)], limit=4096, cwd=ROOT)
    _one_line_exit_2(proc, str(target))
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logwarden.ndjson"]  # no temporary file left


def test_dev_full(tmp_path: Path) -> None:
    proc = run_with_full_disk([*BUILD, "--out", "/dev/full"], limit=1 << 30, cwd=ROOT)
    _one_line_exit_2(proc, "/dev/full")
    assert "No space left" in proc.stderr


def test_missing_folder(tmp_path: Path) -> None:
    proc = run_with_full_disk([*BUILD, "--out", str(tmp_path / "nope" / "x.ndjson")], limit=1 << 30, cwd=ROOT)
    _one_line_exit_2(proc, "does not exist")
    assert not (tmp_path / "nope").exists()


def test_build_still_writes(tmp_path: Path) -> None:
    target = tmp_path / "out.ndjson"
    proc = run_with_full_disk([*BUILD, "--out", str(target)], limit=1 << 30, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes() == OUT.read_bytes()
