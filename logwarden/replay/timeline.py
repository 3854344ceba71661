"""The attacker's records, INCIDENT.md row by row (local time 2020-04-13/14, see `model`).

Each function returns the records of one row; `incident(rng)` all of them. `rng` varies only the
attacker's source ports and the order of guessed user names, so a seed changes details, never
what is detected.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from logwarden.replay import formats, site
from logwarden.replay.model import WINDOWS, Record
from logwarden.shippers.windows import synth

DAY = datetime(2020, 4, 14)
GUESSED_USERS = ("administrator", "admin", "Administrator", "test", "user", "guest", "sa", "server", "fp",
                 "tax", "backup", "support")


def win(time: datetime, host: site.Host, row: str | None, make: Callable[..., str], **fields: Any) -> Record:
    """A Windows event record; `make` is a synth function, called with its EventRecordID later."""
    return Record(time, host.name, WINDOWS, lambda rid: make(host.name, time, rid, **fields), row)


def line(time: datetime, host: str, source: str, row: str | None, text: str) -> Record:
    """A text-log record (its line needs no sequence number)."""
    return Record(time, host, source, lambda _rid: text, row)


def huorong(time: datetime, host: site.Host, row: str | None, kind: str, detail: dict[str, Any]) -> Record:
    return Record(time, host.name, "huorong", partial(_huorong, time, kind, detail), row)


def _huorong(time: datetime, kind: str, detail: dict[str, Any], row_id: int) -> str:
    return formats.huorong_row(time, row_id, kind=kind, detail=detail)


def rdp_in(time: datetime, row: str, attacker: str, port: int, host: site.Host) -> Record:
    """The perimeter's NAT log of an inbound RDP connection to the mapped 3389."""
    return line(time, site.FIREWALL_NAME, "secgate", row, formats.secgate_pf(
        time, src=attacker, sport=port, dst=site.PUBLIC_IP[host.name], dport=3389, policy="POLICY_NAT_PERMIT",
        rule_name="rdp-map", nat=(host.ip, 3389)))


def vendor_rdp(rng: random.Random) -> list[Record]:
    t = DAY - timedelta(hours=4, minutes=48)  # 13 Apr 19:12
    port = rng.randrange(49152, 65000)
    return [rdp_in(t, "vendor-rdp", site.VENDOR_IP, port, site.TAX_PROD),
            win(t + timedelta(seconds=3), site.TAX_PROD, "vendor-rdp", synth.security_4624,
                target_user=site.ADMIN, ip=site.VENDOR_IP, port=str(port), logon_type=10, logon_id="0x3e71a2")]


def rdp_bruteforce(rng: random.Random) -> list[Record]:
    row, host = "rdp-bruteforce", site.TAX_PROD
    start = DAY + timedelta(minutes=3)
    users = list(GUESSED_USERS)
    rng.shuffle(users)
    records = []
    for i in range(36):
        t = start + timedelta(seconds=4 * i)
        port = rng.randrange(49152, 65000)
        records.append(rdp_in(t, row, site.ATTACKER_IP, port, host))
        records.append(win(t + timedelta(milliseconds=400), host, row, synth.security_4625,
                           target_user=users[i % len(users)], ip=site.ATTACKER_IP, port=str(port)))
    t = start + timedelta(minutes=4)
    port = rng.randrange(49152, 65000)
    records.append(rdp_in(t, row, site.ATTACKER_IP, port, host))
    records.append(win(t + timedelta(seconds=1), host, row, synth.security_4624, target_user=site.ADMIN,
                       ip=site.ATTACKER_IP, port=str(port), logon_type=10, logon_id="0x5a3c1f"))
    return records


def internal_spray(rng: random.Random) -> list[Record]:
    row, source = "internal-spray", site.TAX_PROD
    targets = [site.TAX_TEST, site.FILE01, site.DB01, site.APP01, *site.PCS[:4]]
    start = DAY + timedelta(minutes=22)
    records = []
    for n, target in enumerate(targets):
        t = start + timedelta(seconds=20 * n)
        for attempt in range(3):
            port = rng.randrange(49152, 65000)
            records.append(win(t + timedelta(seconds=attempt), target, row, synth.security_4625,
                               target_user=site.ADMIN, ip=source.ip, port=str(port), logon_type=3,
                               workstation=source.name))
        port = rng.randrange(49152, 65000)
        records.append(win(t + timedelta(seconds=5), target, row, synth.security_4624, target_user=site.ADMIN,
                           ip=source.ip, port=str(port), logon_type=3, workstation=source.name,
                           logon_id=f"0x{0x7a0000 + n:x}"))
        records.append(line(t + timedelta(seconds=5), target.name, "winfirewall", row, formats.winfirewall(
            t + timedelta(seconds=5), action="ALLOW", src=source.ip, dst=target.ip, sport=port, dport=445,
            direction="RECEIVE")))
    return records


def _process(time: datetime, host: site.Host, row: str, image: str, command_line: str) -> Record:
    return win(time, host, row, synth.security_4688, new_process_name=image, command_line=command_line,
               parent_process_name="C:\\Windows\\System32\\cmd.exe", subject_user=site.ADMIN)


