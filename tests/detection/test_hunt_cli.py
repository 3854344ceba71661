"""hunt CLI: report formats; hostile values stay data in HTML."""

from __future__ import annotations

import io
import json
from pathlib import Path

from logwarden.cli import main
from logwarden.detection.hunt import write_html


def test_html_escapes_hostile_values() -> None:
    alert = {"@timestamp": "2020-04-14T00:22:00Z", "rule": {"name": "<script>alert(1)</script>"},
             "host": {"name": "<img src=x onerror=alert(1)>"}, "sigma": {"level": "high", "count": 1},
             "event": {"reason": "\"><b>x</b>", "id": "1"}}
    out = io.StringIO()
    write_html([alert], out)
    html = out.getvalue()
    data = html.split('<script type="application/json" id="report-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data and ">" not in data  # no value can close the data block or open a tag
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in data
    assert "<img" not in html and "<b>" not in html and "alert(1)</script>" not in html


def test_hunt_jsonl_on_ecs_jsonl(tmp_path: Path, capsys) -> None:
    src = tmp_path / "fw.jsonl"
    doc = {"@timestamp": "2020-04-13T16:00:00Z", "logwarden": {"family": "firewall"},
                                                 "event": {"type": ["connection", "allowed"]},
           "source": {"ip": "203.0.113.7"}, "destination": {"ip": "192.168.1.10", "port": 3389}}
    src.write_text(json.dumps(doc) + "\n")
    out = tmp_path / "alerts.jsonl"
    assert main(["hunt", str(src), "--format", "jsonl", "-o", str(out)]) == 0
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert [a["rule"]["id"] for a in alerts] == ["e3dc24c3-d2f4-4534-8adc-415963b2b3cd"]
    assert alerts[0]["event"]["kind"] == "alert" and alerts[0]["threat"]["technique"]["id"] == ["T1133"]


def test_hunt_missing_path(capsys) -> None:
    assert main(["hunt", "/no/such/file.evtx"]) == 2
