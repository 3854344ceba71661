"""The `logwarden` CLI as a subprocess (`python -m logwarden.cli`), configured for a namespace
through the environment, run from the checkout's root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from logwarden.config import Config

from .paths import ROOT


def env_for(cfg: Config) -> dict[str, str]:
    """This process's environment plus the LOGWARDEN_* variables that select `cfg`'s servers,
    prefixes and state folder."""
    return {
        **os.environ,
        "LOGWARDEN_KAFKA": cfg.kafka,
        "LOGWARDEN_ES": cfg.elasticsearch,
        "LOGWARDEN_TOPIC_PREFIX": cfg.topic_prefix,
        "LOGWARDEN_INDEX_PREFIX": cfg.index_prefix,
        "LOGWARDEN_STATE": cfg.state,
        "LOGWARDEN_HOME": cfg.home,
        "LOGWARDEN_ES_TIMEOUT": cfg.es_timeout,
    }


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
