"""`stream`'s reorder buffer without servers: one source spraying three hosts (its hits reach the
counting member from three input partitions), delivered out of time order within the grace,
gives hunt's alert ids, in the repartition path and in process; the same delivery without the
buffer (grace 0) does not. The held records survive a save and reload (a restart or a partition
moving), a record later than the grace is still counted, and the buffer is bounded."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from logwarden.config import Config, ConfigError, validate
from logwarden.detection.alerts import alert_for_fired, doc_host, doc_time
from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector, run_batch
from logwarden.detection.evaluate import flatten
from logwarden.detection.reorder import ReorderBuffer
from logwarden.detection.repartition import Router, families, parse
from logwarden.detection.stream import StreamRunner
from logwarden.detection.stream_state import PartitionStates
from logwarden.shippers.base import ListSink

TOPIC = "lw.stream-repartition"
T0 = datetime(2026, 11, 20, 3, 0, 0, tzinfo=UTC)
HOSTS = ("SRV-A", "SRV-B", "SRV-C")
SPAN = 60  # seconds the spray lasts: every disorder below is within a grace of 120 s


def spray(hosts: tuple[str, ...] = HOSTS) -> list[dict[str, Any]]:
    """Failed RDP logons from one address against three hosts in turn, one a second, each a new
    user name (brute force and password spray by source.ip), then a success on the first host."""
    docs = []
    for i in range(SPAN):
        host = hosts[i % len(hosts)]
        docs.append(_logon(i, "4625", host, f"user{i}"))
    docs.append(_logon(SPAN, "4624", hosts[0], "user0"))
    return docs


def _logon(i: int, code: str, host: str, user: str) -> dict[str, Any]:
    address = "203.0.113.77"
    return {
        "@timestamp": (T0 + timedelta(seconds=i)).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "winlog": {"channel": "Security", "event_id": code, "computer_name": host,
                   "provider_name": "Microsoft-Windows-Security-Auditing",
                   "event_data": {"TargetUserName": user, "LogonType": "10", "IpAddress": address,
                                  "WorkstationName": "-"}},
        "event": {"code": code, "id": f"reorder-{i}"},
        "source": {"ip": address},
        "host": {"name": host},
        "user": {"name": user},
    }


def by_host_reversed(docs: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """(input partition, event) as a member reading the host-keyed partitions one after the other
    meets them: the last host's events first; every event keeps its input offset."""
    return [(HOSTS.index(d["host"]["name"]), d) for host in reversed(HOSTS) for d in docs
            if d["host"]["name"] == host]


@pytest.fixture(scope="module")
def hunt_ids() -> set[str]:
    alerts = run_batch(Detector(load_ruleset(None)), [(d["event"]["id"], d) for d in spray()])
    assert {"rule", "event_count", "value_count"} <= {a["sigma"]["type"] for a in alerts}
    return {a["event"]["id"] for a in alerts}


