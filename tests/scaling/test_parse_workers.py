"""`parse --workers N` writes what one worker writes: the same documents in the same order (the
files in the order given, each file's records in order), the same dead-letter lines on standard
error, the same exit code; standard input is parsed at its place among the files. Documents
dated "now" (no timestamp in the line, flagged timestamp-missing) are compared without it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.reconcile import corpus
from tests.support.paths import ROOT


def _parse(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "logwarden.cli", "parse", *args], input=stdin, cwd=ROOT,
                          capture_output=True, timeout=600)


def _docs(stdout: bytes) -> list[dict]:
    docs = []
    for line in stdout.decode("utf-8").splitlines():
        doc = json.loads(line)
        if "timestamp-missing" in doc.get("log", {}).get("flags", []):
            doc.pop("@timestamp")
        docs.append(doc)
    return docs


def test_parse_workers_same_output_as_one(tmp_path: Path) -> None:
    files = []
    for k in range(4):
        path = tmp_path / f"fw{k}.log"
        path.write_bytes(corpus.text_file(corpus.text_records(700 + k, 1500 + 500 * k, long_line=0), 700 + k))
        files.append(str(path))
    stdin = Path(files[1]).read_bytes()
    args = ("--source", "auto", "--with-id", files[0], files[1], "-", files[2], files[3])
    one = _parse(*args, stdin=stdin)
    three = _parse("--workers", "3", *args, stdin=stdin)
    assert b"Traceback" not in three.stderr
    assert one.returncode == three.returncode == 1  # the corpus holds dead letters
    assert three.stderr == one.stderr
    assert three.stderr.count(b"dead letter") > 100
    docs = _docs(one.stdout)
    assert len(docs) > 1000
    assert _docs(three.stdout) == docs  # same documents, same order


def test_parse_workers_unopenable_file_is_a_usage_error_after_the_files_before_it(tmp_path: Path) -> None:
    good = tmp_path / "a.log"
    good.write_bytes(b"<134>Apr 14 00:20:01 fw kernel: IN=eth0 OUT= SRC=203.0.113.4 DST=10.0.0.5 PROTO=TCP "
                     b"SPT=4444 DPT=3389\n")
    args = ("--source", "iptables", str(good), str(tmp_path / "missing.log"), str(good))
    one = _parse(*args)
    two = _parse("--workers", "2", *args)
    assert one.returncode == two.returncode == 2
    assert one.stdout == two.stdout and one.stdout.count(b"\n") == 1
    assert two.stderr.strip().splitlines()[-1] == one.stderr.strip().splitlines()[-1]
    assert b"Traceback" not in two.stderr
