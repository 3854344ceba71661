"""`logwarden parse --source auto FILE` as a user runs it (CLI subprocess, no servers): ECS
documents as JSON lines on stdout, dead letters on stderr with their position, exit 1 when any."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from logwarden.shippers import autodetect
from logwarden.shippers.base import DeadLetter
from tests.support.paths import ROOT

from .corpus import mixed

DEAD = re.compile(r"^(.*):(\d+): dead letter: (.+)$")


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "logwarden.cli", "parse", *args], cwd=ROOT, input=stdin,
                          capture_output=True, timeout=120)


def _offsets(data: bytes) -> list[tuple[int, int, bytes]]:
    """(line number from 1, byte offset, line) for the non-blank lines."""
    out, offset = [], 0
    for no, line in enumerate(data.splitlines(keepends=True), 1):
        if line.strip():
            out.append((no, offset, line.rstrip(b"\r\n")))
        offset += len(line)
    return out


@pytest.fixture
def mixed_file(tmp_path: Path) -> tuple[Path, list[tuple[int, int, bytes]]]:
    path = tmp_path / "mixed.log"
    path.write_bytes(b"\n".join(mixed(600)) + b"\n\n")  # a trailing blank line is not a record
    return path, _offsets(path.read_bytes())


def test_parse_auto_documents_and_dead_letters(mixed_file) -> None:
    path, lines = mixed_file
    expect = [autodetect.parse_line(raw, str(path), off) for _, off, raw in lines]
    dead = [(no, it) for (no, _, _), it in zip(lines, expect, strict=True) if isinstance(it, DeadLetter)]
    events = [it for it in expect if not isinstance(it, DeadLetter)]
    assert dead and events

    proc = run("--source", "auto", str(path))
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]
    docs = [json.loads(ln) for ln in proc.stdout.decode("utf-8").splitlines()]
    assert len(docs) == len(events)
    assert [d["event"]["module"] for d in docs] == [e.doc["event"]["module"] for e in events]
    assert [d["event"]["original"] for d in docs] == [e.doc["event"]["original"] for e in events]
    assert any("张三" in d["event"]["original"] for d in docs)  # GBK decoded
    reported = [DEAD.match(ln) for ln in proc.stderr.decode("utf-8").splitlines()]
    assert all(reported), proc.stderr.decode()[-2000:]
    assert [(m.group(1), int(m.group(2)), m.group(3)) for m in reported if m] == \
        [(str(path), no, it.reason) for no, it in dead]  # line numbers, not byte offsets


def test_parse_auto_all_parsed_exits_0_and_reads_stdin(mixed_file) -> None:
    path, lines = mixed_file
    good = [raw for _, off, raw in lines if not isinstance(autodetect.parse_line(raw, "-", off), DeadLetter)]
    proc = run("--source", "auto", "-", stdin=b"\n".join(good) + b"\n")
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert proc.stderr == b""
    assert len(proc.stdout.splitlines()) == len(good)


def test_parse_unknown_source_exits_2(tmp_path: Path) -> None:
    proc = run("--source", "nosuch", str(tmp_path / "x.log"))
    assert proc.returncode == 2 and b"unknown source" in proc.stderr


def test_parse_dead_letters_report_line_numbers(mixed_file) -> None:
    path, lines = mixed_file
    dead_lines = [no for no, off, raw in lines if isinstance(autodetect.parse_line(raw, "x", off), DeadLetter)]
    proc = run("--source", "auto", str(path))
    reported = [int(m.group(2)) for m in map(DEAD.match, proc.stderr.decode().splitlines()) if m]
    assert reported == dead_lines


def _iptables_with_bad(good: int, bad: int) -> tuple[bytes, list[int]]:
    """`good` iptables lines with a bad one after every tenth; (data, line numbers of the bad)."""
    lines: list[bytes] = []
    bad_at: list[int] = []
    for i in range(good):
        lines.append(f"Apr 14 00:20:11 gw01 kernel: IPTABLES-DROP: IN=eth0 OUT= SRC=203.0.113.{i % 250} "
                     f"DST=192.168.10.21 LEN=52 TTL=113 ID={i} PROTO=TCP SPT={1024 + i} DPT=3389 SYN".encode())
        if i % 10 == 9 and len(bad_at) < bad:
            lines.append(f"Apr 14 00:20:11 gw01 kernel: no firewall fields here {i}".encode())
            bad_at.append(len(lines))
    return b"\n".join(lines) + b"\n", bad_at


@pytest.mark.parametrize("mode", ["stdin", "dev-stdin", "fifo"])
def test_parse_from_a_pipe_keeps_every_record(tmp_path: Path, mode: str) -> None:
    """Regression: reading `-`, /dev/stdin or a FIFO, the line-number helper read the same stream
    as the parser, so once dead letters occurred about half the records vanished."""
    data, bad_at = _iptables_with_bad(3000, 300)
    if mode == "fifo":
        import os
        import threading

        fifo = tmp_path / "in.fifo"
        os.mkfifo(fifo)

        def feed() -> None:
            with open(fifo, "wb") as fh:
                fh.write(data)

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        proc = run("--source", "iptables", str(fifo))
        writer.join(10)
        name = str(fifo)
    else:
        name = "-" if mode == "stdin" else "/dev/stdin"
        proc = run("--source", "iptables", name, stdin=data)
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]
    assert len(proc.stdout.splitlines()) == 3000
    reported = [DEAD.match(ln) for ln in proc.stderr.decode().splitlines()]
    assert all(reported) and len(reported) == 300, proc.stderr.decode()[-2000:]
    assert [(m.group(1), int(m.group(2))) for m in reported if m] == [(name, no) for no in bad_at]


def test_parse_missing_file_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = run("--source", "iptables", str(tmp_path / "none.log"))
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [f"logwarden parse: {tmp_path / 'none.log'}: No such file or directory"]


def test_line_numbers_follow_the_parser_and_keep_little() -> None:
    import io

    from logwarden.commands.parse import LineNumbers
    from logwarden.shippers.textlog import iter_lines

    lines = [b"", b"a" * 100, b"", b"", b"b" * 70_000, b"c"] * 400  # blank lines are not records
    raw = b"\n".join(lines) + b"\n"
    counter = LineNumbers(io.BytesIO(raw))
    got, kept = [], 0
    for offset, body in iter_lines(io.BufferedReader(counter, 1 << 16)):
        got.append((counter.line_of(offset), body[:1]))
        kept = max(kept, sum(len(data) for _, data in counter.chunks))
    expect = [(no, line[:1]) for no, line in enumerate(lines, 1) if line]
    assert got == expect
    assert kept <= 3 * (1 << 16) + 70_000  # the read-ahead, not the input (28 MB)
    assert counter.line_of(0) is None  # the count never goes back


def test_full_stdout_is_one_line_exit_2() -> None:
    log = str(ROOT / "logwarden/shippers/fortigate/testdata/test-fortigate.log")
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "logwarden.cli", "parse", "--source", "fortigate", log],
                              cwd=ROOT, stdout=full, stderr=subprocess.PIPE, timeout=120)
    errors = [x for x in proc.stderr.decode().splitlines() if "dead letter" not in x]
    assert proc.returncode == 2, proc.stderr
    assert errors == ["logwarden parse: cannot write to standard output: No space left on device"]


def test_closed_stdout_is_one_line_exit_2() -> None:
    log = str(ROOT / "logwarden/shippers/fortigate/testdata/test-fortigate.log")
    proc = subprocess.run([sys.executable, "-m", "logwarden.cli", "parse", "--source", "fortigate", log],
                          cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120,
                          preexec_fn=lambda: os.close(1))  # noqa: PLW1509
    errors = [x for x in proc.stderr.decode().splitlines() if "dead letter" not in x]
    assert proc.returncode == 2, proc.stderr
    assert errors == ["logwarden parse: cannot write to standard output: it is closed"]
