"""The `logwarden` CLI as a subprocess (`python -m logwarden.cli`), configured for a namespace
through the environment, run from the checkout's root. No pytest here: bench/ uses it too."""

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


def command(*args: str, python: tuple[str, ...] = ()) -> list[str]:
    """The command line of `logwarden *args` in this interpreter; `python`: the interpreter's own
    options before it (e.g. ("-m", "cProfile", "-o", FILE))."""
    return [sys.executable, *python, "-m", "logwarden.cli", *args]


def cli(cfg: Config, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `logwarden *args` to the end; returns its exit code and captured stdout/stderr."""
    return subprocess.run(command(*args), env=env_for(cfg), cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def popen(cfg: Config, *args: str, stderr: int = subprocess.PIPE) -> subprocess.Popen[str]:
    """Start `logwarden *args` in the background, stdout piped as text, stderr piped (or `stderr`,
    e.g. subprocess.DEVNULL for a long run nobody reads the log of)."""
    return subprocess.Popen(command(*args), env=env_for(cfg), cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr,
                            text=True)


def shipped(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The `--json` summary of a finished `ship evtx|file` run, after checking its exit code against
    it (README: 1 when anything became a dead letter or was unreadable, else 0) and that stderr
    holds no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    summary: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    problems = summary.get("dead_letters", summary.get("dead", 0)) or summary.get("unreadable_files", 0)
    assert proc.returncode == (1 if problems else 0), proc.stderr[-3000:]
    return summary
