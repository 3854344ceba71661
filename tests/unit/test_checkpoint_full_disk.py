"""A checkpoint that cannot be written (a full disk, simulated with RLIMIT_FSIZE in a child
process, which stops root too) is one line naming the file and exit 2, as every output that
cannot be written (`OutputError`); the previous checkpoint stays intact and no temporary file is
left behind (issue 14: it was an OSError traceback)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.support.full_disk import run_with_full_disk

SCRIPT = """
import sys
from pathlib import Path
from logwarden.shippers.checkpoint import Checkpoints

def run() -> int:
    ck = Checkpoints(Path(sys.argv[1]))
    ck.update(Path("big.evtx"), "f" * 24, 10**6, save=False)
    for n in range(2000):  # far more than the file size limit
        ck.data[f"/var/log/file-{n:05d}.log"] = {"fingerprint": "a" * 24, "records": n, "complete": True}
    ck.save()
    return 0
"""


def test_full_disk_while_saving_a_checkpoint(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    ck_file = state / "ship-file.json"
    before = {"/var/log/old.log": {"fingerprint": "b" * 24, "records": 7, "complete": False}}
    ck_file.write_text(json.dumps(before), encoding="utf-8")
    code = SCRIPT + """
from logwarden import errors
try:
    run()
except errors.LogwardenError as exc:
    print(errors.describe(exc), file=sys.stderr)
    sys.exit(exc.exit_code)
"""
    proc = run_with_full_disk([sys.executable, "-c", code, str(ck_file)], limit=4096,
                              cwd=Path(__file__).resolve().parents[2])
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"cannot write checkpoint {ck_file}" in lines[0]
    assert json.loads(ck_file.read_text(encoding="utf-8")) == before
    assert sorted(p.name for p in state.iterdir()) == ["ship-file.json"]
