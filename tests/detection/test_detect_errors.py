"""`detect --once` with Elasticsearch unreachable: one line on stderr, exit 3, no password."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_unreachable_elasticsearch_is_exit_3_without_the_password(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "LOGWARDEN_ES": "http://elastic:s3cret-pw@127.0.0.1:1",
           "LOGWARDEN_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "logwarden.cli", "detect", "--once"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("logwarden detect: "), done.stderr
    assert "s3cret-pw" not in done.stderr and "127.0.0.1:1" in done.stderr
