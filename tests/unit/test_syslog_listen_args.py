"""`ship syslog --udp/--tcp HOST:PORT`: a bad address is one line on stderr and exit 2 (usage),
never a traceback (issue 14: port 151412 gave an OverflowError from bind)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from logwarden.shippers.syslog import parse_hostport


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGWARDEN_")}
    return subprocess.run([sys.executable, "-m", "logwarden.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize(("flag", "address", "needle"), [
    ("--udp", "127.0.0.1:151412", "out of range"),
    ("--tcp", "127.0.0.1:151412", "out of range"),
    ("--udp", "127.0.0.1:99999999999999999999", "out of range"),
    ("--tcp", "127.0.0.1:abc", "numeric port"),
    ("--udp", "127.0.0.1:", "numeric port"),
    ("--tcp", "127.0.0.1", "numeric port"),
    ("--udp", "bad host!:5514", "not an IP address or host name"),
    ("--tcp", "[::1:5514", "not an IP address or host name"),
    ("--udp", "h\x1b[31mx:5514", "not an IP address or host name"),
])
def test_bad_listen_address_is_one_line_and_exit_2(flag: str, address: str, needle: str) -> None:
    proc = run_cli("ship", "syslog", flag, address)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert needle in lines[0]
    assert "\x1b" not in proc.stderr  # hostile text stays data


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:5514", ("127.0.0.1", 5514)),
    (":514", ("0.0.0.0", 514)),
    ("[::1]:0", ("::1", 0)),
    ("localhost:65535", ("localhost", 65535)),
    ("syslog-1.example.org:6514", ("syslog-1.example.org", 6514)),
])
def test_good_listen_addresses_parse(text: str, expected: tuple[str, int]) -> None:
    assert parse_hostport(text) == expected


@pytest.mark.parametrize("flags", [("--max-connections", "0"), ("--idle-timeout", "-1"), ("--idle-timeout", "nan")])
def test_connection_limits_must_be_positive(flags: tuple[str, str]) -> None:
    proc = run_cli("ship", "syslog", "--tcp", "127.0.0.1:0", *flags)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "must be positive" in proc.stderr
