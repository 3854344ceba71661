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
per partition under `<state>/stream-<group>/`, which moves with the partition on a rebalance; it
includes the records waiting in the partition's reorder buffer (logwarden/detection/reorder.py).

A `StreamState` snapshot belongs to one member: the file is named by the consumer group and the static
member id (`--instance-id`), and a member that gets partitions the snapshot does not cover
starts them with the state it has. Several members without instance ids on one state folder
would overwrite each other's file: give each its own `--instance-id` (which also lets a
restarted member take its partitions back at once instead of after the session timeout).

A state file that cannot be loaded (not JSON, cut short, another snapshot version, a value of the
wrong kind, not a regular file) is evidence of correlation windows that were open, so it is
never overwritten and never dropped quietly: `read_state` refuses it (`BadStateFile`),
`set_aside` renames it to `<name>.bad-<UTC time>` beside it (a name not taken yet) and logs one
ERROR line naming both files and the reason (made printable and cut to REASON_LIMIT characters:
the file's content is data, not text for a terminal); the partition starts with an empty state,
so detection goes on, and the member counts such files (`bad_state_files` in its stats).

A bad file that cannot be moved (its folder read-only, EACCES, EROFS; no free name) is kept where
it is and the member refuses to go on (`StateFileKept`, an OutputError: exit 2, one line naming
the file, why it cannot be loaded, why it cannot be moved, and what to do). The other way, keeping
it and writing the partition's new state under another name, was not taken: a folder that
refuses a rename almost always refuses the new file too, a second name would leave two states for
one partition with nothing to say which one a restart loads, and starting empty beside it (what
the member did before) let the first save after the folder took writes again replace the
evidence. The refusal comes from the
rebalance listener, which must not raise (kafka-python re-raises a listener's error as a
KafkaError, an outage to retry; the confluent wrapper logs it): `PartitionStates` keeps it and
raises it from the next call the runner makes in its own thread (`holding` runs after every poll).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import stat
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import ConsumerRebalanceListener
from kafka.structs import TopicPartition

from logwarden.errors import OutputError
from logwarden.safe_text import printable
from logwarden.shippers.checkpoint import save_json

from .correlate import CorrelationEngine, Fired
from .reorder import Order, ReorderBuffer
from .repartition import Family, Record, parse

log = logging.getLogger(__name__)

REASON_LIMIT = 300  # characters of a load failure's reason in the log line
# what restoring a parsed snapshot raises when a value in it is of the wrong kind or version
RESTORE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError)


class BadStateFile(Exception):
    """A state file that exists but cannot be loaded; the message says why."""


class StateFileKept(OutputError):
    """A state file that cannot be loaded and cannot be set aside either: it stays where it is and
    the member does not start on an empty state that its next save would write over it (exit 2)."""


def read_state(path: Path, key: str) -> dict[str, Any] | None:
    """The `key` section of the JSON state file at `path`, or None when there is no file.

    Raises:
        BadStateFile: not a regular file, unreadable, not UTF-8 JSON (a file cut short included),
            not an object, or without a `key` object.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BadStateFile(f"cannot be examined: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):  # a FIFO would block the reader, a folder cannot be read
        raise BadStateFile("not a regular file")
    try:
        loaded = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise BadStateFile(f"unreadable: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise BadStateFile(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except (ValueError, RecursionError) as exc:
        raise BadStateFile(f"not JSON ({exc})") from None
    section = loaded.get(key) if isinstance(loaded, dict) else None
    if not isinstance(section, dict):
        raise BadStateFile(f"holds no {key!r} state object")
    return section


def _reason(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, BadStateFile) else f"{type(exc).__name__}: {exc}"
    if len(text) > REASON_LIMIT:
        text = f"{text[:REASON_LIMIT]}... ({len(text)} characters)"
    return printable(text)


def set_aside(path: Path, exc: BaseException, what: str) -> Path:
    """Rename the state file `path` that failed to load (`exc`) to `<name>.bad-<UTC time>` beside
    it, never over an existing file, and log it as one ERROR line naming `what` starts empty.

    Returns:
        The new path.
    Raises:
        StateFileKept: the file could not be moved (a read-only folder, no free name); it is
            left as it is, and the message says what to do.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    aside: Path | None = None
    failure = ""
    for n in range(100):
        candidate = path.with_name(f"{path.name}.bad-{stamp}" + (f"-{n}" if n else ""))
        try:
            os.link(path, candidate, follow_symlinks=False)  # fails when the name is taken: nothing overwritten
        except FileExistsError:
            continue
        except OSError:  # no hard link possible (a folder, some file systems): a rename to a free name
            if candidate.exists() or candidate.is_symlink():
                continue
            try:
                os.rename(path, candidate)
            except OSError as err:
                failure = err.strerror or str(err)
                break
            aside = candidate
            break
        aside = candidate
        try:
            os.unlink(path)
        except OSError:
            pass  # the link keeps the content: a save replaces the name, not the file behind it
        break
    if aside is None:
        shown, folder = printable(str(path)), printable(str(path.parent))
        raise StateFileKept(
            f"correlation state {shown} cannot be loaded ({_reason(exc)}) and cannot be set aside "
            f"({printable(failure or 'no free name beside it')}): it is left as it is and {printable(what)} does not "
            f"start on an empty state that would be saved over it; move it out of {folder} (keep it: it holds the "
            f"correlation windows that were open) or make {folder} writable, then start again")
    log.error("correlation state %s cannot be loaded (%s): set aside as %s; %s starts with an empty state",
              printable(str(path)), _reason(exc), printable(str(aside)), printable(what))
    return aside


