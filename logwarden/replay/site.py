"""The invented site of INCIDENT.md: hosts, addresses, the perimeter NAT, the attacker.

Addresses: the LAN is 192.168.10.0/24; the public side and the internet use documentation
ranges (RFC 5737) and one Tor-exit-like address, never a real target.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Host:
    name: str
    ip: str
    huorong: bool = False  # a free consumer AV (火绒) is installed
    server: bool = True


TAX_PROD = Host("WIN-TAX-PROD", "192.168.10.21")
TAX_TEST = Host("WIN-TAX-TEST", "192.168.10.22")
FILE01 = Host("SRV-FILE01", "192.168.10.30")
DB01 = Host("SRV-DB01", "192.168.10.31")
APP01 = Host("SRV-APP01", "192.168.10.32")
PCS = tuple(Host(f"PC-OFFICE{n:02d}", f"192.168.10.{100 + n}", huorong=n % 2 == 1, server=False)
            for n in range(1, 9))
SERVERS = (TAX_PROD, TAX_TEST, FILE01, DB01, APP01)
HOSTS = SERVERS + PCS

PUBLIC_IP = {TAX_PROD.name: "198.51.100.21", TAX_TEST.name: "198.51.100.22"}  # RDP mapped 3389 -> 3389
FIREWALL = "192.168.10.1"  # the Legendsec SecGate (its syslog host field)
FIREWALL_NAME = "secgate-edge"
VENDOR_IP = "203.0.113.10"  # the software vendor's maintenance address
ATTACKER_IP = "185.220.101.47"
ADMIN = "Administrator"
PHOBOS_SUFFIX = ".id[2C7BD37B-2803].[mccreight.ellery@tutanota.com].eight"
MINER_SERVICE = "securebootthemes"
MINER_IMAGE = "C:\\Windows\\System32\\securebootthemes.exe"
OFFICE_USERS = ("zhang.wei", "li.na", "wang.fang", "liu.yang", "chen.jing", "zhao.lei", "sun.li", "zhou.min")
