"""An install that lacks a dependency (a virtualenv made before pyproject.toml gained it) gets one
line naming the module and exit 2, whether the module is imported when the CLI starts (orjson,
by every command's module) or on first use (pyevtx-rs, by `hunt` reading an EVTX file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

_RUN = "import sys; sys.modules[{module!r}] = None; from logwarden.cli import main; sys.exit(main({argv!r}))"


def _run(module: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _RUN.format(module=module, argv=argv)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("module", "argv"), [
    ("orjson", ["setup"]),
    ("yaml", ["rules", "check"]),
], ids=["orjson-at-start", "yaml-at-start"])
def test_missing_at_start_is_one_line_and_exit_2(module: str, argv: list[str]) -> None:
    done = _run(module, argv)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"a dependency is not installed ({module})" in done.stderr


def test_missing_on_first_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    evtx = tmp_path / "one.evtx"
    evtx.write_bytes(b"ElfFile\x00" + bytes(4088))
    done = _run("evtx", ["hunt", str(evtx)])
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "logwarden hunt: a dependency is not installed (evtx)" in done.stderr
