"""`logwarden.yml` and the dashboard sources are read by the same bounded loader as rule files
(logwarden/bounded_yaml.py): an alias bomb or a file over the limit is one line on stderr and
exit 2 (a config error), before anything is built from it. Before: the config's alias bomb was
expanded by `str()` of the setting (minutes, gigabytes), the dashboard one by the generator."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from logwarden.bounded_yaml import YamlLimitError, load_file
from logwarden.config import MAX_CONFIG_BYTES, ConfigError, load
from logwarden.dashboards.spec import MAX_SOURCE_BYTES
from tests.support.paths import ROOT

DASHBOARD_SOURCES = ROOT / "logwarden" / "dashboards" / "src"


def alias_bomb(key: str) -> str:
    """Nine levels of nine aliases: 622 bytes that expand to 387 million values."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    lines.append(f"{key}: *a8")
    return "\n".join(lines) + "\n"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logwarden.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def one_line_exit_2(proc: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    for text in expected:
        assert text in lines[0], lines[0]


def test_config_alias_bomb_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "logwarden.yml"
    config.write_text(alias_bomb("kafka"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"YAML alias \*a0 at line 2: aliases are not allowed in logwarden.yml"):
        load(str(config))
    one_line_exit_2(run("--config", str(config), "ship", "evtx", str(config)), str(config), "aliases are not allowed")


def test_config_over_the_limit_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "logwarden.yml"
    config.write_text("kafka: 127.0.0.1:19092\n" + "# padding\n" * (MAX_CONFIG_BYTES // 10 + 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"file too large: .*\(MAX_CONFIG_BYTES\)"):
        load(str(config))
    one_line_exit_2(run("--config", str(config), "ship", "evtx", str(config)), "MAX_CONFIG_BYTES")


def test_config_with_anchors_but_no_aliases_still_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGWARDEN_KAFKA", raising=False)  # the environment overrides the file
    config = tmp_path / "logwarden.yml"
    config.write_text("kafka: &k 127.0.0.1:19092\n", encoding="utf-8")
    assert load(str(config)).kafka == "127.0.0.1:19092"  # guard


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A copy of the project's dashboard sources, to spoil one of them."""
    folder = tmp_path / "src"
    shutil.copytree(DASHBOARD_SOURCES, folder)
    return folder


def test_dashboard_source_alias_bomb_is_one_line_exit_2(sources: Path, tmp_path: Path) -> None:
    bomb = sources / "9-bomb.yml"
    bomb.write_text(alias_bomb("title"), encoding="utf-8")
    out = tmp_path / "out.ndjson"
    one_line_exit_2(run("dashboards", "build", "--src", str(sources), "--out", str(out)),
                    str(bomb), "aliases are not allowed in dashboard sources")
    assert not out.exists()
    one_line_exit_2(run("dashboards", "check", "--src", str(sources), "--out", str(out)), str(bomb))


def test_dashboard_source_over_the_limit_is_one_line_exit_2(sources: Path, tmp_path: Path) -> None:
    huge = sources / "1-incident-rdp-logons.yml"
    huge.write_text(huge.read_text(encoding="utf-8") + "# x\n" * (MAX_SOURCE_BYTES // 4 + 1), encoding="utf-8")
    one_line_exit_2(run("dashboards", "build", "--src", str(sources), "--out", str(tmp_path / "o.ndjson")),
                    str(huge), "MAX_SOURCE_BYTES")


def test_one_document_per_file(tmp_path: Path) -> None:
    two = tmp_path / "two.yml"
    two.write_text("a: 1\n---\nb: 2\n", encoding="utf-8")
    with pytest.raises(Exception, match="expected one YAML document, found 2"):
        load_file(two, 1024, "LIMIT", "test files")
    with pytest.raises(YamlLimitError):
        load_file(two, 4, "LIMIT", "test files")
