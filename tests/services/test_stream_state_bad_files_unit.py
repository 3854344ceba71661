"""A correlation state file that cannot be loaded is evidence of open correlation windows: it is
set aside under a new name (never overwritten), named in one ERROR line with the reason (hostile
content stays data there), counted, and the partition starts empty so detection goes on
(logwarden/detection/stream_state.py). No servers here: the same through a real `stream` member
is test_stream_bad_state_servers.py."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from logwarden.detection import stream_state
from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector
from logwarden.detection.evaluate import flatten
from logwarden.detection.repartition import Router, families, parse
from logwarden.detection.stream_state import PartitionStates, StreamState, read_state, set_aside
from tests.services.test_stream_state_unit import failure

TOPIC = "lw.stream-repartition"
HOSTILE = ("<script>alert(1)</script>\x1b[2J\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07\u202egpj.exe"
           "\nFAKE LOG LINE")


def _states(folder: Path) -> PartitionStates:
    return PartitionStates(folder, TOPIC, families(load_ruleset(None).correlations), 0.0)


def _good_state(folder: Path) -> bytes:
    """A state file of partition 0 as a member writes it, with correlation groups open."""
    ruleset = load_ruleset(None)
    states = _states(folder)
    router = Router(ruleset.correlations)
    detector = Detector(ruleset)
    for i in range(40):
        doc = failure(i)
        flat = flatten(doc)
        rules = [r.id for r in detector.match(flat) if router.interested(r.id)]
        for event in router.records("lw.windows", rules, flat, doc["event"]["id"], float(i), doc["host"]["name"],
                                    {"topic": "lw.windows", "partition": 0, "offset": i}):
            record = parse(event.doc)
            assert record is not None
            states.feed(0, record)
    states.advance([_Rec(TOPIC, 0, 6)])
    states.save({0})
    return (folder / "0.json").read_bytes()


class _Rec:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = topic, partition, offset


CASES = ["truncated", "not json", "not utf-8", "empty", "another file's json", "wrong version",
         "wrong kind, huge hostile value", "hostile key", "deep nesting", "infinite offset"]


def _bad_contents(good: bytes) -> dict[str, bytes]:
    snap = json.loads(good)
    wrong_version = json.loads(good)
    for fam in wrong_version["partition"]["families"].values():
        fam["version"] = 999
    wrong_kind = json.loads(good)
    wrong_kind["partition"]["offset"] = HOSTILE + "A" * 1_000_000
    hostile_key = {"partition": {**snap["partition"], "seen": {HOSTILE: [HOSTILE, 0]}}}
    return {
        "truncated": good[: len(good) // 2],
        "not json": b"\x00\x01 garbage " + HOSTILE.encode(),
        "not utf-8": b'{"partition": "\xff\xfe"}',
        "empty": b"",
        "another file's json": b'{"stream": {"offsets": []}}',
        "wrong version": json.dumps(wrong_version).encode(),
        "wrong kind, huge hostile value": json.dumps(wrong_kind).encode(),
        "hostile key": json.dumps(hostile_key).encode(),
        "deep nesting": b"[" * 100_000 + b"]" * 100_000,
        "infinite offset": good.replace(b'"offset": 7', b'"offset": 1e999'),
    }


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def _assert_safe_line(line: str) -> None:
    assert "\n" not in line and "\x1b" not in line and "\x07" not in line and "\u202e" not in line, line[:500]
    assert len(line) < 2_000, len(line)


@pytest.mark.parametrize("case", CASES)
def test_a_bad_partition_state_is_set_aside_logged_counted_and_the_partition_starts_empty(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, case: str) -> None:
    good = _good_state(tmp_path / "good")
    assert json.loads(good)["partition"]["offset"] == 7
    assert any(f["groups"] for f in json.loads(good)["partition"]["families"].values())
    contents = _bad_contents(good)
    assert sorted(contents) == sorted(CASES)
    content = contents[case]
    folder = tmp_path / "state"
    folder.mkdir()
    (folder / "0.json").write_bytes(content)
    states = _states(folder)
    with caplog.at_level(logging.INFO, logger="logwarden"):
        states.on_partitions_assigned([stream_state.TopicPartition(TOPIC, 0)])
    held = states.held[0]
    assert held.offset is None and not held.seen and not len(held.buffer)
    assert all(not e.snapshot()["groups"] for e in held.engines.values())
    assert states.bad_files == 1
    aside = [p for p in folder.iterdir() if p.name.startswith("0.json.bad-")]
    assert len(aside) == 1 and aside[0].read_bytes() == content  # kept as it was
    assert not (folder / "0.json").exists()
    errors = _errors(caplog)
    assert len(errors) == 1, errors
    _assert_safe_line(errors[0])
    assert str(folder / "0.json") in errors[0] and f"set aside as {aside[0]}" in errors[0]
    assert f"{TOPIC}/0 starts with an empty state" in errors[0]

    states.advance([_Rec(TOPIC, 0, 3)])  # the partition goes on: its next save is a new file
    states.save({0})
    assert json.loads((folder / "0.json").read_text())["partition"]["offset"] == 4
    assert aside[0].read_bytes() == content  # never overwritten


def test_a_good_state_file_still_loads(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = _good_state(tmp_path)
    states = _states(tmp_path)
    seeks: list[Any] = []

    class _Consumer:
        def seek(self, tp: Any, offset: int) -> None:
            seeks.append((tp.partition, offset))

    states.consumer = _Consumer()
    states.on_partitions_assigned([stream_state.TopicPartition(TOPIC, 0)])
    assert seeks == [(0, 7)] and states.bad_files == 0 and not _errors(caplog)
    states.save({0})
    assert json.loads((tmp_path / "0.json").read_bytes()) == json.loads(good)  # same state written back
    assert (tmp_path / "0.json").read_bytes() == good  # and in the same format (indent 1, sorted keys)


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_state_path_that_is_no_regular_file_is_set_aside_without_blocking(tmp_path: Path, kind: str,
                                                                             caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "3.json"
    if kind == "fifo":
        os.mkfifo(path)  # reading it would wait for a writer forever
    else:
        path.mkdir()
        (path / "inside").write_text("x")
    states = _states(tmp_path)
    states.on_partitions_assigned([stream_state.TopicPartition(TOPIC, 3)])
    assert states.bad_files == 1 and states.held[3].offset is None
    errors = _errors(caplog)
    assert len(errors) == 1 and "not a regular file" in errors[0], errors
    assert not path.exists() and len(list(tmp_path.glob("3.json.bad-*"))) == 1


def test_set_aside_never_overwrites_an_earlier_bad_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    class _Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> _Frozen:
            return cls(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)

    monkeypatch.setattr(stream_state, "datetime", _Frozen)
    path = tmp_path / "0.json"
    kept = []
    for n in range(3):
        path.write_text(f"bad {n}")
        aside = set_aside(path, ValueError(f"case {n}"), "lw.r/0")
        assert aside is not None
        kept.append(aside)
    assert [p.name for p in kept] == ["0.json.bad-20260102T030405.000006Z", "0.json.bad-20260102T030405.000006Z-1",
                                      "0.json.bad-20260102T030405.000006Z-2"]
    assert [p.read_text() for p in kept] == ["bad 0", "bad 1", "bad 2"]


def test_read_state(tmp_path: Path) -> None:
    assert read_state(tmp_path / "missing.json", "partition") is None
    (tmp_path / "ok.json").write_text('{"partition": {"offset": 1}}')
    assert read_state(tmp_path / "ok.json", "partition") == {"offset": 1}
    for content, why in ((b"[]", "holds no 'partition' state object"), (b'{"partition": 3}', "holds no"),
                         (b'{"partition": {', "not JSON"), (b"\xff", "not UTF-8")):
        (tmp_path / "bad.json").write_bytes(content)
        with pytest.raises(stream_state.BadStateFile, match=why):
            read_state(tmp_path / "bad.json", "partition")


def test_a_bad_member_state_file_is_set_aside_too(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "stream-lw.stream.json"
    path.write_text('{"stream": {"correlations": {"version": 999}, "offsets": []}}')
    detector = Detector(load_ruleset(None))
    empty = detector.correlations.snapshot()
    state = StreamState(path, detector.correlations)
    assert state.offsets == {} and state.bad_files == 1 and state.set_aside is not None
    assert detector.correlations.snapshot() == empty
    assert state.set_aside.read_text().startswith('{"stream"') and not path.exists()
    errors = _errors(caplog)
    assert len(errors) == 1 and "the member starts with an empty state" in errors[0], errors


def test_a_bad_file_that_cannot_be_moved_is_kept_and_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """(before: "NOT set aside", the member went on, and its next save replaced the file; the
    member-level cases are test_stream_state_kept_unit.py)"""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(stream_state.os, "link", refuse)
    monkeypatch.setattr(stream_state.os, "rename", refuse)
    path = tmp_path / "0.json"
    path.write_text("{")
    with pytest.raises(stream_state.StateFileKept, match=r"cannot be set aside \(Permission denied\)"):
        set_aside(path, ValueError("cut short"), "lw.r/0")
    assert not _errors(caplog)  # the refusal is the one line, said by whoever stops
    assert path.read_text() == "{"
