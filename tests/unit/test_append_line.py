"""`atomic_file.append_line`, how the indexer keeps the dead letters Elasticsearch refused
(`rejected-deadletters.jsonl`), follows the output rule (README exit codes, docs/reliability.md):
one OutputError line naming the file, exit 2, and the file as it was (no half record), for a
folder in the way, no permission and a full disk (no servers; the indexer's side is
tests/pipeline/test_rejected_deadletters_servers.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from logwarden.atomic_file import append_line
from logwarden.errors import OutputError
from tests.support.full_disk import limit_file_size
from tests.support.paths import ROOT
from tests.unit.test_output_rule import NO_DAC, one_line_exit_2, read_only

__all__ = ["read_only"]  # the fixture, imported for the permission test

SCRIPT = """
import sys
from pathlib import Path
from logwarden import errors
from logwarden.atomic_file import append_line

try:
    append_line(Path(sys.argv[1]), sys.argv[2].encode() + b"\\n")
except errors.LogwardenError as exc:
    print(errors.describe(exc), file=sys.stderr)
    sys.exit(exc.exit_code)
"""


def append(path: Path, text: str, *, no_dac: bool = False, file_limit: int | None = None
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*(NO_DAC if no_dac else []), sys.executable, "-c", SCRIPT, str(path), text],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          preexec_fn=limit_file_size(file_limit) if file_limit else None)  # noqa: PLW1509


def test_lines_are_appended_and_the_folder_made(tmp_path: Path) -> None:
    path = tmp_path / "state" / "kept.jsonl"
    append_line(path, b'{"n": 1}\n')
    append_line(path, b'{"n": 2}\n')
    assert path.read_bytes() == b'{"n": 1}\n{"n": 2}\n'


def test_full_disk_leaves_no_half_record(tmp_path: Path) -> None:
    path = tmp_path / "kept.jsonl"
    path.write_bytes(b'{"n": 1}\n')
    before = path.read_bytes()
    one_line_exit_2(append(path, "x" * 500, file_limit=len(before) + 100), str(path), "cannot write")
    assert path.read_bytes() == before  # the 100 bytes that fitted were cut off again


def test_folder_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "kept.jsonl").mkdir()
    one_line_exit_2(append(tmp_path / "kept.jsonl", "x"), str(tmp_path / "kept.jsonl"))
    blocker = tmp_path / "state"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(OutputError, match="cannot write to .*state/kept.jsonl"):
        append_line(blocker / "kept.jsonl", b"x\n")


def test_permission_denied(read_only: Path) -> None:
    path = read_only / "kept.jsonl"
    one_line_exit_2(append(path, "x", no_dac=True), str(path), "Permission denied")
    assert list(read_only.iterdir()) == []
