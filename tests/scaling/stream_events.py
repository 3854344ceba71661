"""A seeded Windows event set for the `stream` scale-out tests and bench: RDP brute forces and
password sprays from the internet (event_count and value_count by source.ip, some followed by a
successful RDP logon: the chained correlation and a single-event alert), internal logons that
never reach the lateral-spray threshold (correlation hits from several hosts, no alert), stray
failed logons and cleared security logs (single-event alerts).

Each attacker targets one host, so all hits of one correlation group come from one input
partition, in time order: the order hunt sorts them in. (Hits of one group spread over several
input partitions reach the group in an order Kafka does not fix; docs/scaling.md says what that
changes.) Events are one second apart, in time order, each with its own id.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from logwarden.shippers.base import Event

T0 = datetime(2026, 11, 20, 1, 0, 0, tzinfo=UTC)
HOSTS = [f"SRV-{n:02d}" for n in range(8)]


def _logon(code: str, host: str, address: str, user: str, logon_type: str) -> dict[str, Any]:
    return {
        "winlog": {"channel": "Security", "event_id": code, "computer_name": host,
                   "provider_name": "Microsoft-Windows-Security-Auditing",
                   "event_data": {"TargetUserName": user, "LogonType": logon_type, "IpAddress": address,
                                  "WorkstationName": "-"}},
        "event": {"code": code},
        "source": {"ip": address},
        "host": {"name": host},
        "user": {"name": user},
    }


def _cleared(host: str) -> dict[str, Any]:
    return {
        "winlog": {"channel": "Security", "event_id": "1102", "computer_name": host,
                   "provider_name": "Microsoft-Windows-Eventlog", "event_data": {"SubjectUserName": "admin"}},
        "event": {"code": "1102"},
        "host": {"name": host},
        "user": {"name": "admin"},
    }


def incident_events(seed: int = 12, attackers: int = 10, noise: int = 400) -> list[Event]:
    """The event set, in time order, as the Windows shipper would produce it (keyed by host)."""
    rng = random.Random(seed)
    streams: list[list[dict[str, Any]]] = []
    for a in range(attackers):
        host, address = rng.choice(HOSTS), f"203.0.113.{10 + a}"
        users = [f"user{u}" for u in range(rng.randint(3, 30))]
        burst = [_logon("4625", host, address, rng.choice(users), "10") for _ in range(rng.randint(8, 60))]
        if rng.random() < 0.6:
            burst.append(_logon("4624", host, address, users[0], "10"))
        streams.append(burst)
    for i in range(12):  # internal logons: each address on at most 3 hosts (below the spray threshold)
        address = f"10.1.0.{i + 1}"
        streams.append([_logon("4624", rng.choice(HOSTS[:3] if i % 2 else HOSTS[3:6]), address, f"svc{i}", "3")
                        for _ in range(rng.randint(2, 6))])
    for _ in range(noise):
        streams.append([_logon("4625", rng.choice(HOSTS), f"198.51.100.{rng.randint(1, 254)}",
                               f"typo{rng.randint(1, 50)}", "3")])
    for _ in range(6):
        streams.append([_cleared(rng.choice(HOSTS))])
    docs: list[dict[str, Any]] = []
    while streams:  # interleave the scenarios at random, each kept in its own order
        s = rng.randrange(len(streams))
        docs.append(streams[s].pop(0))
        if not streams[s]:
            streams.pop(s)
    events = []
    for i, doc in enumerate(docs):
        eid = f"scale-{seed}-{i}"
        doc["@timestamp"] = (T0 + timedelta(seconds=i)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        doc["event"]["id"] = eid
        events.append(Event(eid, "windows", doc["host"]["name"], doc, i))
    return events


def hunt_alert_ids(events: list[Event]) -> set[str]:
    """The ids of the alerts hunt's batch path raises on `events` (every kind of rule among them)."""
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.engine import Detector, run_batch

    alerts = run_batch(Detector(load_ruleset(None)), [(e.id, e.doc) for e in events])
    kinds = {a["sigma"]["type"] for a in alerts}
    assert {"rule", "event_count", "value_count", "temporal_ordered"} <= kinds, kinds
    return {a["event"]["id"] for a in alerts}
