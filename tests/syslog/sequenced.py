"""Numbered syslog lines for the receiver's loss tests: each iptables line carries `seq=N`, sent
at a steady rate over TCP or UDP, and what reached Kafka read back as (sequence number, id), so
a test can say which lines are missing and whether a copy kept its original's id."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterable

from logwarden.config import Config
from logwarden.kafka_io import client_options

SEQ = re.compile(rb"seq=(\d+)")


def line(seq: int) -> bytes:
    """An iptables line (an event of the firewall dataset) numbered `seq`, newline-terminated."""
    return (f"<4>Apr 14 00:22:{seq % 60:02d} fw01 kernel: [12345.678] IN=eth0 OUT= MAC= SRC=203.0.113.{seq % 250} "
            f"DST=10.0.0.2 LEN=60 PROTO=TCP SPT={40000 + seq % 20000} DPT=3389 WINDOW=29200 SYN seq={seq:08d}\n"
            ).encode()


class PacedSender:
    """Lines 0, 1, 2, ... at `rate` per second (ten sends a second) over one TCP connection or
    one UDP socket (a datagram per line), in a thread, until `stop()`; `sent` is the next number."""

    def __init__(self, address: tuple[str, int], rate: int, udp: bool = False) -> None:
        self.address, self.rate, self.udp = address, rate, udp
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paced-sender", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> PacedSender:
        self._thread.start()
        return self

    def _run(self) -> None:
        per_tick = max(1, self.rate // 10)
        try:
            if self.udp:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            else:
                sock = socket.create_connection(self.address, timeout=60)
            with sock:
                start = time.monotonic()
                while not self._stop.is_set():
                    lines = [line(n) for n in range(self.sent, self.sent + per_tick)]
                    if self.udp:
                        for payload in lines:
                            sock.sendto(payload, self.address)
                    else:
                        sock.sendall(b"".join(lines))
                    self.sent += per_tick
                    self._stop.wait(max(0.0, start + self.sent / self.rate - time.monotonic()))
        except BaseException as exc:  # reported by stop(): a test must not pass on a dead sender
            self.error = exc

    def stop(self) -> int:
        """Stop sending (a TCP connection is closed cleanly); returns how many lines were sent."""
        self._stop.set()
        self._thread.join(60)
        assert not self._thread.is_alive(), "the sender did not stop"
        assert self.error is None, f"the sender failed: {self.error!r}"
        return self.sent


def numbered_in_kafka(cfg: Config, datasets: Iterable[str], expected: int,
                      timeout: float = 240) -> list[tuple[int, bytes]]:
    """(sequence number, id header) of every message in the topics of `datasets`, read until
    `expected` distinct numbers are there or `timeout` seconds passed, plus what arrives in 3 s
    more (copies). A message without `seq=` fails the test."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(*(cfg.topic(d) for d in datasets), **client_options(cfg), auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None)
    seen: list[tuple[int, bytes]] = []
    numbers: set[int] = set()

    def take(timeout_ms: int) -> None:
        for records in consumer.poll(timeout_ms=timeout_ms).values():
            for record in records:
                match = SEQ.search(record.value)
                assert match, record.value[:200]
                seen.append((int(match.group(1)), dict(record.headers)["id"]))
                numbers.add(seen[-1][0])

    deadline = time.monotonic() + timeout
    try:
        while len(numbers) < expected and time.monotonic() < deadline:
            take(1000)
        take(3000)
    finally:
        consumer.close()
    return seen
