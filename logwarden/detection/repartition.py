"""`stream`'s repartition records: a correlation hit sent to the member that holds its group.

Several `stream` members split the input partitions, but a correlation's window must see every
hit of its group, and the input is keyed by host, not by the group-by value (`source.ip` of a
brute force reaches many hosts). So a member that matches a base rule some correlation counts
does not count it itself: it produces a small record to `<prefix>stream-repartition`, keyed by
the correlation family and the group-by values, and whichever member is assigned that key's
partition counts it (logwarden/detection/stream_state.py holds that state per partition).

A family is a set of correlations chained on each other (`bruteforce then success` uses
`bruteforce`): a chained correlation's hit is raised where its inner one fired, so the whole
chain must live in one partition. It is keyed by the group-by values when every correlation of
the family groups by the same number of fields and each referenced rule has one group-by list
in it (then the inner group is the outer group); otherwise by the family alone (one partition
counts all of it, still correct, not spread).

A record (JSON) holds what the correlation and its alert need, never the whole event:
`{"family", "rule", "ts", "id", "host", "fields": {the group-by and value fields, the fields
the alert's facts copy}, "origin": {topic, partition, offset}, "seq"}`. `origin` + `seq` (the
record's position among the records of one input message) identify it, so a record produced
twice (an input batch read again after a kill or a rebalance) is counted once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from logwarden.kafka_io import STREAM_REPARTITION
from logwarden.shippers.base import Event

from .correlate import Hit, scalar
from .evaluate import Flat
from .facts import BY_CATEGORY, EVERY_EVENT, WHEN_PRESENT
from .model import Correlation

# the event fields an alert's facts are copied from (logwarden/detection/facts.py)
FACT_FIELDS = frozenset({"event.category"} | {f for fl in (EVERY_EVENT, WHEN_PRESENT, *BY_CATEGORY.values())
                                              for fields in fl.values() for f in fields})
KEY_SEP = "\x1f"  # between the family and the group values in a record's key


@dataclass(frozen=True)
class Family:
    """Correlations chained on each other: counted together, on one member per key."""

    name: str  # the smallest correlation id in it (stable across members and restarts)
    correlations: tuple[Correlation, ...]
    keyed: bool  # spread by group-by values (else: every hit of the family on one partition)
    group_fields: dict[str, list[str]]  # base rule id -> its group-by fields (for the key)
    carried: dict[str, frozenset[str]]  # base rule id -> the fields its records carry


def families(correlations: list[Correlation]) -> list[Family]:
    """The correlations grouped into families (connected by chaining), each with its key rule."""
    ids = {c.id for c in correlations}
    parent = {c.id: c.id for c in correlations}

    def root(cid: str) -> str:
        while parent[cid] != cid:
            parent[cid] = parent[parent[cid]]
            cid = parent[cid]
        return cid

    for c in correlations:
        for rid in c.rules:
            if rid in ids:
                parent[root(rid)] = root(c.id)
    members: dict[str, list[Correlation]] = {}
    for c in correlations:
        members.setdefault(root(c.id), []).append(c)
    out = []
    for group in members.values():
        group_fields: dict[str, list[str]] = {}
        carried: dict[str, set[str]] = {}
        keyed = True
        for c in group:
            for rid in c.rules:
                fields = c.group_by.get(rid, [])
                if rid in ids:
                    continue
                if group_fields.setdefault(rid, fields) != fields:
                    keyed = False
                carried.setdefault(rid, set(FACT_FIELDS)).update(fields)
                if rid in c.value_field:
                    carried[rid].add(c.value_field[rid])
        arity = {len(fields) for c in group for fields in c.group_by.values()}
        keyed = keyed and len(arity) <= 1
        out.append(Family(min(c.id for c in group), tuple(group), keyed, group_fields,
                          {rid: frozenset(f) for rid, f in carried.items()}))
    return sorted(out, key=lambda f: f.name)


class Router:
    """Turns one event's base-rule matches into repartition records."""

    def __init__(self, correlations: list[Correlation]) -> None:
        self.families = families(correlations)
        self.by_rule: dict[str, list[Family]] = {}
        for fam in self.families:
            for rid in fam.group_fields:
                self.by_rule.setdefault(rid, []).append(fam)

    def interested(self, rule_id: str) -> bool:
        return rule_id in self.by_rule

    def records(self, topic: str, rule_ids: list[str], flat: Flat, eid: str, ts: float, host: str,
                origin: dict[str, Any]) -> list[Event]:
        """The repartition records of one event's matched correlation rules (none when the event
        lacks a family's group-by field: no correlation of it would count the hit)."""
        out: list[Event] = []
        for rid in rule_ids:
            for fam in self.by_rule.get(rid, ()):
                values = [scalar(flat.get(f)) for f in fam.group_fields[rid]]
                if any(v is None for v in values):
                    continue
                key = KEY_SEP.join([fam.name, *(str(v) for v in values)]) if fam.keyed else fam.name
                fields = {f: flat[f] for f in fam.carried[rid] if f in flat}
                seq = len(out)
                doc = {"family": fam.name, "rule": rid, "ts": ts, "id": eid, "host": host, "fields": fields,
                       "origin": origin, "seq": seq}
                rec_id = f"{origin['topic']}/{origin['partition']}@{origin['offset']}#{seq}"
                out.append(Event(rec_id, STREAM_REPARTITION, key, doc))
        return out


@dataclass(frozen=True, slots=True)
class Record:
    """A repartition record as read back: the hit, where its event came from, and its identity."""

    family: str
    hit: Hit
    origin: dict[str, Any]
    source: str  # "<topic>/<partition>" of the input message
    position: tuple[int, int]  # (input offset, seq): increases along one input partition

    def doc(self) -> dict[str, Any]:
        """The record as JSON-able data again (`parse` takes it back): a held record in a state file."""
        return {"family": self.family, "rule": self.hit.rule_id, "ts": self.hit.ts, "id": self.hit.event_id,
                "host": self.hit.host, "fields": self.hit.fields, "origin": self.origin, "seq": self.position[1]}


def parse(doc: Any) -> Record | None:
    """The record in a decoded repartition message, or None when it is not one."""
    if not isinstance(doc, dict):
        return None
    try:
        origin = doc["origin"]
        fields = doc["fields"]
        if not isinstance(fields, dict) or not isinstance(origin, dict):
            return None
        hit = Hit(str(doc["rule"]), float(doc["ts"]), str(doc["id"]), fields, str(doc.get("host") or ""))
        return Record(str(doc["family"]), hit, origin, f"{origin['topic']}/{int(origin['partition'])}",
                      (int(origin["offset"]), int(doc["seq"])))
    except (KeyError, TypeError, ValueError):
        return None
