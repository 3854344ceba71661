"""The incident sample the dashboard panels are run against (INCIDENT.md, our own data only):
Windows event XML from synth.py, FortiGate and ClamAV lines in the formats of the shippers'
golden inputs."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from logwarden.shippers.windows import synth

ATTACKER = "185.220.101.47"  # internet address brute-forcing RDP
VICTIM = "WIN-TAX-PROD"
VICTIM_IP = "10.10.0.21"  # the compromised server, spraying logons inside
SPRAY_TARGETS = ("WIN-TAX-TEST", "SRV-FILE01", "SRV-DB01", "SRV-APP01", "SRV-APP02", "PC-FIN-07")
MINER_HOST = "SRV-FILE01"
SMB_WORM = "10.10.0.33"  # fans out to many SMB destinations
SMB_BUSY = "10.10.0.40"  # more SMB connections than the worm, but to a single file server
START = datetime(2020, 4, 13, 16, 5, 0)  # 14 Apr 00:05 China time, in UTC
PHOBOS_NAME = "budget.xlsx.id[2C7BD37B-2803].[mccreight.ellery@tutanota.com].eight"


def windows_xml(folder: Path) -> Path:
    xml: list[str] = []
    rec = 5000

    def nxt() -> int:
        nonlocal rec
        rec += 1
        return rec

    t = START
    for i in range(30):
        xml.append(synth.security_4625(VICTIM, t + timedelta(seconds=2 * i), nxt(),
                                       target_user=("administrator", "admin", "test")[i % 3], ip=ATTACKER,
                                       port=str(50000 + i)))
    xml.append(synth.security_4624(VICTIM, t + timedelta(minutes=2), nxt(), target_user="Administrator",
                                   ip=ATTACKER, port="50222", logon_type=10))
    t = START + timedelta(minutes=17)
    for n, host in enumerate(SPRAY_TARGETS):
        xml.append(synth.security_4625(host, t + timedelta(seconds=n), nxt(), target_user="Administrator",
                                       ip=VICTIM_IP, logon_type=3))
        xml.append(synth.security_4624(host, t + timedelta(seconds=n, milliseconds=500), nxt(),
                                       target_user="Administrator", ip=VICTIM_IP, logon_type=3))
    t = START + timedelta(minutes=40)
    xml.append(synth.security_1102(VICTIM, t, nxt(), subject_user="Administrator"))
    xml.append(synth.system_104(VICTIM, t + timedelta(seconds=1), nxt(), subject_user="Administrator"))
    xml.append(synth.security_4688(VICTIM, t - timedelta(seconds=5), nxt(),
                                   new_process_name="C:\\Windows\\System32\\wevtutil.exe",
                                   command_line="wevtutil cl System",
                                   parent_process_name="C:\\Windows\\System32\\cmd.exe"))
    xml.append(synth.sysmon_1(VICTIM, t + timedelta(minutes=5), nxt(),
                              image="C:\\Windows\\System32\\vssadmin.exe",
                              command_line="vssadmin delete shadows /all /quiet",
                              parent_image="C:\\Windows\\System32\\cmd.exe", user=f"{VICTIM}\\Administrator"))
    t = START + timedelta(minutes=52)
    phobos = "C:\\Users\\Administrator\\AppData\\Local\\eight.exe"
    for folder_name in ("C:\\Users\\Public\\Desktop", "D:\\Finance", "D:\\Invoices"):
        xml.append(synth.sysmon_11(VICTIM, t, nxt(), image=phobos, target_filename=f"{folder_name}\\info.hta"))
        xml.append(synth.sysmon_11(VICTIM, t, nxt(), image=phobos, target_filename=f"{folder_name}\\info.txt"))
    xml.append(synth.sysmon_11(VICTIM, t + timedelta(seconds=3), nxt(), image=phobos,
                               target_filename=f"D:\\Finance\\{PHOBOS_NAME}"))
    for host in (VICTIM, MINER_HOST):
        xml.append(synth.system_7045(host, t + timedelta(hours=8), nxt(), service_name="securebootthemes",
                                     image_path="C:\\Windows\\System32\\svchost.exe -k netsvcs"))
    xml.append(synth.security_4697(MINER_HOST, t + timedelta(hours=8), nxt(), service_name="securebootthemes",
                                   service_file_name="C:\\Windows\\System32\\svchost.exe -k netsvcs"))
    xml.append(synth.defender_1116(MINER_HOST, t + timedelta(hours=8, minutes=1), nxt(),
                                   threat_name="Trojan:Win32/CoinMiner.A", path="C:\\Windows\\Temp\\mssecsvc.exe",
                                   process_name="C:\\Windows\\System32\\svchost.exe", detection_user="SYSTEM"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "incident.xml"
    path.write_text(synth.events(*xml), encoding="utf-8")
    return path


def _fg(time: str, src: str, dst: str, dport: int, action: str = "accept", extra: str = "") -> str:
    return (f'date=2020-04-14 time={time} devname="FG100E-EDGE" devid="FG100ETK18000001" logid="0000000013" '
            f'type="traffic" subtype="forward" level="notice" vd="root" tz="+0800" srcip={src} srcport=51234 '
            f'srcintf="internal" srcintfrole="lan" dstip={dst} dstport={dport} dstintf="internal" '
            f'dstintfrole="lan" proto=6 action="{action}" policyid=7 service="SMB"{extra}')


def fortigate_log(folder: Path, golden: Path) -> Path:
    """The FortiGate golden input (inbound RDP from the internet, denies, bad lines) plus SMB fan-out."""
    extra = [_fg(f"01:10:{n:02d}", SMB_WORM, f"10.10.0.{100 + n}", 445) for n in range(8)]
    extra += [_fg(f"01:11:{n:02d}", SMB_BUSY, "10.10.0.5", 445) for n in range(12)]
    raw = golden.read_bytes()  # kept as bytes: the golden input has deliberately broken encodings
    path = folder / "fortigate.log"
    path.write_bytes(raw.rstrip(b"\n") + b"\n" + "\n".join(extra).encode() + b"\n")
    return path
