"""`logwarden parse --source auto FILE` as a user runs it (CLI subprocess, no servers): ECS
documents as JSON lines on stdout, dead letters on stderr with their position, exit 1 when any."""

from __future__ import annotations

import json
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
