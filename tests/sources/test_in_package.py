"""A NEW source folder inside logwarden/shippers itself (in a copy of the package, run from that
copy): discovered as a subpackage, with no list to edit anywhere else."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from . import acme


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return acme.copy_with_source(tmp_path_factory.mktemp("pkg"), "acme_fw")


def test_new_folder_in_shippers_is_picked_up(copy: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = acme.cli("parse", "--help", env=env, cwd=copy)  # `-m` puts the copy first on sys.path
    assert where.returncode == 0, where.stderr.decode()
    assert "acme_fw" in " ".join(where.stdout.decode().split())
    log = tmp_path / "fw.log"
    log.write_bytes(acme.line(1) + b"\n" + acme.line(2, "allow") + b"\n")
    for source in ("acme_fw", "auto"):
        proc = acme.cli("parse", "--source", source, str(log), env=env, cwd=copy)
        assert proc.returncode == 0, proc.stderr.decode()
        assert [json.loads(ln)["event"]["action"] for ln in proc.stdout.splitlines()] == ["deny", "allow"]
    follow = acme.cli("ship", "file", "--help", env=env, cwd=copy)
    assert "acme_fw" in " ".join(follow.stdout.decode().split())
    # and the checkout itself does not know it (the copy was what ran)
    assert b"acme_fw" not in acme.cli("parse", "--help", env=env).stdout
