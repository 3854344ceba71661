"""Native formats of the non-Windows sources, one function per format (Windows event XML comes
from `logwarden.shippers.windows.synth`). Each returns one record exactly as the device writes it;
the parsers in logwarden/shippers/<source>/ read them back (tests/replay check it).
"""

from __future__ import annotations

import calendar
import json
from datetime import datetime
from typing import Any

from logwarden.replay import site

WINFIREWALL_HEADER = ("#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n"
                      "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn "
                      "tcpack tcpwin icmptype icmpcode info path\n\n")
_SECGATE_PROTO = {"tcp": "IPPROTO_TCP", "udp": "IPPROTO_UDP"}


def secgate_pf(time: datetime, *, src: str, sport: int, dst: str, dport: int, proto: str = "tcp",
               policy: str = "POLICY_PERMIT", rule_name: str = "pf-out", nat: tuple[str, int] | None = None,
               sent: int = 52, rcvd: int = 52) -> str:
    """A Legendsec SecGate packet-filter log line (syslog from the `kernel` process); `nat` is the
    translated (pa, pport) of a NAT policy."""
    pa = f" pa={nat[0]} pport={nat[1]}" if nat else ""
    return (f"<6>{time:%b} {time.day:2d} {time:%H:%M:%S} {site.FIREWALL} kernel: devid=0 "
            f'date="{time:%Y/%m/%d %H:%M:%S}" dname={site.FIREWALL_NAME} logtype=1 pri=5 ver=0.3.0 '
            f"rule_name={rule_name} mod=pf sa={src} sport={sport} type=NULL da={dst} dport={dport} code=NULL "
            f"proto={_SECGATE_PROTO[proto]} policy={policy} duration=0 rcvd={rcvd} sent={sent}{pa} fwlog=0 "
            'dsp_msg="包过滤日志"')


def winfirewall(time: datetime, *, action: str, src: str, dst: str, sport: int, dport: int,
                direction: str, proto: str = "TCP", size: int = 0) -> str:
    """A Windows Firewall (pfirewall.log, W3C) line; `direction` SEND or RECEIVE."""
    return (f"{time:%Y-%m-%d %H:%M:%S} {action} {proto} {src} {dst} {sport} {dport} {size} - 0 0 0 - - - "
            f"{direction}")


def huorong_row(time: datetime, row_id: int, *, kind: str, detail: dict[str, Any]) -> str:
    """A Huorong log.db `HrLogV3` row exported as one JSON line (id, fname, ts, nested detail)."""
    ts = calendar.timegm(time.timetuple())
    return json.dumps({"id": row_id, "fname": kind, "ts": ts, "detail": json.dumps({"detail": detail},
                                                                                   ensure_ascii=False)},
                      ensure_ascii=False)
