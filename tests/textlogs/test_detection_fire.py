"""The firewall and antivirus Sigma rules (sigma_rules/firewall, sigma_rules/antivirus) fire on
documents produced by these parsers from realistic device lines: `logwarden parse --source auto
--with-id` then `logwarden hunt --format jsonl`, both as a user runs them (no servers)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from tests.support.paths import ROOT

RDP = "Inbound RDP Allowed From A Public Address"
SMB_SPREAD = "One Internal Source Reaching Many Hosts On SMB"
AV = "Antivirus Detection"
MINER = "Antivirus Detected A Cryptominer"

FIREWALL = [
    # inbound RDP allowed from public addresses, four vendors
    '<190>date=2020-04-14 time=00:20:11 devname="FG100E" devid="FG100ETK18000001" logid="0000000013" '
    'type="traffic" subtype="forward" level="notice" vd="root" srcip=203.0.113.45 srcport=51234 srcintf="wan1" '
    'srcintfrole="wan" dstip=192.168.10.21 dstport=3389 dstintf="port2" dstintfrole="lan" policyid=12 '
    'policyname="RDP-publish" action="accept" proto=6 service="RDP" sentbyte=4200 rcvdbyte=9800',
    "<4>Apr 14 00:20:12 gw01 kernel: [1234567.890123] FWD-ACCEPT: IN=eth0 OUT=eth1 SRC=203.0.113.46 "
    "DST=192.168.10.21 LEN=52 TOS=0x00 PREC=0x00 TTL=113 ID=31337 DF PROTO=TCP SPT=51235 DPT=3389 WINDOW=8192 "
    "RES=0x00 SYN URGP=0",
    "<166>Apr 14 2020 00:20:13: %ASA-6-302013: Built inbound TCP connection 1234 for outside:203.0.113.47/51236 "
    "(203.0.113.47/51236) to inside:192.168.10.21/3389 (198.51.100.21/3389)",
    "2020-04-14 00:20:14 ALLOW TCP 203.0.113.48 192.168.10.21 51237 3389 0 - 0 0 0 - - - RECEIVE",
    # must not fire: denied, and allowed from a private address
    "2020-04-14 00:20:15 DROP TCP 203.0.113.49 192.168.10.21 51238 3389 52 S 1234567 0 8192 - - - RECEIVE",
    "2020-04-14 00:20:16 ALLOW TCP 10.1.2.3 192.168.10.21 51239 3389 0 - 0 0 0 - - - RECEIVE",
]
# one internal host reaching 25 others on 445 within a minute (WannaMine spreading)
SMB = [f"<4>Apr 14 00:30:{i:02d} gw01 kernel: FWD-ACCEPT: IN=eth1 OUT=eth1 SRC=192.168.10.21 "
       f"DST=192.168.10.{100 + i} LEN=52 TOS=0x00 PREC=0x00 TTL=127 ID=1 DF PROTO=TCP SPT={50000 + i} DPT=445 "
       "WINDOW=8192 RES=0x00 SYN URGP=0" for i in range(25)]
ANTIVIRUS = [
    "Tue Apr 14 00:57:00 2020 -> /srv/share/finance/eight.exe: Win.Ransomware.Phobos-9843210-0 FOUND",
    "<30>Apr 14 00:58:10 srv01 clamd[812]: /home/user/Downloads/securebootthemes.exe: Win.Coinminer.WannaMine-6 FOUND",
    "<54>Apr 14 09:10:00 sepm01 SymantecServer: Security risk found,IP Address: 192.168.10.30,Computer name: PC-07,"
    "Source: Scheduled Scan,Risk name: PUA.CoinMiner,Occurrences: 1,File path: "
    "C:\\Windows\\System32\\securebootthemes.exe,Actual action: Left alone,Requested action: Quarantined,"
    "Event time: 2020-04-14 09:09:58,User Name: SYSTEM",
    '<14>1 2020-04-14T01:10:00.000Z esmc.local ERAServer 1234 - - {"event_type":"Threat_Event",'
    '"ipv4":"192.168.10.30","hostname":"pc-07","occured":"14-Apr-2020 01:10:00","severity":"Warning",'
    '"threat_type":"potentially unwanted application","threat_name":"Win64/CoinMiner.WannaMine",'
    '"object_uri":"file:///C:/Windows/System32/securebootthemes.exe","action_taken":"retained",'
    '"threat_handled":false,"username":"NT AUTHORITY\\\\SYSTEM",'
    '"processname":"C:\\\\Windows\\\\System32\\\\svchost.exe"}',
]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logwarden.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_firewall_and_av_rules_fire_on_parsed_documents(tmp_path: Path) -> None:
    log = tmp_path / "devices.log"
    log.write_text("\n".join(FIREWALL + SMB + ANTIVIRUS) + "\n", encoding="utf-8")
    parsed = _cli("parse", "--source", "auto", "--with-id", str(log))
    assert parsed.returncode == 0, parsed.stderr  # every line parsed
    docs = [json.loads(ln) for ln in parsed.stdout.splitlines()]
    assert len(docs) == len(FIREWALL) + len(SMB) + len(ANTIVIRUS)
    assert {d["logwarden"]["family"] for d in docs} == {"firewall", "av"}
    assert {d["event"]["dataset"] for d in docs} >= {"cisco_asa.log", "fortinet_fortigate.log"}  # Elastic's names
    by_id = {d["event"]["id"]: d for d in docs}
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text(parsed.stdout, encoding="utf-8")

    hunt = _cli("hunt", str(jsonl), "--format", "jsonl", "--rules", str(ROOT / "sigma_rules" / "firewall"),
                "--rules", str(ROOT / "sigma_rules" / "antivirus"), "--no-cache")
    assert hunt.returncode in (0, 1), hunt.stderr
    alerts = [json.loads(ln) for ln in hunt.stdout.splitlines() if ln.startswith("{")]
    fired: dict[str, list[dict]] = defaultdict(list)
    for alert in alerts:
        fired[alert["rule"]["name"]].append(alert)

    def modules(rule: str) -> list[str]:
        return sorted(by_id[i]["event"]["module"] for a in fired[rule] for i in a["sigma"]["events"])

    assert modules(RDP) == ["cisco_asa", "fortinet_fortigate", "iptables", "winfirewall"]
    assert {by_id[i]["source"]["ip"] for a in fired[RDP] for i in a["sigma"]["events"]} == \
        {"203.0.113.45", "203.0.113.46", "203.0.113.47", "203.0.113.48"}
    assert len(fired[SMB_SPREAD]) >= 1
    assert {by_id[i]["source"]["ip"] for a in fired[SMB_SPREAD] for i in a["sigma"]["events"]} == {"192.168.10.21"}
    assert modules(AV) == ["clamav", "clamav", "eset", "symantec_endpoint"]
    assert modules(MINER) == ["clamav", "eset", "symantec_endpoint"]
