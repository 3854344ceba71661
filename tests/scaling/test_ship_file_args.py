"""`ship file` with several paths: what takes one path only is refused before any server is
contacted (exit 2, one line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT


@pytest.mark.parametrize("extra", [("--follow",), ("--state", "s.json"), ("-",), ("--workers", "0")])
def test_one_path_options_refused_with_several(tmp_path: Path, extra: tuple[str, ...]) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_bytes(b"x\n")
    b.write_bytes(b"y\n")
    proc = subprocess.run([sys.executable, "-m", "logwarden.cli", "ship", "file", str(a), str(b), "--source",
                           "iptables", *extra], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
