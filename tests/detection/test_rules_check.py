"""`logwarden rules check` finds each kind of error, with the file path; our rules are clean."""

from __future__ import annotations

import shutil
from pathlib import Path

from logwarden.cli import main
from logwarden.detection.check import check
from logwarden.detection.compiler import DEFAULT_RULES

GOOD = DEFAULT_RULES / "windows" / "win_security_log_cleared.yml"


def _msgs(path: Path) -> list[str]:
    _, findings = check([path])
    return [str(f) for f in findings]


def test_our_rules_are_clean(capsys) -> None:
    assert main(["rules", "check"]) == 0


def test_broken_yaml(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text("title: x\ndetection: [unclosed\n")
    msgs = _msgs(tmp_path)
    assert any("bad.yml" in m for m in msgs)
    assert main(["rules", "check", str(tmp_path)]) == 1


def test_duplicate_id(tmp_path: Path) -> None:
    shutil.copy(GOOD, tmp_path / "a.yml")
    shutil.copy(GOOD, tmp_path / "b.yml")
    assert any("duplicate rule id" in m and "b.yml" in m for m in _msgs(tmp_path))


def test_dangling_correlation_reference(tmp_path: Path) -> None:
    src = (DEFAULT_RULES / "windows" / "corr_bruteforce_failed_logons.yml").read_text()
    (tmp_path / "c.yml").write_text(src.replace("lw_win_failed_logon", "no_such_rule"))
    assert any("unknown rules" in m and "no_such_rule" in m and "c.yml" in m for m in _msgs(tmp_path))


def test_unmapped_field(tmp_path: Path) -> None:
    src = GOOD.read_text().replace("Provider_Name: Microsoft-Windows-Eventlog", "NoSuchFieldAnywhere: x")
    (tmp_path / "u.yml").write_text(src)
    assert any("NoSuchFieldAnywhere" in m and "u.yml" in m for m in _msgs(tmp_path))


def test_sigma_error_and_metadata(tmp_path: Path) -> None:
    (tmp_path / "s.yml").write_text("title: t\nid: not-a-uuid\nlogsource: {product: windows}\n"
                                    "detection: {sel: {EventID: 1}, condition: sel and missing}\n")
    msgs = _msgs(tmp_path)
    assert any("s.yml" in m for m in msgs)
    assert any("missing" in m for m in msgs)


def test_convert_targets(capsys) -> None:
    for target in ("lucene", "dsl", "kibana"):
        assert main(["rules", "convert", "--target", target]) == 0
    out = capsys.readouterr().out
    assert "process.command_line.caseless" in out
