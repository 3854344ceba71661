"""The incident's firewall and antivirus Sigma rules (sigma_rules/firewall, sigma_rules/antivirus)
fire on the incident's own devices: `logwarden parse --source auto` (and `--source huorong` for the
AV's rows) then `logwarden hunt`, as a user runs them, no servers. Each rule fires on exactly the
lines it should, per device."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from tests.support.paths import ROOT

from .lines import (
    HUORONG_AV_RULES,
    HUORONG_ROWS,
    RDP_ALLOWED,
    RDP_NOT,
    RDP_SOURCES,
    SMB_SPREADERS,
    firewall_lines,
    huorong_jsonl,
)

RDP = "Inbound RDP Allowed From A Public Address"
SMB_SPREAD = "One Internal Source Reaching Many Hosts On SMB"
AV = "Antivirus Detection"
MINER = "Antivirus Detected A Cryptominer"
BRUTE = "Endpoint Protection Reports A Brute-Force Attack"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logwarden.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def _parse(source: str, path: Path) -> list[dict[str, Any]]:
    parsed = _cli("parse", "--source", source, "--with-id", str(path))
    assert parsed.returncode == 0, parsed.stderr[-2000:]  # every line parsed, none dead-lettered
    return [json.loads(ln) for ln in parsed.stdout.splitlines()]


def test_incident_rules_fire_on_the_devices_of_the_case(tmp_path: Path) -> None:
    fw_log, av_log = tmp_path / "devices.log", tmp_path / "huorong.jsonl"
    lines = firewall_lines()
    fw_log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    av_log.write_text(huorong_jsonl(), encoding="utf-8")
    docs = _parse("auto", fw_log) + _parse("huorong", av_log)
    assert len(docs) == len(lines) + len(HUORONG_ROWS)
    by_id = {d["event"]["id"]: d for d in docs}
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")

    hunt = _cli("hunt", str(jsonl), "--format", "jsonl", "--rules", str(ROOT / "sigma_rules" / "firewall"),
                "--rules", str(ROOT / "sigma_rules" / "antivirus"), "--no-cache")
    assert hunt.returncode in (0, 1), hunt.stderr[-2000:]
    fired: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
    for line in hunt.stdout.splitlines():
        if line.startswith("{"):
            alert = json.loads(line)
            fired[alert["rule"]["name"]].append([by_id[i] for i in alert["sigma"]["events"]])
    events = {rule: [d for group in groups for d in group] for rule, groups in fired.items()}

    rdp_by_device: dict[str, set[str]] = defaultdict(set)
    for doc in events[RDP]:
        rdp_by_device[doc["event"]["module"]].add(doc["source"]["ip"])
    assert rdp_by_device == RDP_SOURCES
    assert len(events[RDP]) == sum(len(group) for group in RDP_ALLOWED.values())
    not_firing = {d["event"]["original"] for d in events[RDP]} & set(RDP_NOT)
    assert not_firing == set()

    spreaders = {(d["event"]["module"], d["source"]["ip"]) for d in events[SMB_SPREAD]}
    assert spreaders == {(device, ip) for device, ip in SMB_SPREADERS.items()}
    assert len(fired[SMB_SPREAD]) >= len(SMB_SPREADERS)

    assert sorted(d["rule"]["name"] for d in events[AV]) == sorted(HUORONG_AV_RULES)
    assert [d["rule"]["name"] for d in events[MINER]] == ["Trojan/CoinMiner.WannaMine.c"]
    brute = [d for d in docs if d["event"].get("action") == "brute-force-detected"]
    assert [(d["source"]["ip"], d["event"]["kind"]) for d in brute] == [("203.0.113.100", "alert")]
    # Huorong's brute-force protection raises an alert of its own, only on its brute-force row
    assert [(d["source"]["ip"], d["network"]["protocol"]) for d in events[BRUTE]] == [("203.0.113.100", "rdp")]
