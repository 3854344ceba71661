"""A config file named explicitly (--config, or LOGWARDEN_CONFIG) that does not exist, is a folder
or may not be read is refused by every command, through the real CLI: one line on stderr naming
the file and where it was named, exit 2, before the command does anything. Before, `hunt`,
`parse`, `rules check` and `dashboards build` ran without it and said nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from logwarden import cli as cli_module
from tests.support.cli import command
from tests.support.paths import ROOT

# one valid invocation of each command (argparse accepts it; the config check comes first)
INVOCATIONS = {
    "lab": ("lab", "status"),
    "setup": ("setup",),
    "ship": ("ship", "evtx", "{input}"),
    "index": ("index", "--once"),
    "parse": ("parse", "--source", "iptables", "{input}"),
    "detect": ("detect", "--once"),
    "stream": ("stream", "--once"),
    "hunt": ("hunt", "{input}"),
    "rules": ("rules", "check"),
    "dashboards": ("dashboards", "build", "--out", "{out}"),
}


def _run(tmp_path: Path, *args: str, env_config: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGWARDEN_")}
    env["LOGWARDEN_HOME"] = str(tmp_path / "home")  # nothing of the shared lab is used
    if env_config is not None:
        env["LOGWARDEN_CONFIG"] = env_config
    return subprocess.run(command(*args), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def _refused(done: subprocess.CompletedProcess[str], prog: str, *needles: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"logwarden {prog}: config "), done.stderr
    for needle in needles:
        assert needle in done.stderr, done.stderr


def test_the_invocations_cover_every_command() -> None:
    assert set(INVOCATIONS) == set(cli_module.COMMANDS)


@pytest.mark.parametrize("name", sorted(INVOCATIONS))
def test_a_missing_config_file_is_refused_by_every_command(name: str, tmp_path: Path) -> None:
    line = tmp_path / "fw.log"
    line.write_text("Apr 14 00:22:01 fw1 kernel: IN=eth0 OUT= SRC=203.0.113.5 DST=10.0.0.5 PROTO=TCP DPT=3389\n")
    args = [a.format(input=line, out=tmp_path / "out") for a in INVOCATIONS[name]]
    missing = tmp_path / "logwarden-typo.yml"
    _refused(_run(tmp_path, "--config", str(missing), *args), name, str(missing), "(--config)", "no such file")
    assert not (tmp_path / "out").exists(), "the command ran"


def test_a_folder_named_as_config_is_refused(tmp_path: Path) -> None:
    _refused(_run(tmp_path, "--config", str(tmp_path), "rules", "check"), "rules", "is a folder")


def test_a_missing_file_in_logwarden_config_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "gone.yml"
    _refused(_run(tmp_path, "hunt", str(tmp_path), env_config=str(missing)), "hunt", str(missing),
             "(LOGWARDEN_CONFIG)")


def test_an_existing_config_file_is_accepted(tmp_path: Path) -> None:
    config = tmp_path / "logwarden.yml"
    config.write_text("topic_prefix: named.\n")
    done = _run(tmp_path, "--config", str(config), "rules", "check")
    assert done.returncode == 0, done.stderr[-2000:]


def test_an_unreadable_config_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """In process (the tests may run as root, whom no file mode stops): `access` says no."""
    config = tmp_path / "logwarden.yml"
    config.write_text("topic_prefix: named.\n")
    monkeypatch.setattr(cli_module.os, "access", lambda path, mode: False)
    assert cli_module.main(["--config", str(config), "rules", "check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be read" in err and str(config) in err, err


def test_a_config_name_with_control_characters_is_shown_inert(tmp_path: Path) -> None:
    hostile = str(tmp_path / "x\x1b[2Jy.yml")
    done = _run(tmp_path, "--config", hostile, "rules", "check")
    assert done.returncode == 2 and "\x1b" not in done.stderr, done.stderr
