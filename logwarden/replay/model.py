"""What the replay generates: `Record`s (one native log record each) and the incident's rows.

A record's `payload` renders it in its source's native format (one event XML element, one
syslog line, one pfirewall.log line, one Huorong row as JSON) given its sequence number in its
file (Windows' EventRecordID, Huorong's row id; line formats ignore it): `writers` sorts each
file's records by time and numbers them, so ids follow time as on a real host.
`row` names the INCIDENT.md timeline row a record belongs to (None: benign background).

Clock: the replay writes the site's local time (INCIDENT.md's clock, 2020-04-13/14) as UTC, so
with the default LOGWARDEN_LOG_TZ (UTC) every source's @timestamp reads like the write-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

WINDOWS = "windows"  # the Windows shipper (event XML); the text sources use their registry names


@dataclass(frozen=True, slots=True)
class Record:
    time: datetime
    host: str
    source: str  # WINDOWS or a registered text source's name (secgate, winfirewall, huorong)
    payload: Callable[[int], str]
    row: str | None = None


@dataclass(frozen=True, slots=True)
class Row:
    """One INCIDENT.md timeline row: its key, its time cell as INCIDENT.md writes it, what
    happened, and the titles of the rules that must fire on its records (empty: the row leaves
    no evidence to detect)."""

    key: str
    when: str
    what: str
    rules: tuple[str, ...]


ROWS: tuple[Row, ...] = (
    Row("vendor-rdp", "13 Apr after 19:00", "vendor logs in over RDP from the internet",
        ("RDP Logon From A Public Address", "Inbound RDP Allowed From A Public Address")),
    Row("rdp-bruteforce", "before 14 Apr 00:22", "attacker brute-forces the mapped 3389, then logs in",
        ("Logon Brute Force From One Source", "Password Spraying From One Source",
         "Brute Force Followed By A Successful Logon", "RDP Logon From A Public Address",
         "Inbound RDP Allowed From A Public Address")),
    Row("internal-spray", "14 Apr 00:22 onward", "the compromised server sprays logons at internal servers",
        ("Internal Host Logging On To Many Hosts",)),
    Row("log-clearing", "before 00:57", "the attacker clears the event logs",
        ("Event Log Clearing Command", "Security Event Log Cleared", "Event Log Cleared (System 104)")),
    Row("shadow-deletion", "(Phobos routine)", "shadow copies and backups deleted",
        ("Shadow Copy Or Backup Destruction",)),
    Row("encryption", "14 Apr 00:57", "Phobos encrypts files and drops ransom notes",
        ("Phobos Encrypted File Name", "Ransom Note Created", "Mass File Creation With One New Extension")),
    Row("disconnect", "14 Apr 09:44", "the customer disconnects the infected VMs", ()),
    Row("miner", "during clean-up", "WannaMine spreads over SMB as the service securebootthemes",
        ("Cryptominer Service Installed (System 7045)", "Cryptominer Service Installed (Security 4697)",
         "One Internal Source Reaching Many Hosts On SMB", "Antivirus Detection",
         "Antivirus Detected A Cryptominer",
         "Microsoft Defender Detected A Cryptominer", "Microsoft Defender Detected Malware")),
)
ROW_KEYS = tuple(row.key for row in ROWS)