def _records(order: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The repartition records of the events, in the order the events are read (one group: one
    repartition partition)."""
    ruleset = load_ruleset(None)
    detector, router = Detector(ruleset), Router(ruleset.correlations)
    offsets = {p: 0 for p in range(len(HOSTS))}
    out: list[dict[str, Any]] = []
    for partition, doc in order:
        flat = flatten(doc)
        hits = [r.id for r in detector.match(flat) if router.interested(r.id)]
        origin = {"topic": "lw.windows", "partition": partition, "offset": offsets[partition]}
        offsets[partition] += 1
        out.extend(rec.doc for rec in router.records("lw.windows", hits, flat, doc["event"]["id"], doc_time(flat),
                                                     doc_host(flat), origin))
    return out


def _single_ids(docs: list[dict[str, Any]]) -> set[str]:
    return {a["event"]["id"] for a in run_batch(Detector(load_ruleset(None)), [(d["event"]["id"], d) for d in docs])
            if a["sigma"]["type"] == "rule"}


def _counted(states: PartitionStates, docs: list[dict[str, Any]]) -> set[str]:
    """Feed the records one by one (each its own batch) and drain at the end; the alert ids."""
    ids: set[str] = set()
    for doc in docs:
        record = parse(doc)
        assert record is not None
        states.hold(0, record)
        ids.update(alert_for_fired(f)["event"]["id"] for _, fired in states.release(0) for f in fired)
    ids.update(alert_for_fired(f)["event"]["id"] for _, fired in states.drain() for f in fired)
    return ids


@pytest.mark.parametrize("grace, agrees", [(120.0, True), (0.0, False)])
def test_records_out_of_time_order_within_the_grace_give_hunt_alert_ids(tmp_path: Path, hunt_ids: set[str],
                                                                          grace: float, agrees: bool) -> None:
    docs = spray()
    records = _records(by_host_reversed(docs))
    states = PartitionStates(tmp_path / "state", TOPIC, families(load_ruleset(None).correlations), grace)
    got = _counted(states, records) | _single_ids(docs)
    assert (got == hunt_ids) is agrees, f"missing {len(hunt_ids - got)}, extra {len(got - hunt_ids)}"
    assert (states.late == 0) is agrees  # without the buffer, hits arrive behind later ones


def test_held_records_survive_a_save_and_reload(tmp_path: Path, hunt_ids: set[str]) -> None:
    docs = spray()
    records = _records(by_host_reversed(docs))
    fams = families(load_ruleset(None).correlations)
    states = PartitionStates(tmp_path / "state", TOPIC, fams, 120.0)
    half = len(records) // 2
    got = _counted_without_drain(states, records[:half])

    class Msg:
        topic, partition, offset = TOPIC, 0, half - 1

    states.save(states.advance([Msg()]))
    saved = json.loads((tmp_path / "state" / "0.json").read_text())["partition"]["reorder"]
    assert len(saved["held"]) == half - len(got.released)  # nothing counted yet is lost
    moved = PartitionStates(tmp_path / "state", TOPIC, fams, 120.0)  # a restart, or the next owner
    got.ids |= _counted(moved, records[half:] + records[:3])  # a re-read record is skipped
    assert moved.duplicates == 3
    assert got.ids | _single_ids(docs) == hunt_ids


@dataclasses.dataclass
class _Partial:
    ids: set[str]
    released: list[Any]


def _counted_without_drain(states: PartitionStates, docs: list[dict[str, Any]]) -> _Partial:
    got = _Partial(set(), [])
    for doc in docs:
        record = parse(doc)
        assert record is not None
        states.hold(0, record)
        for released, fired in states.release(0):
            got.released.append(released)
            got.ids.update(alert_for_fired(f)["event"]["id"] for f in fired)
    return got


class _Msg:
    def __init__(self, partition: int, offset: int, doc: dict[str, Any]) -> None:
        self.topic, self.partition, self.offset = "lw.windows", partition, offset
        self.value = json.dumps(doc).encode()
        self.headers: list[tuple[str, bytes]] = []


@pytest.mark.parametrize("grace, agrees", [("2m", True), ("0", False)])
def test_in_process_runner_reorders_across_batches(hunt_ids: set[str], grace: str, agrees: bool) -> None:
    """The runner without the repartition topic (the demo's, the engines' differential test): the
    events read one host partition after the other, in batches of 5."""
    offsets = {p: 0 for p in range(len(HOSTS))}
    msgs = []
    for partition, doc in by_host_reversed(spray()):
        msgs.append(_Msg(partition, offsets[partition], doc))
        offsets[partition] += 1
    sink = ListSink()
    runner = StreamRunner(dataclasses.replace(Config(), stream_reorder_grace=grace), Detector(load_ruleset(None)),
                          None, sink)
    for start in range(0, len(msgs), 5):
        runner.handle(msgs[start:start + 5])
    runner.drain()
    got = {e.doc["event"]["id"] for e in sink.events}
    assert (got == hunt_ids) is agrees, f"missing {len(hunt_ids - got)}, extra {len(got - hunt_ids)}"
    assert runner.stats.alerts == len(sink.events)


def test_a_record_later_than_the_grace_is_still_counted_and_the_buffer_is_bounded() -> None:
    buffer: ReorderBuffer[str] = ReorderBuffer(grace=10, limit=3)
    buffer.add((100.0, "b", "r"), "b")
    buffer.add((95.0, "a", "r"), "a")
    assert buffer.release() == []  # 100 - 10 = 90: both wait
    buffer.add((111.0, "c", "r"), "c")
    assert buffer.release() == ["a", "b"]  # 111 - 10 = 101: released in time order
    buffer.add((99.0, "late", "r"), "late")  # older than what was released: late, not dropped
    assert buffer.late == 1 and buffer.release() == ["late"]
    for t in (112.0, 113.0, 114.0):
        buffer.add((t, str(t), "r"), str(t))
    assert buffer.release() == ["c"]  # four held, three allowed: the oldest goes
    assert len(buffer) == 3 and buffer.drain() == ["112.0", "113.0", "114.0"]
    assert buffer.newest == 114.0 and not math.isinf(buffer.released_to)


def test_a_quiet_buffer_releases_after_the_grace_in_wall_clock_time() -> None:
    buffer: ReorderBuffer[str] = ReorderBuffer(grace=10)
    buffer.add((500.0, "a", "r"), "a", now=1000.0)
    buffer.add((495.0, "b", "r"), "b", now=1001.0)
    assert buffer.release(now=1002.0) == []  # 500 - 10 s grace = 490, and neither held 10 s yet
    assert buffer.release(now=1009.9) == []
    assert buffer.release(now=1010.0) == ["b", "a"]  # a held 10 s: it goes, and b (older) before it
    assert len(buffer) == 0


def test_under_load_no_hit_waits_longer_than_the_grace() -> None:
    """A hit carrying its partition's newest time while older hits keep coming, one a second (a
    replay of old files, a host whose clock runs ahead): each is released at most the grace after
    it was added, in time order (before, every add restarted the wall-clock wait and the newest hit
    was held until the input stopped)."""
    buffer: ReorderBuffer[str] = ReorderBuffer(grace=5)
    added = {"newest": 0.0}
    buffer.add((1000.0, "newest", "r"), "newest", now=0.0)
    released: list[tuple[float, str]] = []
    for tick in range(1, 30):
        now = float(tick)
        added[f"old{tick}"] = now
        buffer.add((995.5 + tick / 10, f"old{tick}", "r"), f"old{tick}", now=now)  # within the grace
        released += [(now, item) for item in buffer.release(now)]
    assert released[:6] == [(5.0, f"old{t}") for t in range(1, 6)] + [(5.0, "newest")]  # in time order
    assert all(at - added[item] <= buffer.grace for at, item in released)
    assert len(released) == len(added) - 5  # the last 5 s of hits still wait
    assert buffer.late == 29 - 5  # added after the newest was counted: counted where they fall


def test_a_buffer_drained_every_batch_keeps_no_wall_clock_entries() -> None:
    """The in-process runner with a state file drains every batch: nothing of a drained hit stays."""
    buffer: ReorderBuffer[str] = ReorderBuffer(grace=5)
    for tick in range(100):
        buffer.add((float(tick), str(tick), "r"), str(tick), now=float(tick))
        assert buffer.drain() == [str(tick)]
    assert not buffer._arrivals and not buffer._held


def test_the_grace_setting_is_a_duration() -> None:
    assert dataclasses.replace(Config(), stream_reorder_grace="2m").reorder_grace == 120.0
    assert Config().reorder_grace == 5.0
    with pytest.raises(ConfigError, match="LOGWARDEN_STREAM_REORDER_GRACE"):
        validate(dataclasses.replace(Config(), stream_reorder_grace="soon"))


def test_a_quiet_member_raises_the_held_alerts_after_the_grace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                hunt_ids: set[str]) -> None:
    """The repartition path's tick (an empty poll): nothing before the grace has passed in wall-clock
    time, then every held record counted, its alerts delivered and the emptied buffer saved."""
    clock = [1000.0]
    monkeypatch.setattr("logwarden.detection.stream.time.monotonic", lambda: clock[0])
    docs = spray()
    records = _records(by_host_reversed(docs))
    states = PartitionStates(tmp_path / "state", TOPIC, families(load_ruleset(None).correlations), 120.0)
    sink = ListSink()
    runner = StreamRunner(dataclasses.replace(Config(), stream_reorder_grace="2m"), Detector(load_ruleset(None)),
                          None, sink, partitions=states)
    msgs = []
    for offset, doc in enumerate(records):
        msg = _Msg(0, offset, doc)
        msg.topic = TOPIC
        msgs.append(msg)
    runner.handle(msgs)
    saved = json.loads((tmp_path / "state" / "0.json").read_text())["partition"]["reorder"]
    assert not sink.events and len(saved["held"]) == len(records)  # all within the grace: all held
    clock[0] += 60
    runner.tick()
    assert not sink.events
    clock[0] += 61  # 121 s quiet: the newest time moved past the grace
    runner.tick()
    got = {e.doc["event"]["id"] for e in sink.events} | _single_ids(docs)
    assert got == hunt_ids
    assert json.loads((tmp_path / "state" / "0.json").read_text())["partition"]["reorder"]["held"] == []


def _stray(k: int) -> dict[str, Any]:
    """A failed logon from an address seen once (it fires nothing), a second older than the
    spray's newest event: within the grace, so it waits in the same buffer."""
    doc = _logon(SPAN - 1, "4625", HOSTS[1], f"stray{k}")
    address = f"198.51.100.{k + 1}"
    doc["source"]["ip"] = doc["winlog"]["event_data"]["IpAddress"] = address
    doc["event"]["id"] = f"stray-{k}"
    return doc


