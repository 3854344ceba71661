"""Output paths (logwarden/atomic_file.py): a folder, a missing folder, a full disk, stdout on a
full disk are one line on stderr with exit 2, and a failed write leaves no truncated report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from logwarden.atomic_file import check_output_path, output
from logwarden.cli import main
from logwarden.errors import UsageError

FW_DOC = {"@timestamp": "2020-04-13T16:00:00Z", "logwarden": {"family": "firewall"},
                                                "event": {"type": ["connection", "allowed"]},
          "source": {"ip": "203.0.113.7"}, "destination": {"ip": "192.168.1.10", "port": 3389}}
FULL = Path("/dev/full")


@pytest.fixture()
def events(tmp_path: Path) -> Path:
    src = tmp_path / "fw.jsonl"
    src.write_text(json.dumps(FW_DOC) + "\n")
    return src


@pytest.mark.parametrize("command", [["hunt", "{events}"], ["rules", "convert"]])
def test_output_to_a_folder_or_a_missing_folder(tmp_path: Path, events: Path, capsys, command: list[str]) -> None:
    args = [a.format(events=events) for a in command]
    assert main([*args, "-o", str(tmp_path)]) == 2
    assert main([*args, "-o", str(tmp_path / "no" / "such" / "report.txt")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "it is a folder" in err[0] and "does not exist" in err[1]


@pytest.mark.skipif(not FULL.exists(), reason="/dev/full is a Linux device")
@pytest.mark.parametrize("command", [["hunt", "{events}"], ["rules", "convert"]])
def test_full_disk(events: Path, capsys, command: list[str]) -> None:
    args = [a.format(events=events) for a in command]
    assert main([*args, "-o", str(FULL)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"logwarden {args[0]}: cannot write to /dev/full: No space left on device"]


@pytest.mark.skipif(not FULL.exists(), reason="/dev/full is a Linux device")
@pytest.mark.parametrize("command", [["hunt", "{events}"], ["rules", "convert"]])
def test_stdout_on_a_full_disk(events: Path, command: list[str]) -> None:
    args = [a.format(events=events) for a in command]
    with FULL.open("w") as full:
        done = subprocess.run([sys.executable, "-m", "logwarden.cli", *args], stdout=full,
                              stderr=subprocess.PIPE, text=True, check=False)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[-1] == f"logwarden {args[0]}: cannot write to standard output: No space left on device"
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


def test_failed_write_keeps_the_old_report_and_leaves_no_temporary(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    report.write_text("old report\n")
    with pytest.raises(RuntimeError), output(report) as out:
        out.write("half of a new rep")
        raise RuntimeError("the writer failed")
    assert report.read_text() == "old report\n"
    assert os.listdir(tmp_path) == ["report.html"]


def test_successful_write_replaces_whole(tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    with output(report) as out:
        out.write("line\n" * 3)
    assert report.read_text() == "line\n" * 3
    assert os.listdir(tmp_path) == ["report.txt"]
    assert report.stat().st_mode & 0o777 != 0o600  # not the temporary file's private mode


def test_check_output_path_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is not a folder"):
        check_output_path(tmp_path / "file" / "report.txt")
