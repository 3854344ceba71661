"""Rule files over the limits (logwarden/detection/rule_yaml.py) are refused before any YAML
parsing, with a finding naming the file and the limit, and exit 1, in `rules check`, `hunt` and
`rules convert`; the other rule files still load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from logwarden.cli import main
from logwarden.detection.check import check
from logwarden.detection.compiler import DEFAULT_RULES
from logwarden.detection.rule_yaml import MAX_RULE_FILE_BYTES, MAX_RULES_PER_FILE

GOOD = DEFAULT_RULES / "windows" / "win_security_log_cleared.yml"


@pytest.fixture
def parsed_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every text handed to yaml.load_all / safe_load_all while the test runs."""
    sizes: list[int] = []
    real, real_safe = yaml.load_all, yaml.safe_load_all

    def spy(stream: Any, *args: Any, **kwargs: Any) -> Any:
        sizes.append(len(stream) if isinstance(stream, str | bytes) else -1)
        return real(stream, *args, **kwargs)

    def spy_safe(stream: Any) -> Any:
        sizes.append(len(stream) if isinstance(stream, str | bytes) else -1)
        return real_safe(stream)

    monkeypatch.setattr(yaml, "load_all", spy)
    monkeypatch.setattr(yaml, "safe_load_all", spy_safe)
    return sizes


def _big_but_valid(folder: Path) -> Path:
    """A valid rule padded with a comment past MAX_RULE_FILE_BYTES (a different id from GOOD's)."""
    text = GOOD.read_text(encoding="utf-8").replace("id: ", "id: 1", 1)
    path = folder / "big.yml"
    path.write_text(text + "# " + "x" * (MAX_RULE_FILE_BYTES + 10) + "\n", encoding="utf-8")
    return path


def test_too_large_refused_before_parsing(tmp_path: Path, parsed_sizes: list[int]) -> None:
    big = _big_but_valid(tmp_path)
    shutil.copy(GOOD, tmp_path / "good.yml")
    rs, findings = check([tmp_path], strict_metadata=False)
    msgs = [str(f) for f in findings]
    assert any(str(big) in m and "rule file too large" in m and f"{MAX_RULE_FILE_BYTES:,}" in m for m in msgs), msgs
    assert [r.path for r in rs.rules] == [str(tmp_path / "good.yml")]
    assert parsed_sizes and max(parsed_sizes) < MAX_RULE_FILE_BYTES
    assert main(["rules", "check", "--no-metadata", str(tmp_path)]) == 1


def test_too_many_rules_refused_before_parsing(tmp_path: Path, parsed_sizes: list[int]) -> None:
    many = tmp_path / "many.yml"
    many.write_text("".join(f"---\ntitle: r{i}\n" for i in range(MAX_RULES_PER_FILE + 1)), encoding="utf-8")
    _, findings = check([tmp_path], strict_metadata=True)
    msgs = [str(f) for f in findings]
    assert len(msgs) == 1 and "too many rules in one file" in msgs[0] and str(many) in msgs[0], msgs
    assert parsed_sizes == []


def test_at_the_limit_is_accepted(tmp_path: Path) -> None:
    text = GOOD.read_text(encoding="utf-8")
    path = tmp_path / "r.yml"
    path.write_text(text + "# " + "x" * (MAX_RULE_FILE_BYTES - len(text.encode()) - 3) + "\n", encoding="utf-8")
    assert path.stat().st_size == MAX_RULE_FILE_BYTES
    rs, findings = check([tmp_path], strict_metadata=False)
    assert findings == [] and len(rs.rules) == 1


def test_hunt_reports_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    big = _big_but_valid(rules)
    src = tmp_path / "events.jsonl"
    src.write_text(json.dumps({"@timestamp": "2020-04-13T16:00:00Z", "event": {"dataset": "windows"}}) + "\n")
    code = main(["hunt", str(src), "--rules", str(rules), "--no-cache", "--format", "jsonl",
                 "-o", str(tmp_path / "alerts.jsonl")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"hunt: rule not compiled: {big}: rule file too large" in err


def test_convert_skips_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = _big_but_valid(tmp_path)
    assert main(["rules", "convert", str(big), "--target", "lucene"]) == 0
    assert "rule file too large" in capsys.readouterr().err


def test_yaml_alias_bomb_refused(tmp_path: Path) -> None:
    """622 bytes that pySigma would expand to 9**9 values (measured before: over 60 s, 2.7 GB)."""
    lines = ["title: bomb", "id: 11111111-2222-3333-4444-555555555555", "status: test",
             "logsource: {product: windows, service: security}", "detection:",
             "  a0: &a0 ['x','x','x','x','x','x','x','x','x']"]
    lines += [f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    lines += ["  selection:", "    EventID: *a8", "  condition: selection", "level: low"]
    (tmp_path / "bomb.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copy(GOOD, tmp_path / "good.yml")
    rs, findings = check([tmp_path], strict_metadata=False)
    msgs = [str(f) for f in findings]
    assert len(msgs) == 1 and "bomb.yml" in msgs[0] and "YAML alias *a0 at line 7" in msgs[0], msgs
    assert [r.path for r in rs.rules] == [str(tmp_path / "good.yml")]


def test_anchors_without_aliases_still_load(tmp_path: Path) -> None:
    text = GOOD.read_text(encoding="utf-8").replace("detection:", "detection: &d", 1)
    (tmp_path / "anchored.yml").write_text(text, encoding="utf-8")
    rs, findings = check([tmp_path], strict_metadata=False)
    assert findings == [] and len(rs.rules) == 1
