"""LOGWARDEN_LOG_TZ (the zone of timestamps written without one): a bad value is one line on
stderr naming the variable and exit 2 in every command that parses text logs, before any line."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from logwarden.errors import ConfigError
from logwarden.timezones import log_tz, parse_tz
from tests.support.paths import ROOT

BAD = ["Mars/Olympus", "+99:00", "+08:75", "../../etc/passwd", "x" * 5000]
LINE = (b"Apr 14 00:20:11 gw01 kernel: IPTABLES-DROP: IN=eth0 OUT= SRC=203.0.113.45 DST=192.168.10.21 "
        b"LEN=52 PROTO=TCP SPT=51234 DPT=3389\n")


@pytest.mark.parametrize(("value", "offset"), [("", 0), ("UTC", 0), ("Z", 0), ("+08:00", 480), ("-0530", -330)])
def test_good_values(value: str, offset: int) -> None:
    zone = parse_tz(value)
    assert datetime(2026, 1, 1, tzinfo=zone).utcoffset() == timedelta(minutes=offset)


def test_zone_name() -> None:
    assert datetime(2026, 1, 1, tzinfo=parse_tz("Asia/Shanghai")).utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize("value", BAD, ids=lambda v: v[:20])
def test_bad_values_raise_config_error_naming_the_variable(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGWARDEN_LOG_TZ", value)
    with pytest.raises(ConfigError, match="^LOGWARDEN_LOG_TZ: ") as err:
        log_tz()
    assert len(str(err.value)) < 200


def test_unset_is_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGWARDEN_LOG_TZ", raising=False)
    assert log_tz() is UTC


def _cli(tmp_path: Path, tz: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOGWARDEN_LOG_TZ": tz, "LOGWARDEN_KAFKA": "127.0.0.1:9",
           "LOGWARDEN_STATE": str(tmp_path / "state"), "LOGWARDEN_HOME": str(tmp_path / "home")}
    return subprocess.run([sys.executable, "-m", "logwarden.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", ["parse", "ship file", "ship syslog"])
@pytest.mark.parametrize("tz", ["Mars/Olympus", "+99:00"])
def test_commands_refuse_a_bad_zone(command: str, tz: str, tmp_path: Path) -> None:
    log = tmp_path / "fw.log"
    log.write_bytes(LINE)
    args = {"parse": ["parse", "--source", "iptables", str(log)],
            "ship file": ["ship", "file", "--source", "iptables", str(log)],
            "ship syslog": ["ship", "syslog", "--udp", "127.0.0.1:0"]}[command]
    proc = _cli(tmp_path, tz, *args)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "LOGWARDEN_LOG_TZ" in lines[0] and tz in lines[0], proc.stderr


def test_parse_reads_naive_times_in_the_zone(tmp_path: Path) -> None:
    log = tmp_path / "fw.log"
    log.write_bytes(b'date=2020-04-14 time=08:22:01 devname="FG" type="traffic" srcip=203.0.113.45 proto=6\n')
    proc = _cli(tmp_path, "+08:00", "parse", "--source", "fortigate", str(log))
    assert proc.returncode == 0, proc.stderr
    assert '"@timestamp": "2020-04-14T00:22:01.000Z"' in proc.stdout