def state_file(state_dir: Path, group: str, instance_id: str | None) -> Path:
    """Where a member's snapshot lives: `<state>/stream-<group>[-<instance>].json` (names made safe)."""
    name = group + (f"-{instance_id}" if instance_id else "")
    return state_dir / f"stream-{re.sub(r'[^A-Za-z0-9._-]', '_', name)[:200]}.json"


class StreamState(ConsumerRebalanceListener):
    """The snapshot file of one stream member, and the rebalance listener that seeks to it."""

    def __init__(self, path: Path, engine: CorrelationEngine) -> None:
        """Restore the snapshot at `path` into `engine` (none: nothing to restore).

        Raises:
            StateFileKept: the file cannot be loaded and cannot be set aside (`set_aside`).
        """
        self.path = path
        self.engine = engine
        self.consumer: Any = None  # set once the consumer exists (the listener runs inside poll)
        self.offsets: dict[tuple[str, int], int] = {}  # next offset per partition fed into the state
        self._resume: dict[tuple[str, int], int] = {}  # seeks still to do at the first assignment
        self.set_aside: Path | None = None  # where a state file that could not be loaded was moved
        self.bad_files = 0  # state files that could not be loaded and were set aside
        before = engine.snapshot()
        try:
            snap = read_state(path, "stream")
            if snap is None:
                return
            restored = engine.restore(snap["correlations"])
            self.offsets = {(t, int(p)): int(o) for t, p, o in snap["offsets"]}
        except (BadStateFile, *RESTORE_ERRORS) as exc:
            engine.restore(before)  # nothing half-restored
            self.offsets = {}
            self.set_aside = set_aside(path, exc, "the member")
            self.bad_files += 1
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
        save_json(self.path, {"stream": {"offsets": [[t, p, o] for (t, p), o in sorted(self.offsets.items())],
                                         "correlations": self.engine.snapshot()}}, indent=1)

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
    """The correlation state of one repartition partition, as its current owner holds it: the
    windows and episodes of its families, the records waiting in its reorder buffer, and the
    position of the last record taken from each input partition."""

    def __init__(self, path: Path, families: list[Family], grace: float, what: str = "the partition") -> None:
        """Load the state at `path` (none: an empty state).

        Raises:
            StateFileKept: the file cannot be loaded and cannot be set aside (`set_aside`).
        """
        self.path = path
        self.engines = {fam.name: CorrelationEngine(list(fam.correlations)) for fam in families}
        self.buffer: ReorderBuffer[Record] = ReorderBuffer(grace)
        self.offset: int | None = None  # next offset taken into the state (None: nothing yet)
        self.seen: dict[str, tuple[int, int]] = {}  # input "<topic>/<partition>" -> last (offset, seq) taken
        self.bad_file = False  # the file could not be loaded (set aside: `set_aside`)
        self.set_aside: Path | None = None
        try:
            snap = read_state(path, "partition")
            if snap is None:
                return
            for name, engine_snap in snap["families"].items():
                if name in self.engines:
                    self.engines[name].restore(engine_snap)
            self.seen = {str(src): (int(pos[0]), int(pos[1])) for src, pos in snap["seen"].items()}
            self.offset = int(snap["offset"])
            self._restore_buffer(snap.get("reorder"))
        except (BadStateFile, *RESTORE_ERRORS) as exc:
            self.engines = {fam.name: CorrelationEngine(list(fam.correlations)) for fam in families}
            self.buffer = ReorderBuffer(grace)
            self.seen, self.offset = {}, None
            self.bad_file = True
            self.set_aside = set_aside(path, exc, what)

    def _restore_buffer(self, snap: dict[str, Any] | None) -> None:
        if not snap:  # a file written before the reorder buffer: nothing held
            return
        held = []
        for doc in snap["held"]:
            record = parse(doc)
            if record is None:
                raise ValueError("a held record is not a repartition record")
            held.append((_order(record), record))
        self.buffer.restore(held, _number(snap["newest"]), _number(snap["released_to"]), int(snap["late"]),
                            time.monotonic())

    def save(self) -> None:
        buffer = self.buffer
        reorder = {"held": [record.doc() for _, record in buffer.held()], "newest": _json_number(buffer.newest),
                   "released_to": _json_number(buffer.released_to), "late": buffer.late}
        save_json(self.path, {"partition": {"offset": self.offset, "seen": {s: list(p) for s, p in self.seen.items()},
                                            "families": {n: e.snapshot() for n, e in self.engines.items()},
                                            "reorder": reorder}}, indent=1)

    def count(self, records: list[Record]) -> list[tuple[Record, list[Fired]]]:
        """Feed released records to their family's engine in the order given; what each fired."""
        out = []
        for record in records:
            engine = self.engines.get(record.family)
            out.append((record, engine.feed(record.hit) if engine is not None else []))
        return out


