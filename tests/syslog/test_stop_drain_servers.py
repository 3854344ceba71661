"""`ship syslog --tcp` stopped (SIGTERM) right after a burst on a connection that stays open,
against the lab's Kafka: every line the sender's TCP delivered is received, parsed and in Kafka.
Before the stop read what was already delivered, most of such a burst was lost without a count."""

from __future__ import annotations

import json
import re
import socket

import pytest

from logwarden.config import Config
from tests.services.helpers import Service
from tests.syslog.sequenced import line, numbered_in_kafka

pytestmark = pytest.mark.servers

BURST = 20_000
LISTENING = re.compile(r"listening udp=.*? tcp=\('([\d.]+)', (\d+)\)")


def test_sigterm_after_a_burst_on_an_open_connection_loses_no_line(ns: Config) -> None:
    service = Service(ns, "ship", "syslog", "--tcp", "127.0.0.1:0", "--json")
    service.wait_for("listening")
    match = next(m for m in map(LISTENING.search, service.lines) if m)
    sender = socket.create_connection((match.group(1), int(match.group(2))))
    try:
        sender.sendall(b"".join(line(n) for n in range(BURST)))
        code, out = service.stop()  # at once, the connection still open
    finally:
        sender.close()
    assert code == 0, "\n".join(service.lines[-30:])
    counts = json.loads(out.strip().splitlines()[-1])
    assert counts["received"] == counts["parsed"] == BURST and counts["dropped"] == 0, counts
    assert counts["cut_at_stop"] == 0, counts
    numbers = {n for n, _ in numbered_in_kafka(ns, ("firewall",), BURST)}
    assert numbers == set(range(BURST)), f"missing: {sorted(set(range(BURST)) - numbers)[:20]}"
