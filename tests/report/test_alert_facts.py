"""Each alert carries the facts of its event (who, from where, on what, what) and where the
event came from, in ECS fields, event.reason and message, in every output format."""

from __future__ import annotations

import json
from pathlib import Path

from logwarden.cli import main
from logwarden.detection.engine import Detector
from logwarden.detection.hunt import hunt
from logwarden.shippers.windows import synth
from tests.report import events


def _by_rule(alerts: list[dict]) -> dict[str, dict]:
    return {a["rule"]["name"]: a for a in alerts}


def _write(tmp_path: Path, xml: list[str]) -> Path:
    path = tmp_path / "events.xml"
    path.write_text(synth.events(*xml), encoding="utf-8")
    return path


def test_single_event_alerts_carry_the_facts_and_the_record(tmp_path, ruleset) -> None:
    path = _write(tmp_path, events.incident())
    alerts, stats = hunt([path], Detector(ruleset))
    assert stats.dead == 0
    got = _by_rule(alerts)
    shadow = got["Shadow Copy Or Backup Destruction"]
    assert shadow["process"]["command_line"] == "vssadmin.exe delete shadows /all /quiet"
    assert shadow["process"]["executable"] == r"C:\Windows\System32\vssadmin.exe"
    assert shadow["logwarden"]["source"] == {"file": str(path), "record": "500"}
    service = next(a for a in alerts if a.get("service", {}).get("name") == "securebootthemes")
    assert service["winlog"]["event_data"]["ImagePath"] == r"C:\Windows\Fonts\securebootthemes.exe"
    assert service["logwarden"]["source"]["record"] == "501"
    av = got["Microsoft Defender Detected Malware"]
    assert av["threat"]["software"]["name"] == "Ransom:Win32/Phobos.PA"
    assert av["file"]["path"] == r"C:\Users\Public\1.exe"
    for a in alerts:
        assert a["host"]["name"] == events.HOST
        assert a["event"]["reason"] != a["rule"]["name"]
        assert a["message"].startswith(a["rule"]["name"] + ": ")
        assert f"{path} record" in a["event"]["reason"]
    assert "securebootthemes (C:\\Windows\\Fonts\\securebootthemes.exe)" in service["event"]["reason"]
    assert "threat Ransom:Win32/Phobos.PA" in av["event"]["reason"]


def test_a_correlation_alert_names_the_attacker_the_account_and_the_last_record(tmp_path, ruleset) -> None:
    path = _write(tmp_path, events.brute_force(20))
    alerts, _ = hunt([path], Detector(ruleset))
    brute = _by_rule(alerts)["Logon Brute Force From One Source"]
    assert brute["source"]["ip"] == events.ATTACKER
    assert brute["source"]["domain"] == "KALI"
    assert brute["user"]["name"] == "administrator"
    assert brute["sigma"]["count"] == 20
    assert brute["logwarden"]["source"] == {"file": str(path), "record": "20"}
    assert brute["event"]["reason"].startswith(f"20 events with source.ip={events.ATTACKER} from ")


def test_stream_alerts_say_topic_partition_and_offset(tmp_path, ruleset) -> None:
    from logwarden.shippers.base import Event
    from logwarden.shippers.windows import iter_file

    path = _write(tmp_path, events.incident()[:1])
    [event] = list(iter_file(path))
    assert isinstance(event, Event)
    origin = {"topic": "logwarden.windows", "partition": 2, "offset": 4711}
    [alert] = Detector(ruleset).process(event.doc, event.id, origin)
    assert alert["logwarden"]["source"] == origin
    assert "[logwarden.windows/2@4711]" in alert["event"]["reason"]


def test_jsonl_and_table_carry_the_facts(tmp_path, capsys) -> None:
    path = _write(tmp_path, events.incident())
    out = tmp_path / "alerts.jsonl"
    assert main(["hunt", str(path), "--format", "jsonl", "-o", str(out)]) == 0
    docs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {d.get("threat", {}).get("software", {}).get("name") for d in docs} >= {"Ransom:Win32/Phobos.PA"}
    capsys.readouterr()
    assert main(["hunt", str(path), "--format", "table"]) == 0
    table = capsys.readouterr().out
    assert "vssadmin.exe delete shadows /all /quiet" in table
    assert f"{path} record 500" in table
