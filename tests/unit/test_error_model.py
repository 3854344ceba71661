"""The error model end to end through the real CLI process: one line on stderr, the README's
exit codes, no traceback, no secret (unit: no servers; servers that are not there are the point)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from logwarden import errors, logs
from logwarden.config import ConfigError, load
from logwarden.safe_text import printable, redact_credentials

SECRET = "hunter2-Secret"


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LOGWARDEN_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "logwarden.cli", *args], env=full_env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


@pytest.mark.parametrize(("env", "needle"), [
    ({"LOGWARDEN_ES": "not-a-url"}, "LOGWARDEN_ES"),
    ({"LOGWARDEN_ES": "http://127.0.0.1:99999"}, "LOGWARDEN_ES"),
    ({"LOGWARDEN_ES_TIMEOUT": "-1"}, "LOGWARDEN_ES_TIMEOUT"),
    ({"LOGWARDEN_ES_TIMEOUT": "0"}, "LOGWARDEN_ES_TIMEOUT"),
    ({"LOGWARDEN_ES_TIMEOUT": "abc"}, "LOGWARDEN_ES_TIMEOUT"),
    ({"LOGWARDEN_KAFKA": "127.0.0.1:port"}, "LOGWARDEN_KAFKA"),
    ({"LOGWARDEN_KAFKA": "127.0.0.1:151412"}, "LOGWARDEN_KAFKA"),
    ({"LOGWARDEN_INDEX_PREFIX": "SOC/"}, "LOGWARDEN_INDEX_PREFIX"),
    ({"LOGWARDEN_TOPIC_PREFIX": "a b"}, "LOGWARDEN_TOPIC_PREFIX"),
])
def test_malformed_settings_are_one_line_exit_2(env: dict[str, str], needle: str, tmp_path: Path) -> None:
    proc = run_cli("lab", "status", env=env, cwd=tmp_path)
    assert proc.returncode == errors.EXIT_USAGE
    assert needle in one_line_error(proc)


def test_missing_config_file(tmp_path: Path) -> None:
    proc = run_cli("--config", str(tmp_path / "missing.yml"), "lab", "status", cwd=tmp_path)
    assert proc.returncode == errors.EXIT_USAGE
    assert "missing.yml" in one_line_error(proc)


@pytest.mark.parametrize(("content", "needle"), [
    (b"kafka: [unclosed\n", "not valid YAML"),
    (b"kafka: \xff\xfe127.0.0.1:1\n", "not UTF-8"),
    (b"kafkaa: 127.0.0.1:1\n", "unknown key"),
    (b"- a list\n", "mapping"),
])
def test_bad_config_files(tmp_path: Path, content: bytes, needle: str) -> None:
    (tmp_path / "logwarden.yml").write_bytes(content)
    proc = run_cli("lab", "status", cwd=tmp_path)
    assert proc.returncode == errors.EXIT_USAGE
    assert needle in one_line_error(proc)


def test_password_in_a_bad_url_is_never_printed(tmp_path: Path) -> None:
    proc = run_cli("setup", env={"LOGWARDEN_ES": f"ftp://elastic:{SECRET}@127.0.0.1:9200"}, cwd=tmp_path)
    assert proc.returncode == errors.EXIT_USAGE
    assert SECRET not in proc.stderr + proc.stdout
    assert "elastic:***@" in proc.stderr


def test_unreachable_server_is_exit_3(tmp_path: Path) -> None:
    # a loopback port nothing listens on: the client library's own error becomes exit 3
    proc = run_cli("setup", "--no-kafka", env={"LOGWARDEN_ES": f"http://elastic:{SECRET}@127.0.0.1:9",
                                               "LOGWARDEN_ES_TIMEOUT": "2"}, cwd=tmp_path)
    assert proc.returncode == errors.EXIT_SERVER, proc.stderr
    assert SECRET not in proc.stderr + proc.stdout
    one_line_error(proc)


def test_usage_errors_are_exit_2(tmp_path: Path) -> None:
    proc = run_cli("--no-such-option", cwd=tmp_path)
    assert proc.returncode == errors.EXIT_USAGE
    one_line_error(proc)
    proc = run_cli("--log-level", "loud", "lab", "status", cwd=tmp_path)
    assert proc.returncode == errors.EXIT_USAGE
    assert "log level" in one_line_error(proc)
    assert run_cli(cwd=tmp_path).returncode == errors.EXIT_USAGE  # no command: help, exit 2


def test_exit_codes_by_exception() -> None:
    assert errors.exit_code_for(errors.InputError("x")) == 1
    assert errors.exit_code_for(ConfigError("x")) == 2
    assert errors.exit_code_for(errors.ServerError("x")) == 3
    assert errors.exit_code_for(ConnectionRefusedError("x")) == 3
    assert errors.exit_code_for(KeyError("x")) == errors.EXIT_BUG
    from kafka.errors import KafkaConnectionError

    assert errors.exit_code_for(KafkaConnectionError()) == 3
    assert "\n" not in errors.describe(errors.InputError("two\nlines"))


def test_config_validation_accepts_good_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOGWARDEN_ES", "https://user:pw@es.example:9243")
    monkeypatch.setenv("LOGWARDEN_KAFKA", "k1:9092,k2:9093")
    monkeypatch.setenv("LOGWARDEN_ES_TIMEOUT", "2.5")
    monkeypatch.setenv("LOGWARDEN_INDEX_PREFIX", "soc-")
    cfg = load()
    assert (cfg.elasticsearch, cfg.kafka, cfg.index_prefix) == ("https://user:pw@es.example:9243", "k1:9092,k2:9093",
                                                               "soc-")
    assert cfg.es_shown == "https://user:***@es.example:9243"
    monkeypatch.setenv("LOGWARDEN_TOPIC_PREFIX", "soc.")
    assert (load().group("indexer"), load().topic("windows")) == ("soc.indexer", "soc.windows")


def test_printable_neutralises_terminal_and_bidi_controls() -> None:
    hostile = "ok\x1b[2J\x1b]8;;http://x\x07link\rrow\bz\u202egpj.exe\u2066\x85"
    shown = printable(hostile)
    assert all(ch == "\t" or (ch.isprintable() and ch not in "\u202e\u2066") for ch in shown)
    assert "\\x1b" in shown and "\\u202e" in shown and "\\x0d" in shown
    assert printable("tab\tand 中文 stay") == "tab\tand 中文 stay"


def test_redact_credentials() -> None:
    assert redact_credentials(f"GET https://elastic:{SECRET}@h:9200/_bulk failed") == \
        "GET https://elastic:***@h:9200/_bulk failed"
    assert redact_credentials("http://h:9200 no user") == "http://h:9200 no user"


def test_json_log_format(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("debug", "json")
    try:
        logging.getLogger("logwarden.test").info("value %s", "\x1b[31mred")
        record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert record["log.level"] == "info" and record["log.logger"] == "logwarden.test"
        assert record["message"] == "value \x1b[31mred"  # JSON-escaped on the wire, data unchanged
        logs.configure("info", "text")
        logging.getLogger("logwarden.test").warning("value %s", "\x1b[31mred")
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert line.endswith("warning logwarden.test: value \\x1b[31mred")
    finally:
        logs.configure()


def test_a_full_disk_is_exit_2_not_a_bug() -> None:
    """Issue 7: writing a command's message to a full standard output was exit 70 'internal error'."""
    import errno as errno_codes

    exc = OSError(errno_codes.ENOSPC, "No space left on device")
    assert errors.exit_code_for(exc) == errors.EXIT_USAGE
    assert errors.describe(exc) == "cannot write: No space left on device"
    assert errors.exit_code_for(OSError(errno_codes.EACCES, "Permission denied")) == errors.EXIT_BUG
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "logwarden.cli", "dashboards", "check"], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == ["logwarden dashboards: cannot write: No space left on device"]
