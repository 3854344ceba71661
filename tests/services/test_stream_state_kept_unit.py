"""A correlation state file that cannot be loaded AND cannot be set aside (its folder read-only,
EACCES; no free name beside it) is kept byte for byte and the member refuses to go on:
`StateFileKept`, exit 2, one line naming the file, why it cannot be loaded, why it cannot be
moved and what to do (logwarden/detection/stream_state.py; before: "NOT set aside", the
partition started empty and its next save replaced the evidence).

The rebalance listener must not raise (kafka-python turns its error into a KafkaError, which the
consume loop retries as an outage): it keeps the refusal, and the runner's next call raises it.
A real read-only folder (tests/support/read_only.py: as root, a child without the capabilities
that bypass file modes), and fakes that raise PermissionError for the same path in process.
The same through the CLI on the lab: test_stream_state_kept_servers.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from logwarden import errors
from logwarden.detection import stream_state
from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector
from logwarden.detection.repartition import families
from logwarden.detection.stream_state import PartitionStates, StateFileKept, StreamState, TopicPartition
from tests.support.paths import ROOT
from tests.support.read_only import bound_by_modes

from .test_stream_state_bad_files_unit import HOSTILE, _assert_safe_line

TOPIC = "lw.stream-repartition"
CUT_SHORT = b'{"partition": {"offset": 12, "seen": {"lw.windows/0": [11, 0]}, "families": {'
HOSTILE_KIND = json.dumps({"partition": {"offset": HOSTILE, "seen": {}, "families": {}}}).encode()


def _states(folder: Path) -> PartitionStates:
    return PartitionStates(folder, TOPIC, families(load_ruleset(None).correlations), 0.0)


def _refuse(*args: Any, **kwargs: Any) -> None:
    raise PermissionError(13, "Permission denied")


@pytest.fixture
def no_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every hard link and rename refused, as in a read-only folder."""
    monkeypatch.setattr(stream_state.os, "link", _refuse)
    monkeypatch.setattr(stream_state.os, "rename", _refuse)


def _assert_refusal(kept: StateFileKept, path: Path, *reasons: str) -> None:
    line = str(kept)
    _assert_safe_line(line)
    assert errors.exit_code_for(kept) == errors.EXIT_USAGE  # exit 2: the configured state folder is unusable
    assert line.startswith(f"correlation state {path} cannot be loaded ("), line
    for reason in reasons:
        assert reason in line, line
    assert f"move it out of {path.parent}" in line and f"or make {path.parent} writable, then start again" in line


CHILD = """
import json, sys
from pathlib import Path
from logwarden.detection.compiler import load_ruleset
from logwarden.detection.repartition import families
from logwarden.detection.stream_state import PartitionStates, StateFileKept, TopicPartition
states = PartitionStates(Path(sys.argv[1]), sys.argv[2], families(load_ruleset(None).correlations), 0.0)
states.on_partitions_assigned([TopicPartition(sys.argv[2], 0)])  # must not raise
try:
    states.holding()
except StateFileKept as kept:
    print(json.dumps({"kept": str(kept), "bad_files": states.bad_files, "held": sorted(states.held)}))
else:
    print(json.dumps({"kept": None}))
"""


@pytest.mark.parametrize("content", [CUT_SHORT, HOSTILE_KIND], ids=["cut short", "hostile value"])
def test_a_bad_file_in_a_read_only_folder_is_kept_and_the_member_refuses(tmp_path: Path, content: bytes) -> None:
    prefix = bound_by_modes()
    folder = tmp_path / "stream-lw.stream"
    folder.mkdir()
    path = folder / "0.json"
    path.write_bytes(content)
    folder.chmod(0o555)
    try:
        child = subprocess.run([*prefix, sys.executable, "-c", CHILD, str(folder), TOPIC], cwd=ROOT,
                               capture_output=True, text=True, timeout=120)
    finally:
        folder.chmod(0o755)
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["kept"] is not None, "the member went on with the bad file in place"
    assert result["bad_files"] == 0 and result["held"] == []  # nothing set aside, the partition not started
    _assert_safe_line(result["kept"])
    assert f"correlation state {path} cannot be loaded" in result["kept"]
    assert "cannot be set aside (Permission denied)" in result["kept"], result["kept"]
    assert sorted(p.name for p in folder.iterdir()) == ["0.json"] and path.read_bytes() == content


def test_the_listener_keeps_the_refusal_and_every_runner_call_raises_it(tmp_path: Path, no_moves: None) -> None:
    path = tmp_path / "0.json"
    path.write_bytes(HOSTILE_KIND)
    states = _states(tmp_path)
    states.on_partitions_assigned([TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)])  # no exception here
    assert states.kept is not None and states.bad_files == 0 and 0 not in states.held
    _assert_refusal(states.kept, path, "invalid literal for int()", "<script>",
                    "cannot be set aside (Permission denied)",
                    f"{TOPIC}/0 does not start on an empty state that would be saved over it")
    for call in (states.holding, states.drain, lambda: states.save({0, 1}), lambda: states.release(1),
                 lambda: states.advance([_Rec(TOPIC, 0, 3)])):
        with pytest.raises(StateFileKept) as raised:
            call()
        assert raised.value is states.kept
    assert path.read_bytes() == HOSTILE_KIND and sorted(p.name for p in tmp_path.iterdir()) == ["0.json"]


def test_no_free_name_beside_it_is_a_refusal_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def taken(*args: Any, **kwargs: Any) -> None:
        raise FileExistsError(17, "File exists")

    monkeypatch.setattr(stream_state.os, "link", taken)
    path = tmp_path / "0.json"
    path.write_bytes(CUT_SHORT)
    states = _states(tmp_path)
    states.on_partitions_assigned([TopicPartition(TOPIC, 0)])
    assert states.kept is not None
    _assert_refusal(states.kept, path, "cannot be set aside (no free name beside it)")
    assert path.read_bytes() == CUT_SHORT


def test_a_member_state_file_that_cannot_be_moved_stops_the_member_at_start(tmp_path: Path, no_moves: None) -> None:
    path = tmp_path / "stream-lw.stream.json"
    path.write_text('{"stream": {"correlations": {"version": 999}, "offsets": []}}')
    detector = Detector(load_ruleset(None))
    empty = detector.correlations.snapshot()
    with pytest.raises(StateFileKept) as raised:
        StreamState(path, detector.correlations)
    _assert_refusal(raised.value, path, "cannot be set aside (Permission denied)", "the member does not start")
    assert detector.correlations.snapshot() == empty
    assert path.read_text().startswith('{"stream"')


def test_a_good_file_beside_a_read_only_refusal_is_not_touched(tmp_path: Path, no_moves: None) -> None:
    """A folder where moves fail but the files load: nothing is refused (only a bad file needs moving)."""
    (tmp_path / "0.json").write_text('{"partition": {"offset": 4, "seen": {}, "families": {}}}')
    states = _states(tmp_path)
    states.on_partitions_assigned([TopicPartition(TOPIC, 0)])
    assert states.kept is None and states.held[0].offset == 4 and states.holding() == set()


class _Rec:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = topic, partition, offset
