"""hunt names every unreadable record or file (file, record/line, reason) on stderr, counts it in
the summary and exits 1; rules that do not compile do the same; bad paths are one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logwarden.cli import main
from logwarden.detection.compiler import DEFAULT_RULES

GOOD_RULE = DEFAULT_RULES / "windows" / "win_security_log_cleared.yml"
FW_DOC = {"@timestamp": "2020-04-13T16:00:00Z", "logwarden": {"family": "firewall"},
                                                "event": {"type": ["connection", "allowed"]},
          "source": {"ip": "203.0.113.7"}, "destination": {"ip": "192.168.1.10", "port": 3389}}


def _stderr_lines(capsys) -> list[str]:  # type: ignore[no-untyped-def]
    return capsys.readouterr().err.splitlines()


def test_bad_json_lines_are_named_counted_and_exit_1(tmp_path: Path, capsys) -> None:
    src = tmp_path / "fw.jsonl"
    lines = [json.dumps(FW_DOC).encode(), b"not json", b"[1, 2]", b'{"event": 5}', b"\xff\xfe{}",
             b"", json.dumps({**FW_DOC, "@timestamp": "2020-04-13T16:00:01Z"}).encode()]
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "alerts.jsonl"
    assert main(["hunt", str(src), "--format", "jsonl", "-o", str(out)]) == 1
    err = _stderr_lines(capsys)
    named = [e for e in err if "unreadable:" in e]
    assert [e.split(": record ")[1].split(":")[0] for e in named] == ["2", "3", "4", "5"]
    assert all(str(src) in e for e in named)
    assert "not JSON" in named[0] and "not a JSON object" in named[1]
    assert "not an ECS document" in named[2] and "not UTF-8" in named[3]
    summary = err[-1]
    assert "2 events, 4 unreadable" in summary
    assert len(out.read_text().splitlines()) == 2  # the good lines still alert: the report is written


def test_file_of_unknown_format_is_named(tmp_path: Path, capsys) -> None:
    src = tmp_path / "notes.log"  # named on the command line: read whatever its suffix
    src.write_text("plain text, not an event\n")
    assert main(["hunt", str(src)]) == 1
    err = _stderr_lines(capsys)
    assert any("notes.log: record 1: unknown format" in e for e in err)
    assert "1 files, 0 events, 1 unreadable" in err[-1]


def test_clean_input_exits_0(tmp_path: Path, capsys) -> None:
    src = tmp_path / "fw.jsonl"
    src.write_text(json.dumps(FW_DOC) + "\n")
    assert main(["hunt", str(src)]) == 0


@pytest.mark.parametrize("rule_text", [
    GOOD_RULE.read_text(encoding="utf-8").replace("tags:\n", "tags: 5\nold_tags:\n"),
    "title: caf\udce9\n",
])
def test_rule_that_does_not_compile_exits_1(tmp_path: Path, capsys, rule_text: str) -> None:
    rule = tmp_path / "rule.yml"
    rule.write_bytes(rule_text.encode("utf-8", "surrogateescape"))  # \udce9: a Latin-1 byte
    src = tmp_path / "fw.jsonl"
    src.write_text(json.dumps(FW_DOC) + "\n")
    assert main(["hunt", str(src), "--rules", str(rule), "--no-cache"]) == 1
    err = _stderr_lines(capsys)
    assert any("rule not compiled" in e and "rule.yml" in e for e in err)
    assert all("Traceback" not in e for e in err)


@pytest.mark.parametrize("rule_text, words", [
    (GOOD_RULE.read_text(encoding="utf-8").replace("tags:\n", "tags: 5\nold_tags:\n"), "must be a list"),
    ("title: caf\udce9\n", "not UTF-8"),
])
def test_rules_check_reports_bad_rule_in_one_line(tmp_path: Path, capsys, rule_text: str, words: str) -> None:
    rule = tmp_path / "rule.yml"
    rule.write_bytes(rule_text.encode("utf-8", "surrogateescape"))
    assert main(["rules", "check", str(rule)]) == 1
    captured = capsys.readouterr()
    assert words in captured.out and "rule.yml" in captured.out
    assert "Traceback" not in captured.err


def test_missing_rule_paths_are_usage_errors(tmp_path: Path, capsys) -> None:
    src = tmp_path / "fw.jsonl"
    src.write_text(json.dumps(FW_DOC) + "\n")
    missing = str(tmp_path / "missing.yml")
    assert main(["hunt", str(src), "--rules", missing]) == 2
    assert main(["rules", "convert", missing]) == 2
    assert main(["rules", "check", missing]) == 2
    err = _stderr_lines(capsys)
    assert len(err) == 3 and all("no such file or folder" in e and "missing.yml" in e for e in err)
