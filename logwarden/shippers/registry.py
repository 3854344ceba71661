"""Parsers by source name, for `logwarden parse --source NAME` and `logwarden ship file`.

Each entry is "module:function"; the function takes (path: str, data: BinaryIO) and yields
`Event | DeadLetter`. Imported lazily so one broken parser cannot break the CLI.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from logwarden.shippers.base import DeadLetter, Event

ParseFn = Callable[[str, BinaryIO], Iterator[Event | DeadLetter]]

PARSERS: dict[str, str] = {
    "windows": "logwarden.shippers.windows:parse_stream",
    "fortigate": "logwarden.shippers.fortigate:parse_stream",
    "winfirewall": "logwarden.shippers.winfirewall:parse_stream",
    "iptables": "logwarden.shippers.iptables:parse_stream",
    "pfsense": "logwarden.shippers.pfsense:parse_stream",
    "cef": "logwarden.shippers.cef:parse_stream",
    "cisco_asa": "logwarden.shippers.cisco_asa:parse_stream",
    "panos": "logwarden.shippers.panos:parse_stream",
    "clamav": "logwarden.shippers.clamav:parse_stream",
    "eset": "logwarden.shippers.eset:parse_stream",
    "symantec": "logwarden.shippers.symantec:parse_stream",
    "huorong": "logwarden.shippers.huorong:parse_stream",
    "auto": "logwarden.shippers.autodetect:parse_stream",
}


def get(name: str) -> ParseFn:
    try:
        target = PARSERS[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(sorted(PARSERS))}") from None
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)
