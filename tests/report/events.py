"""Windows events for the report tests, written as event XML by shippers/windows/synth.py:
one per kind of fact (logon source, process, service, AV threat) and a brute force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from logwarden.shippers.windows import synth

T0 = datetime(2026, 4, 13, 23, 40, 0, tzinfo=UTC)
HOST = "FS01"
ATTACKER = "185.220.101.47"


def brute_force(n: int = 25, first_record: int = 1) -> list[str]:
    """`n` failed RDP logons from ATTACKER, one every two seconds."""
    return [synth.security_4625(HOST, T0 + timedelta(seconds=2 * i), first_record + i, target_user="administrator",
                                ip=ATTACKER, port=str(50000 + i), workstation="KALI") for i in range(n)]


def incident(service_name: str = "securebootthemes", image_path: str = r"C:\Windows\Fonts\securebootthemes.exe",
             command_line: str = "vssadmin.exe delete shadows /all /quiet",
             threat: str = "Ransom:Win32/Phobos.PA") -> list[str]:
    """A shadow-copy deletion, a miner service install and a Defender detection."""
    return [
        synth.sysmon_1(HOST, T0 + timedelta(minutes=30), 500, image=r"C:\Windows\System32\vssadmin.exe",
                       command_line=command_line, parent_image=r"C:\Windows\System32\cmd.exe",
                       user="FS01\\Administrator"),
        synth.system_7045(HOST, T0 + timedelta(minutes=31), 501, service_name=service_name, image_path=image_path),
        synth.defender_1116(HOST, T0 + timedelta(minutes=32), 502, threat_name=threat,
                            path=r"C:\Users\Public\1.exe", process_name=r"C:\Windows\explorer.exe",
                            detection_user="FS01\\Administrator"),
    ]