def _order(record: Record) -> Order:
    return record.hit.ts, record.hit.event_id, record.hit.rule_id


def _number(value: Any) -> float:
    return -math.inf if value is None else float(value)


def _json_number(value: float) -> float | None:
    return None if value == -math.inf else value


class PartitionStates(ConsumerRebalanceListener):
    """The correlation state of the repartition partitions a member is assigned, one file each
    (`<folder>/<partition>.json`), and the rebalance listener that loads it on assignment (seeking
    the partition to the offset the state covers) and drops it on revocation.

    The offset in a file can be ahead of the group's committed offset (a kill between the save
    and the commit): the seek skips what the state already counted. A record produced twice
    (its input message read again) is recognised by its input position and counted once.
    Partitions whose file is missing (first start, or a partition that moved to a host with
    another state folder) start empty at the committed offset."""

    def __init__(self, folder: Path, topic: str, families: list[Family], grace: float = 0.0) -> None:
        self.folder = folder
        self.grace = grace  # seconds of event time a record waits in its partition's reorder buffer
        self.topic = topic
        self.families = families
        self.consumer: Any = None  # set once the consumer exists (the listener runs inside poll)
        self.held: dict[int, _Held] = {}
        self.duplicates = 0  # records skipped: already counted
        self.bad_files = 0  # state files that could not be loaded: set aside, the partition started empty
        self.kept: StateFileKept | None = None  # a file that could be neither loaded nor set aside

    def _refuse_if_kept(self) -> None:
        """Raise the StateFileKept the rebalance listener met (it must not raise itself)."""
        if self.kept is not None:
            raise self.kept

    def _load(self, partition: int) -> _Held:
        self._refuse_if_kept()
        held = self.held.get(partition)
        if held is None:
            held = self.held[partition] = _Held(self.folder / f"{partition}.json", self.families, self.grace,
                                                f"{self.topic}/{partition}")
            self.bad_files += held.bad_file
        return held

    def hold(self, partition: int, record: Record, now: float | None = None) -> bool:
        """Put one record of `partition` in its reorder buffer; False for a record already taken
        (its input message was read again), which is skipped."""
        held = self._load(partition)
        if record.position <= held.seen.get(record.source, (-1, -1)):
            self.duplicates += 1
            return False
        held.seen[record.source] = record.position
        held.buffer.add(_order(record), record, now)
        return True

    def release(self, partition: int, now: float | None = None) -> list[tuple[Record, list[Fired]]]:
        """Count the records of `partition` the watermark passed (the newest time held minus the
        grace; with `now`, also those held the grace in wall-clock time and every record before
        them; the oldest beyond the buffer's bound too), in time order; each with what it fired."""
        held = self._load(partition)
        return held.count(held.buffer.release(now))

    def drain(self) -> list[tuple[Record, list[Fired]]]:
        """Count every record held in every partition this member holds, in time order per
        partition (the end of a `--once` run, a clean stop); each with what it fired. The caller
        saves the partitions `holding()` named once their alerts are delivered."""
        self._refuse_if_kept()
        out = []
        for p in sorted(self.held):
            held = self.held[p]
            out.extend(held.count(held.buffer.drain()))
        return out

    def holding(self) -> set[int]:
        """The partitions with records in their reorder buffer.

        Raises:
            StateFileKept: a partition assigned since the last call has a file that could be
                neither loaded nor set aside (the runner calls this after every poll).
        """
        self._refuse_if_kept()
        return {p for p, held in self.held.items() if len(held.buffer)}

    @property
    def late(self) -> int:
        """Records taken after a later one of their partition had been counted (beyond the grace)."""
        return sum(held.buffer.late for held in self.held.values())

    def feed(self, partition: int, record: Record) -> list[Fired]:
        """`hold` then `release`: what fired (nothing for a record already taken)."""
        if not self.hold(partition, record):
            return []
        return [fired for _, fireds in self.release(partition) for fired in fireds]

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
        cannot be written (the batch is then not committed), StateFileKept as `holding` does."""
        self._refuse_if_kept()
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
            try:
                held = self._load(tp.partition)
            except StateFileKept as kept:
                # kept for the runner's thread (see the module docstring); the first one is said
                self.kept = self.kept or kept
                continue
            if held.offset is not None and self.consumer is not None:
                self.consumer.seek(TopicPartition(tp.topic, tp.partition), held.offset)
                log.info("%s/%d assigned: correlation state loaded, resuming at offset %d", tp.topic, tp.partition,
                         held.offset)
            else:
                log.info("%s/%d assigned: no saved correlation state, starting at the committed offset", tp.topic,
                         tp.partition)
