"""One rule for output that cannot be written (README, exit codes): every command that writes a
file (hunt -o, rules convert -o, dashboards build --out, the checkpoints of ship evtx and ship
file) and standard output give one line naming the place and exit 2, whatever the cause: a
folder given as the file, a missing folder, no permission, a full disk.

Permission is taken away from root by dropping CAP_DAC_OVERRIDE for the child (`setpriv`): a
folder of mode 0555 then refuses root too. Before: permission denied was exit 2 for the -o
outputs, a traceback (exit 70) for `ship file`'s checkpoint and exit 1 for `ship evtx`'s."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.full_disk import limit_file_size
from tests.support.paths import ROOT

FW_DOC = {"@timestamp": "2020-04-13T16:00:00Z", "logwarden": {"family": "firewall"},
          "event": {"dataset": "iptables.log", "type": ["connection", "allowed"]},
          "source": {"ip": "203.0.113.7"}, "destination": {"ip": "192.168.1.10", "port": 3389}}
SETPRIV = shutil.which("setpriv")
NO_DAC = ([SETPRIV, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search",
           "--"] if os.geteuid() == 0 and SETPRIV else [])

# what the checkpoints write, driven in process without Kafka (a list sink)
CHECKPOINT_SCRIPT = """
import sys
from pathlib import Path
from logwarden import errors
from logwarden.shippers.base import ListSink
from logwarden.shippers.checkpoint import Checkpoints
from logwarden.shippers.filetail import FileTail

kind, state, log = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
try:
    if kind == "evtx":
        Checkpoints(state).update(Path(log), "f" * 24, 10)
    else:
        FileTail(log, "iptables", ListSink(), state).run()
except errors.LogwardenError as exc:
    print(errors.describe(exc), file=sys.stderr)
    sys.exit(exc.exit_code)
"""


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may write in (mode 0555; root too, once CAP_DAC_OVERRIDE is dropped)."""
    if os.geteuid() == 0 and not SETPRIV:
        pytest.fail("running as root without setpriv: permission cannot be taken away for the test")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def events(tmp_path: Path) -> Path:
    path = tmp_path / "fw.jsonl"
    path.write_text(json.dumps(FW_DOC) + "\n", encoding="utf-8")
    return path


def run(args: list[str], *, no_dac: bool = False, file_limit: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*(NO_DAC if no_dac else []), sys.executable, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300,
                          preexec_fn=limit_file_size(file_limit) if file_limit else None)  # noqa: PLW1509


def one_line_exit_2(proc: subprocess.CompletedProcess[str], *expected: str) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def commands(tmp_path: Path, target: Path) -> dict[str, list[str]]:
    cli = ["-m", "logwarden.cli"]
    return {
        "hunt": [*cli, "hunt", str(events(tmp_path)), "-o", str(target)],
        "rules convert": [*cli, "rules", "convert", "-o", str(target)],
        "dashboards build": [*cli, "dashboards", "build", "--out", str(target)],
        "ship evtx checkpoint": ["-c", CHECKPOINT_SCRIPT, "evtx", str(target), str(events(tmp_path))],
        "ship file checkpoint": ["-c", CHECKPOINT_SCRIPT, "file", str(target), str(events(tmp_path))],
    }


COMMANDS = ["hunt", "rules convert", "dashboards build", "ship evtx checkpoint", "ship file checkpoint"]


@pytest.mark.parametrize("command", COMMANDS)
def test_permission_denied(command: str, tmp_path: Path, read_only: Path) -> None:
    target = read_only / "out.txt"
    line = one_line_exit_2(run(commands(tmp_path, target)[command], no_dac=True), str(target), "Permission denied")
    assert line.count("cannot write") == 1
    assert list(read_only.iterdir()) == []  # no temporary file left


@pytest.mark.parametrize("command", COMMANDS)
def test_full_disk(command: str, tmp_path: Path) -> None:
    target = tmp_path / "out" / "out.txt"
    target.parent.mkdir()
    target.write_text("the previous file\n", encoding="utf-8")
    if command.endswith("checkpoint"):
        target.write_text("{}", encoding="utf-8")
    before = target.read_bytes()
    limit = len(before) + 2 if command.startswith("ship") else 200  # any checkpoint or report is larger
    one_line_exit_2(run(commands(tmp_path, target)[command], file_limit=limit), str(target))
    assert target.read_bytes() == before  # all or nothing
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


@pytest.mark.parametrize("command", ["hunt", "rules convert", "dashboards build"])
def test_missing_folder_and_folder_as_file(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "out.txt"
    one_line_exit_2(run(commands(tmp_path, missing)[command]), str(missing), "does not exist")
    one_line_exit_2(run(commands(tmp_path, tmp_path)[command]), str(tmp_path), "it is a folder")


@pytest.mark.parametrize("command", ["ship evtx checkpoint", "ship file checkpoint"])
def test_checkpoint_folder_that_is_a_file(command: str, tmp_path: Path) -> None:
    """A checkpoint's missing folder is made; a folder that is a file cannot be."""
    blocker = tmp_path / "state"
    blocker.write_text("", encoding="utf-8")
    target = blocker / "ship.json"
    one_line_exit_2(run(commands(tmp_path, target)[command]), str(target))