def test_under_load_a_member_raises_held_alerts_after_the_grace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 hunt_ids: set[str]) -> None:
    """The repartition path under continuous load: the spray's records in one batch, then one
    batch a second, each holding a record a little older than the spray's newest event. The
    spray's correlation alerts come out when its records have waited the grace (2 minutes of the
    fake clock), while the load goes on; before, every new record restarted the wait."""
    clock = [1000.0]
    monkeypatch.setattr("logwarden.detection.stream.time.monotonic", lambda: clock[0])
    docs = spray()
    in_spray = len(_records(by_host_reversed(docs)))
    records = _records(by_host_reversed(docs) + [(0, _stray(k)) for k in range(200)])
    msgs = []
    for offset, doc in enumerate(records):
        msg = _Msg(0, offset, doc)
        msg.topic = TOPIC
        msgs.append(msg)
    states = PartitionStates(tmp_path / "state", TOPIC, families(load_ruleset(None).correlations), 120.0)
    sink = ListSink()
    runner = StreamRunner(dataclasses.replace(Config(), stream_reorder_grace="2m"), Detector(load_ruleset(None)),
                          None, sink, partitions=states)
    runner.handle(msgs[:in_spray])
    first_alert_after: float | None = None
    for msg in msgs[in_spray:]:
        clock[0] += 1
        runner.handle([msg])
        if sink.events and first_alert_after is None:
            first_alert_after = clock[0] - 1000.0
    assert first_alert_after == 120.0  # the grace, while records kept coming
    assert {e.doc["event"]["id"] for e in sink.events} == hunt_ids - _single_ids(docs)
    assert len(states.held[0].buffer) < 120  # the strays, too, leave after the grace
