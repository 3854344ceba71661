"""Benign background that must raise no alert: office logons at the console and unlocks,
Windows updates and legitimate service installs, allowed outbound traffic through the SecGate
NAT and the hosts' firewalls, internet scans the perimeter denies, Huorong database updates.

`scale` multiplies the volume (sessions, updates and flows per host); everything is drawn from
the seeded `rng`, so a seed gives the same records. Spans 13 Apr 08:00 to 14 Apr 10:00, around
and through the incident.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from logwarden.replay import formats, site
from logwarden.replay.model import Record
from logwarden.replay.timeline import huorong, line, win
from logwarden.shippers.windows import synth

START = datetime(2020, 4, 13, 8, 0)
SPAN = timedelta(hours=26)
SITES = ("203.0.113.80", "198.51.100.53", "203.0.113.200", "198.51.100.140", "203.0.113.7")
PORTS = ((443, "tcp"), (443, "tcp"), (80, "tcp"), (53, "udp"), (123, "udp"))
SCANNED_PORTS = (23, 445, 1433, 8080, 22)
SERVICES = (("gupdate", '"C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe" /svc'),
            ("TrustedInstaller", "C:\\Windows\\servicing\\TrustedInstaller.exe"),
            ("MozillaMaintenance", '"C:\\Program Files (x86)\\Mozilla Maintenance Service\\maintenanceservice.exe"'),
            ("HipsDaemon", '"C:\\Program Files (x86)\\Huorong\\Sysdiag\\bin\\HipsDaemon.exe"'))
UPDATES = (("C:\\Windows\\System32\\wuauclt.exe", "wuauclt.exe /detectnow"),
           ("C:\\Windows\\servicing\\TiWorker.exe", "C:\\Windows\\winsxs\\amd64_microsoft-windows-servicingstack\\"
            "TiWorker.exe -Embedding"),
           ("C:\\Windows\\System32\\gpupdate.exe", "gpupdate /target:computer"))


def _at(rng: random.Random, day: datetime, first_hour: int, last_hour: int) -> datetime:
    return day + timedelta(hours=first_hour, seconds=rng.randrange((last_hour - first_hour) * 3600))


def office_sessions(rng: random.Random, scale: int) -> list[Record]:
    records = []
    for n, pc in enumerate(site.PCS):
        user = site.OFFICE_USERS[n % len(site.OFFICE_USERS)]
        for day in (START.replace(hour=0), START.replace(hour=0) + timedelta(days=1)):
            for _ in range(scale):
                t = _at(rng, day, 8, 10)
                logon_id = f"0x{rng.randrange(0x100000, 0xffffff):x}"
                records.append(win(t, pc, None, synth.security_4624, target_user=user, ip="127.0.0.1",
                                   logon_type=2, logon_id=logon_id, workstation=pc.name))
                records.append(win(_at(rng, day, 10, 12), pc, None, synth.security_4624, target_user=user,
                                   ip="127.0.0.1", logon_type=7, logon_id=logon_id, workstation=pc.name))
                records.append(win(_at(rng, day, 17, 19), pc, None, synth.security_4634, target_user=user,
                                   logon_type=2, logon_id=logon_id))
    return [r for r in records if START <= r.time < START + SPAN]


def updates_and_services(rng: random.Random, scale: int) -> list[Record]:
    records = []
    for host in site.HOSTS:
        for _ in range(scale):
            image, command = rng.choice(UPDATES)
            records.append(win(START + timedelta(seconds=rng.randrange(int(SPAN.total_seconds()))), host, None,
                               synth.security_4688, new_process_name=image, command_line=command,
                               parent_process_name="C:\\Windows\\System32\\svchost.exe", subject_user="SYSTEM"))
            name, path = rng.choice(SERVICES)
            t = START + timedelta(seconds=rng.randrange(int(SPAN.total_seconds())))
            records.append(win(t, host, None, synth.system_7045, service_name=name, image_path=path))
            records.append(win(t, host, None, synth.security_4697, service_name=name, service_file_name=path,
                               subject_user="SYSTEM"))
            if host.huorong:
                records.append(huorong(t, host, None, "update", {"db_time": f"{t:%Y-%m-%d} 08:00",
                                                                 "result": "成功"}))
    return records


def traffic(rng: random.Random, scale: int) -> list[Record]:
    records = []
    for host in site.HOSTS:
        for _ in range(20 * scale):
            t = START + timedelta(seconds=rng.randrange(int(SPAN.total_seconds())))
            dst = rng.choice(SITES)
            dport, proto = rng.choice(PORTS)
            sport = rng.randrange(49152, 65000)
            records.append(line(t, site.FIREWALL_NAME, "secgate", None, formats.secgate_pf(
                t, src=host.ip, sport=sport, dst=dst, dport=dport, proto=proto, policy="POLICY_NAT_PERMIT",
                rule_name="out-nat", nat=("198.51.100.20", rng.randrange(20000, 60000)),
                sent=rng.randrange(60, 9000), rcvd=rng.randrange(60, 90000))))
            records.append(line(t, host.name, "winfirewall", None, formats.winfirewall(
                t, action="ALLOW", proto=proto.upper(), src=host.ip, dst=dst, sport=sport, dport=dport,
                direction="SEND")))
    for _ in range(10 * scale):  # the internet knocking: denied at the perimeter
        t = START + timedelta(seconds=rng.randrange(int(SPAN.total_seconds())))
        records.append(line(t, site.FIREWALL_NAME, "secgate", None, formats.secgate_pf(
            t, src=f"45.{rng.randrange(1, 250)}.{rng.randrange(1, 250)}.{rng.randrange(1, 250)}",
            sport=rng.randrange(1024, 65000), dst=site.PUBLIC_IP[site.TAX_TEST.name],
            dport=rng.choice(SCANNED_PORTS), policy="POLICY_DENY", rule_name="default-deny")))
    return records


def background(rng: random.Random, scale: int = 1) -> list[Record]:
    """Benign records, `scale` times the base volume (scale >= 1)."""
    return [*office_sessions(rng, scale), *updates_and_services(rng, scale), *traffic(rng, scale)]
