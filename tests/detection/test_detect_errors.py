"""`detect` refusing to start: Elasticsearch unreachable with `--once` (one line, exit 3, no
password); a `--catch-up-step` that would cut every pass (one line, exit 2)."""

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


def test_a_catch_up_step_shorter_than_a_pass_is_a_usage_error_before_any_connection(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "LOGWARDEN_ES": "http://elastic:s3cret-pw@127.0.0.1:1",
           "LOGWARDEN_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "logwarden.cli", "detect", "--interval", "60s",
                           "--catch-up-step", "10s"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == ["logwarden detect: --catch-up-step 10s is shorter than a pass's window "
                     "(--lookback + --overlap = 240s, and more than --overlap); 0 for no cap"], done.stderr
