"""`stream`'s correlation state across restarts: written at every commit point, read at start.

Two ways were open (issue 14): persist the state, or rebuild it by reading the window back from
Kafka. Rebuilding is not exact: a `gte` correlation clears its group when it fires, so the state
at an offset depends on every event since the group was last cleared, not only on the last
timespan; a replay of "the last window" can fire where the live run did not, or miss a fire.
So the state is persisted: after a batch's alerts were acknowledged and before its offsets are
committed, the correlation engine's snapshot (logwarden/detection/correlate.py) is written
atomically (logwarden/shippers/checkpoint.py: temp file, fsync, rename) together with the
offsets it covers, the next offset of each partition fed into it.

At start the snapshot is restored and, when the group assigns the partitions, each one the
snapshot covers is sought to the snapshot's offset. A kill between the write and the commit
leaves the snapshot one batch ahead of the committed offsets: the seek skips that batch (its
alerts were acknowledged before the write). A kill before the write re-reads the batch from the
previous snapshot's state. Either way the restarted stream feeds each event into the state once,
so killed and clean runs give the same alerts (an alert of a re-read batch is produced again,
with the same id).

`StreamState` is the state of a member that counts correlations itself (the in-process
runner). `stream` members count them through the repartition topic (logwarden/detection/
repartition.py): their state is held per repartition partition by `PartitionStates`, one file
per partition under `<state>/stream-<group>/`, which moves with the partition on a rebalance.

A `StreamState` snapshot belongs to one member: the file is named by the consumer group and the static
member id (`--instance-id`), and a member that gets partitions the snapshot does not cover
starts them with the state it has. Several members without instance ids on one state folder
would overwrite each other's file: give each its own `--instance-id` (which also lets a
restarted member take its partitions back at once instead of after the session timeout).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from kafka import ConsumerRebalanceListener
from kafka.structs import TopicPartition

from logwarden.shippers.checkpoint import Checkpoints

from .correlate import CorrelationEngine, Fired
from .repartition import Family, Record

log = logging.getLogger(__name__)


def state_file(state_dir: Path, group: str, instance_id: str | None) -> Path:
    """Where a member's snapshot lives: `<state>/stream-<group>[-<instance>].json` (names made safe)."""
    name = group + (f"-{instance_id}" if instance_id else "")
    return state_dir / f"stream-{re.sub(r'[^A-Za-z0-9._-]', '_', name)[:200]}.json"


class StreamState(ConsumerRebalanceListener):
    """The snapshot file of one stream member, and the rebalance listener that seeks to it."""

    def __init__(self, path: Path, engine: CorrelationEngine) -> None:
        self.path = path
        self.engine = engine
        self.consumer: Any = None  # set once the consumer exists (the listener runs inside poll)
        self.offsets: dict[tuple[str, int], int] = {}  # next offset per partition fed into the state
        self._resume: dict[tuple[str, int], int] = {}  # seeks still to do at the first assignment
        self._file = Checkpoints(path)
        snap = self._file.data.get("stream")
        if not snap:
            return
        try:
            restored = engine.restore(snap["correlations"])
            self.offsets = {(t, int(p)): int(o) for t, p, o in snap["offsets"]}
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("correlation state %s unreadable (%s): starting with an empty state", path, exc)
            return
        self._resume = dict(self.offsets)
        log.info("correlation state restored from %s: %d group(s) or window(s), %d partition(s)", path, restored,
                 len(self.offsets))

    def advance(self, records: list[Any]) -> None:
        """Note that `records` were fed into the state (call before `save`)."""
        for rec in records:
            key = (rec.topic, rec.partition)
            self.offsets[key] = max(self.offsets.get(key, 0), rec.offset + 1)

    def save(self) -> None:
        """Write the snapshot atomically. Raises InputError naming the file when it cannot be
        written (the batch is then not committed)."""
        self._file.data = {"stream": {"offsets": [[t, p, o] for (t, p), o in sorted(self.offsets.items())],
                                      "correlations": self.engine.snapshot()}}
        self._file.save()

    # ConsumerRebalanceListener
    def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    def on_partitions_assigned(self, assigned: Any) -> None:
        for tp in assigned:
            offset = self._resume.pop((tp.topic, tp.partition), None)
            if offset is not None and self.consumer is not None:
                self.consumer.seek(TopicPartition(tp.topic, tp.partition), offset)
                log.debug("%s/%d: resuming at offset %d, the correlation state's", tp.topic, tp.partition, offset)