def log_clearing(rng: random.Random) -> list[Record]:
    row, host = "log-clearing", site.TAX_PROD
    t = DAY + timedelta(minutes=48)
    wevtutil = "C:\\Windows\\System32\\wevtutil.exe"
    return [_process(t, host, row, wevtutil, "wevtutil.exe cl System"),
            win(t + timedelta(seconds=1), host, row, synth.system_104, subject_user=site.ADMIN),
            _process(t + timedelta(seconds=2), host, row, wevtutil, "wevtutil.exe cl Security"),
            win(t + timedelta(seconds=3), host, row, synth.security_1102, subject_user=site.ADMIN)]


def shadow_deletion(rng: random.Random) -> list[Record]:
    row, t = "shadow-deletion", DAY + timedelta(minutes=55)
    commands = (("C:\\Windows\\System32\\vssadmin.exe", "vssadmin delete shadows /all /quiet"),
                ("C:\\Windows\\System32\\wbem\\WMIC.exe", "wmic shadowcopy delete"),
                ("C:\\Windows\\System32\\bcdedit.exe", "bcdedit /set {default} recoveryenabled no"),
                ("C:\\Windows\\System32\\bcdedit.exe", "bcdedit /set {default} bootstatuspolicy ignoreallfailures"),
                ("C:\\Windows\\System32\\wbadmin.exe", "wbadmin delete catalog -quiet"))
    return [_process(t + timedelta(seconds=2 * n), host, row, image, cmd)
            for host in (site.TAX_PROD, site.TAX_TEST) for n, (image, cmd) in enumerate(commands)]


FOLDERS = ("C:\\TaxInvoice\\data", "C:\\TaxInvoice\\backup", "C:\\Users\\Administrator\\Documents",
           "C:\\Users\\Administrator\\Desktop", "D:\\Shares\\Finance")
DOCUMENTS = ("invoice", "ledger", "report", "contract", "payroll", "tax", "budget", "scan")
EXTENSIONS = ("xlsx", "docx", "pdf", "mdb", "jpg")


def encryption(rng: random.Random) -> list[Record]:
    row, records = "encryption", []
    image = "C:\\Users\\Administrator\\AppData\\Local\\eight.exe"
    for host in (site.TAX_PROD, site.TAX_TEST):
        t = DAY + timedelta(minutes=57)
        for folder in FOLDERS:
            for note in ("info.hta", "info.txt"):
                records.append(win(t, host, row, synth.sysmon_11, image=image, target_filename=f"{folder}\\{note}",
                                   user=f"{host.name}\\{site.ADMIN}"))
                t += timedelta(milliseconds=150)
            for n in range(12):
                name = f"{rng.choice(DOCUMENTS)}_{n:03d}.{rng.choice(EXTENSIONS)}"
                records.append(win(t, host, row, synth.sysmon_11, image=image,
                                   target_filename=f"{folder}\\{name}{site.PHOBOS_SUFFIX}",
                                   user=f"{host.name}\\{site.ADMIN}"))
                t += timedelta(milliseconds=150)
    return records


def miner(rng: random.Random) -> list[Record]:
    """WannaMine: from SRV-APP01 over SMB to the whole subnet, the service on every host it took,
    Huorong and Defender detections where they ran."""
    row, spreader = "miner", site.APP01
    start = DAY + timedelta(hours=1, minutes=40)
    records = []
    for n in range(24):  # SMB sweep seen by the spreader's own Windows Firewall log
        dst = f"192.168.10.{20 + n * 5 % 200}"
        records.append(line(start + timedelta(seconds=n), spreader.name, "winfirewall", row, formats.winfirewall(
            start + timedelta(seconds=n), action="ALLOW", src=spreader.ip, dst=dst,
            sport=rng.randrange(49152, 65000), dport=445, direction="SEND")))
    infected = [spreader, site.FILE01, site.DB01, *site.PCS]
    for n, host in enumerate(infected):
        t = start + timedelta(minutes=2 + 3 * n)
        records.append(win(t, host, row, synth.system_7045, service_name=site.MINER_SERVICE,
                           image_path=f"{site.MINER_IMAGE} -k netsvcs"))
        records.append(win(t, host, row, synth.security_4697, service_name=site.MINER_SERVICE,
                           service_file_name=f"{site.MINER_IMAGE} -k netsvcs", subject_user="SYSTEM"))
        if host.huorong:
            records.append(huorong(t + timedelta(minutes=1), host, row, "filemon", {
                "virus_name": "Trojan/CoinMiner.WannaMine.c", "pathname": site.MINER_IMAGE,
                "procname": "C:\\Windows\\System32\\svchost.exe", "p_procname": "C:\\Windows\\System32\\services.exe",
                "treatment": "已隔离"}))
    records.append(win(start + timedelta(minutes=10), site.FILE01, row, synth.defender_1116,
                       threat_name="Trojan:Win32/CoinMiner.WannaMine!MTB", path=f"file:_{site.MINER_IMAGE}",
                       process_name="C:\\Windows\\System32\\svchost.exe", detection_user="NT AUTHORITY\\SYSTEM"))
    return records


ROW_RECORDS: dict[str, Callable[[random.Random], list[Record]]] = {
    "vendor-rdp": vendor_rdp, "rdp-bruteforce": rdp_bruteforce, "internal-spray": internal_spray,
    "log-clearing": log_clearing, "shadow-deletion": shadow_deletion, "encryption": encryption,
    "disconnect": lambda rng: [], "miner": miner,
}


def incident(rng: random.Random, rows: tuple[str, ...] | None = None) -> list[Record]:
    """The records of `rows` (default every row), in row order."""
    return [record for key, make in ROW_RECORDS.items() if rows is None or key in rows for record in make(rng)]
