"""The `logwarden` CLI as a subprocess (`python -m logwarden.cli`), configured for a namespace
through the environment, run from the checkout's root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from logwarden.config import ENV, Config

from .paths import ROOT


def env_for(cfg: Config) -> dict[str, str]:
    """This process's environment plus the LOGWARDEN_* variables that select `cfg`'s servers,
    prefixes, state folder and connection security (CA files, credentials): every setting of
    `cfg` except the site's internal networks; a setting empty in `cfg` is removed."""
    env = {**os.environ}
    for name, var in ENV.items():
        if name == "internal_networks":
            continue
        value = getattr(cfg, name)
        if value:
            env[var] = value
        else:
            env.pop(var, None)
    return env


def cli(cfg: Config, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `logwarden *args` to the end; returns its exit code and captured stdout/stderr."""
    return subprocess.run([sys.executable, "-m", "logwarden.cli", *args], env=env_for(cfg), cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def popen(cfg: Config, *args: str) -> subprocess.Popen[str]:
    """Start `logwarden *args` in the background, stdout and stderr piped as text."""
    return subprocess.Popen([sys.executable, "-m", "logwarden.cli", *args], env=env_for(cfg), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def shipped(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The `--json` summary of a finished `ship evtx|file` run, after checking its exit code against
    it (README: 1 when anything became a dead letter or was unreadable, else 0) and that stderr
    holds no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    summary: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    problems = summary.get("dead_letters", summary.get("dead", 0)) or summary.get("unreadable_files", 0)
    assert proc.returncode == (1 if problems else 0), proc.stderr[-3000:]
    return summary
