"""Rule regexes run in linear time (RE2) and `rules check` warns about catastrophic ones; log
content with terminal escapes, carriage returns, backspaces and bidi overrides reaches a person
only as visible escapes (table, HTML, stderr)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from logwarden.cli import main
from logwarden.detection.check import check
from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector, run_batch
from logwarden.detection.hunt import write_html, write_table
from logwarden.detection.ir import UnsupportedError
from logwarden.detection.regex import backtracking_risk, compile_search

RULE_ID = "6f0f3c3e-8a61-4b7e-a7a4-0f1d9d0b9b11"


def regex_rule(pattern: str) -> str:
    return f"""title: Third-Party Regex
id: {RULE_ID}
status: experimental
logsource: {{product: windows, category: process_creation}}
detection:
  sel:
    CommandLine|re: '{pattern}'
  condition: sel
level: low
"""


def process(command_line: str) -> tuple[str, dict[str, Any]]:
    return "re-1", {
        "@timestamp": "2020-04-14T00:22:00.000Z",
        "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "1", "computer_name": "tax-prod"},
        "event": {"code": "1", "id": "re-1"},
        "process": {"command_line": command_line},
        "host": {"name": "tax-prod"},
    }


@pytest.mark.timeout(60)  # a guard against the old minutes-long hang, not a speed assertion
def test_catastrophic_regex_does_not_hang(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(regex_rule("(a+)+$"))
    detector = Detector(load_ruleset([tmp_path], use_cache=False))
    assert detector.failed == []
    assert run_batch(detector, [process("a" * 40 + "!")]) == []
    assert [a["rule"]["id"] for a in run_batch(detector, [process("x aaaa")])] == [RULE_ID]


def test_rules_check_warns_about_catastrophic_regex(tmp_path: Path, capsys) -> None:
    (tmp_path / "r.yml").write_text(regex_rule("(a+)+$"))
    _, findings = check([tmp_path], strict_metadata=False)
    assert [(f.severity, "unbounded repetition inside another" in f.message) for f in findings] == [("warning", True)]
    assert main(["rules", "check", "--no-metadata", str(tmp_path)]) == 0  # a warning, not an error
    assert "warning" in capsys.readouterr().out


def test_backtracking_only_pattern_with_risk_is_refused_not_run() -> None:
    with pytest.raises(UnsupportedError, match="backtracking engine"):
        compile_search("(?<=x)(a+)+$", "")
    assert compile_search("(?<=x)a", "")("xa")  # lookbehind without risk: Python's re
    assert compile_search("ABC", "i")("xabcx") and not compile_search("^b", "")("a\nb")
    assert compile_search("^b", "m")("a\nb")
    assert backtracking_risk(r"[a-z]+\.exe") is None and backtracking_risk(r"(\w+\s?)*$")


HOSTILE = {
    "escape": "\x1b[2J\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07",
    "carriage": "ok\rFAKE ROW",
    "backspace": "abc\b\b\bxyz",
    "rlo": "invoice\u202egpj.exe",
}


def _alert(host: str) -> dict[str, Any]:
    return {"@timestamp": "2020-04-14T00:22:00Z", "rule": {"name": "r"}, "host": {"name": host},
            "sigma": {"level": "high", "count": 1}, "event": {"reason": host, "id": "1"}}


UNSAFE = ("\x1b", "\x07", "\r", "\b", "\u202e")


@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
def test_table_and_html_show_escapes(value: str) -> None:
    table, page = io.StringIO(), io.StringIO()
    write_table([_alert(value)], table)
    write_html([_alert(value)], page)
    for text in (table.getvalue(), page.getvalue()):
        assert not any(ch in text for ch in UNSAFE)
    assert "\\u202e" in page.getvalue() or value != HOSTILE["rlo"]
    assert table.getvalue().count("\n") == 2  # header + one row: no injected line


def test_hunt_cli_table_and_stderr_are_safe(tmp_path: Path, capsys) -> None:
    doc = {"@timestamp": "2020-04-13T16:00:00Z", "logwarden": {"family": "firewall"},
                                                 "event": {"type": ["connection", "allowed"]},
           "source": {"ip": "203.0.113.7"}, "destination": {"ip": "192.168.1.10", "port": 3389},
           "host": {"name": HOSTILE["rlo"] + HOSTILE["escape"]}}
    src = tmp_path / "fw.jsonl"
    src.write_text(json.dumps(doc) + "\n")
    evil = tmp_path / "evil\x1b[2J\u202eexe.log"
    evil.write_text("not an event\n")
    assert main(["hunt", str(src), str(evil), "--format", "table"]) == 1
    captured = capsys.readouterr()
    assert "invoice\\u202egpj.exe\\x1b[2J" in captured.out  # the alert row (host column), escaped
    for text in (captured.out, captured.err):
        assert not any(ch in text for ch in UNSAFE)
    assert "evil\\x1b[2J\\u202eexe.log: record 1" in captured.err
