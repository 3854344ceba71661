"""The wheel, installed where a user installs it: built from the checkout (`pip wheel --no-deps`),
installed into a fresh venv outside the checkout with no network (tests.support.wheelhouse), and
run from another folder. Every bundled file must be in the wheel, and the installed CLI must give
the checkout's results: `rules check`, `hunt` over our own event XML, `dashboards check`, and
`setup` against the running lab in a namespace of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from logwarden.config import Config
from logwarden.demo import write_events
from logwarden.runtime.lab import Lab
from tests.support.cli import env_for
from tests.support.namespaces import cleanup, isolated
from tests.support.paths import ROOT
from tests.support.wheelhouse import build_wheel, fresh_install

pytestmark = pytest.mark.servers

# Tracked files under logwarden/ that stay out of the wheel on purpose: golden inputs and
# expected outputs, read only by the tests and the golden commands in a checkout.
TEST_ONLY = ("/testdata/", "logwarden/shippers/windows/golden/")


@dataclass
class Installed:
    wheel: Path
    bin: Path  # the fresh venv's bin/
    elsewhere: Path  # the working directory of every command: not the checkout
    env: dict[str, str]  # no PYTHONPATH, no project venv on PATH, caches and state in tmp

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bin / "logwarden"), *args], cwd=self.elsewhere, env=env or self.env,
                              capture_output=True, text=True, timeout=600)


def _clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not k.startswith("LOGWARDEN_")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(ROOT)))
    env["XDG_CACHE_HOME"] = str(tmp / "cache")  # the installed package compiles the rules itself
    env["LOGWARDEN_HOME"] = str(tmp / "home")
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(tmp / "dist")
    bin_dir = fresh_install(wheel, tmp)
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return Installed(wheel, bin_dir, elsewhere, _clean_env(tmp))


def _checkout(*args: str) -> subprocess.CompletedProcess[str]:
    """The same command run from the checkout (the project venv, editable install)."""
    return subprocess.run([sys.executable, "-m", "logwarden.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_wheel_carries_every_bundled_file(installed: Installed) -> None:
    tracked = subprocess.run(["git", "ls-files", "logwarden"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert "logwarden/sigma_rules/windows" in " ".join(tracked)  # the listing is the real one
    bundled = [path for path in tracked if not any(part in path for part in TEST_ONLY)]
    in_wheel = set(zipfile.ZipFile(installed.wheel).namelist())
    missing = [path for path in bundled if path not in in_wheel]
    assert not missing, f"in the checkout but not in the wheel (pyproject.toml package-data): {missing}"
    assert not [name for name in in_wheel if any(part in name for part in TEST_ONLY)]


def test_imported_from_the_venv_not_the_checkout(installed: Installed) -> None:
    code = "import logwarden, logwarden.resources as r; print(logwarden.__file__); print(r.rules_dir())"
    proc = subprocess.run([str(installed.bin / "python"), "-c", code], cwd=installed.elsewhere, env=installed.env,
                          capture_output=True, text=True, check=True)
    module, rules = proc.stdout.split()
    venv = installed.bin.parent
    assert Path(module).is_relative_to(venv) and Path(rules).is_relative_to(venv), proc.stdout
    assert not Path(module).resolve().is_relative_to(ROOT)


def test_rules_check(installed: Installed) -> None:
    proc = installed.run("rules", "check")
    assert proc.returncode == 0, proc.stderr
    reference = _checkout("rules", "check")
    assert reference.returncode == 0, reference.stderr
    assert proc.stderr.strip() == reference.stderr.strip()  # "rules check: N files, N rules compiled, 0 errors"
    assert "0 errors" in proc.stderr


def test_hunt_gives_the_checkouts_alerts(installed: Installed, tmp_path: Path) -> None:
    sample = write_events(tmp_path / "events")  # our own 4625 burst, RDP 4624, 1102 (logwarden.demo)
    proc = installed.run("hunt", str(sample), "--format", "jsonl")
    assert proc.returncode == 0, proc.stderr
    reference = _checkout("hunt", str(sample), "--format", "jsonl", "--no-cache")
    assert reference.returncode == 0, reference.stderr
    alerts = [json.loads(line) for line in proc.stdout.splitlines()]
    assert "Logon Brute Force From One Source" in {alert["rule"]["name"] for alert in alerts}
    assert alerts == [json.loads(line) for line in reference.stdout.splitlines()]


def test_dashboards_check(installed: Installed) -> None:
    proc = installed.run("dashboards", "check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture
def bare_ns(lab: Lab, tmp_path: Path) -> Iterator[Config]:
    """A namespace with nothing in it yet (`setup` is what is tested)."""
    cfg = isolated(lab.cfg, tmp_path)
    yield cfg
    cleanup(cfg)


def test_setup_against_the_lab(installed: Installed, bare_ns: Config) -> None:
    from logwarden.es_io import client, templates
    from logwarden.kafka_io import admin as kafka_admin

    namespace = {k: v for k, v in env_for(bare_ns).items() if k.startswith("LOGWARDEN_")}
    proc = installed.run("setup", env={**installed.env, **namespace})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    admin = kafka_admin(bare_ns, "logwarden-test")
    try:
        topics = {topic for topic in admin.list_topics() if topic.startswith(bare_ns.topic_prefix)}
    finally:
        admin.close()
    assert topics and all(topic in proc.stdout for topic in topics), proc.stdout
    es = client(bare_ns)
    for name in templates():
        assert es.indices.exists_index_template(name=name), name
