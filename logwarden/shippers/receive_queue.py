"""The UDP receiver's in-process queue: datagrams wait here, not in the kernel, while a message
before them is parsed and produced.

Why: a datagram the kernel cannot buffer is lost without a trace, and the kernel's buffer is
small (`net.core.rmem_max`, 4 MiB here: well under a second at 10,000 msg/s). So one thread
(`SyslogServer`'s `syslog-udp-recv`) only takes datagrams off the socket and puts them here; the
parsing thread takes them in batches. Parsing may fall behind for as long as the queue has room.

Bounded in bytes (each datagram counts its length plus ENTRY_OVERHEAD, about what Python keeps
per entry): a datagram that would take the queue over `max_bytes` is dropped, counted in
`overflow` and reported: a warning once per REPORT_INTERVAL while it goes on, with the count so
far and the reason. Never silent.

One producer thread and one consumer thread, no lock on the hot path: `collections.deque`'s
append and popleft are atomic, and each byte counter is written by one thread only (the queued
bytes are `bytes_in - bytes_out`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

log = logging.getLogger(__name__)

ENTRY_OVERHEAD = 300  # bytes kept per queued datagram beyond its payload (measured ~290: tuples, address)
REPORT_INTERVAL = 10.0  # seconds between two warnings about dropped datagrams
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

Datagram = tuple[bytes, Any]  # payload, sender address as recvfrom returns it


class DatagramQueue:
    """Datagrams between the receiving thread (`put`) and the parsing thread (`take`)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, name: str = "UDP") -> None:
        self.max_bytes, self.name = max_bytes, name
        self._items: deque[Datagram] = deque()
        self._ready = threading.Event()
        self.bytes_in = 0  # written by the receiving thread only
        self.bytes_out = 0  # written by the parsing thread only
        self.overflow = 0  # datagrams dropped: the queue was full (receiving thread only)
        self.high_water = 0  # the most bytes queued at once, as seen by put
        self._reported = 0  # overflow count at the last warning
        self._report_at = 0.0

    @property
    def queued_bytes(self) -> int:
        return self.bytes_in - self.bytes_out

    def put(self, data: bytes, address: Any) -> bool:
        """Queue one datagram; returns False when it was dropped because the queue was full
        (counted in `overflow`, reported by a warning at most once per REPORT_INTERVAL)."""
        size = len(data) + ENTRY_OVERHEAD
        queued = self.bytes_in - self.bytes_out
        if queued + size > self.max_bytes:
            self.overflow += 1
            now = time.monotonic()
            if now >= self._report_at:
                self._report_at = now + REPORT_INTERVAL
                log.warning("%s receive queue full (%d bytes queued, limit %d): parsing is slower than the "
                            "input; %d datagram(s) dropped so far (%d since the last report)", self.name, queued,
                            self.max_bytes, self.overflow, self.overflow - self._reported)
                self._reported = self.overflow
            return False
        self._items.append((data, address))
        self.bytes_in += size
        if queued + size > self.high_water:
            self.high_water = queued + size
        if not self._ready.is_set():
            self._ready.set()
        return True

    def take(self, timeout: float, limit: int = 512) -> list[Datagram]:
        """Up to `limit` datagrams in arrival order, waiting up to `timeout` seconds for the
        first; [] when none came."""
        items = self._items
        if not items:
            self._ready.clear()
            if not items:  # put may have appended between the test and the clear
                self._ready.wait(timeout)
        out: list[Datagram] = []
        size = 0
        popleft = items.popleft
        while items and len(out) < limit:
            datagram = popleft()
            size += len(datagram[0]) + ENTRY_OVERHEAD
            out.append(datagram)
        self.bytes_out += size
        return out

    def __len__(self) -> int:
        return len(self._items)

    def final_report(self) -> None:
        """Warn about the datagrams dropped since the last warning (at a stop)."""
        if self.overflow > self._reported:
            log.warning("%s receive queue: %d datagram(s) dropped in all (queue full; limit %d bytes)", self.name,
                        self.overflow, self.max_bytes)
            self._reported = self.overflow