def partitions_folder(state_dir: Path, group: str) -> Path:
    """Where a group's per-partition correlation state lives: `<state>/stream-<group>/` (name made safe)."""
    return state_dir / f"stream-{re.sub(r'[^A-Za-z0-9._-]', '_', group)[:200]}"


class _Held:
    """The correlation state of one repartition partition, as its current owner holds it."""

    def __init__(self, path: Path, families: list[Family]) -> None:
        self.file = Checkpoints(path)
        self.engines = {fam.name: CorrelationEngine(list(fam.correlations)) for fam in families}
        self.offset: int | None = None  # next offset fed into the state (None: nothing fed yet)
        self.seen: dict[str, tuple[int, int]] = {}  # input "<topic>/<partition>" -> last (offset, seq) fed
        snap = self.file.data.get("partition")
        if not snap:
            return
        try:
            for name, engine_snap in snap["families"].items():
                if name in self.engines:
                    self.engines[name].restore(engine_snap)
            self.seen = {str(src): (int(pos[0]), int(pos[1])) for src, pos in snap["seen"].items()}
            self.offset = int(snap["offset"])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            log.warning("correlation state %s unreadable (%s): the partition starts with an empty state", path, exc)
            self.engines = {fam.name: CorrelationEngine(list(fam.correlations)) for fam in families}
            self.seen, self.offset = {}, None

    def save(self) -> None:
        self.file.data = {"partition": {"offset": self.offset, "seen": {s: list(p) for s, p in self.seen.items()},
                                        "families": {n: e.snapshot() for n, e in self.engines.items()}}}
        self.file.save()


class PartitionStates(ConsumerRebalanceListener):
    """The correlation state of the repartition partitions a member is assigned, one file each
    (`<folder>/<partition>.json`), and the rebalance listener that loads it on assignment (seeking
    the partition to the offset the state covers) and drops it on revocation.

    The offset in a file can be ahead of the group's committed offset (a kill between the save
    and the commit): the seek skips what the state already counted. A record produced twice
    (its input message read again) is recognised by its input position and counted once.
    Partitions whose file is missing (first start, or a partition that moved to a host with
    another state folder) start empty at the committed offset."""

    def __init__(self, folder: Path, topic: str, families: list[Family]) -> None:
        self.folder = folder
        self.topic = topic
        self.families = families
        self.consumer: Any = None  # set once the consumer exists (the listener runs inside poll)
        self.held: dict[int, _Held] = {}
        self.duplicates = 0  # records skipped: already counted

    def _load(self, partition: int) -> _Held:
        held = self.held.get(partition)
        if held is None:
            held = self.held[partition] = _Held(self.folder / f"{partition}.json", self.families)
        return held

    def feed(self, partition: int, record: Record) -> list[Fired]:
        """Count one record of `partition`; what fired (nothing for a record already counted)."""
        held = self._load(partition)
        if record.position <= held.seen.get(record.source, (-1, -1)):
            self.duplicates += 1
            return []
        held.seen[record.source] = record.position
        engine = held.engines.get(record.family)
        return engine.feed(record.hit) if engine is not None else []

    def advance(self, records: list[Any]) -> set[int]:
        """Note that the repartition records among `records` were fed; returns their partitions."""
        touched = set()
        for rec in records:
            if rec.topic == self.topic:
                held = self._load(rec.partition)
                held.offset = max(held.offset or 0, rec.offset + 1)
                touched.add(rec.partition)
        return touched

    def save(self, partitions: set[int]) -> None:
        """Write the state of `partitions` atomically. Raises OutputError naming the file when one
        cannot be written (the batch is then not committed)."""
        for p in sorted(partitions):
            self._load(p).save()

    # ConsumerRebalanceListener
    def on_partitions_revoked(self, revoked: Any) -> None:
        for tp in revoked:
            if tp.topic == self.topic:
                self.held.pop(tp.partition, None)

    def on_partitions_assigned(self, assigned: Any) -> None:
        for tp in assigned:
            if tp.topic != self.topic:
                continue
            self.held.pop(tp.partition, None)
            held = self._load(tp.partition)
            if held.offset is not None and self.consumer is not None:
                self.consumer.seek(TopicPartition(tp.topic, tp.partition), held.offset)
                log.info("%s/%d assigned: correlation state loaded, resuming at offset %d", tp.topic, tp.partition,
                         held.offset)
            else:
                log.info("%s/%d assigned: no saved correlation state, starting at the committed offset", tp.topic,
                         tp.partition)
