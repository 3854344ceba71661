"""A real `stream --once` member (the CLI on the lab's Kafka, either consumer client) whose
repartition partition has a state file that cannot be loaded, in a state folder it may not
write (mode 555: EACCES; as root, the member runs without the capabilities that bypass file
modes, tests/support/read_only.py): the member stops with exit 2 and one line naming the file,
why it cannot be loaded, why it cannot be moved and what to do; the file stays byte for byte and
nothing is committed. Once the folder is writable again, the next run sets the file aside, says
so in its text summary ("1 bad state files set aside") and reads every event (before: the
member went on without the state, and the first save after the folder took writes again
replaced the evidence)."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest

from logwarden.config import Config
from logwarden.detection.stream_state import partitions_folder
from logwarden.shippers.base import Event
from tests.support.cli import cli, command, env_for
from tests.support.paths import ROOT
from tests.support.read_only import bound_by_modes

from .helpers import group, produce
from .test_stream_state_kept_unit import CUT_SHORT
from .test_stream_state_unit import failure

pytestmark = pytest.mark.servers

EVENTS = 200


@pytest.mark.parametrize("client", ["kafka-python", "confluent"])
def test_a_stream_member_keeps_a_bad_file_it_cannot_move_and_stops(ns: Config, client: str) -> None:
    prefix = bound_by_modes()
    cfg = copy.copy(ns)
    cfg.kafka_client = client
    produce(cfg, [Event(f"kept-state-{i}", "windows", failure(i)["host"]["name"], failure(i), i)
                  for i in range(EVENTS)])
    gid = group(cfg, "stream-kept-state")
    folder = partitions_folder(Path(cfg.state), gid)
    folder.mkdir(parents=True)
    path = folder / "0.json"
    path.write_bytes(CUT_SHORT)
    folder.chmod(0o555)
    try:
        refused = subprocess.run([*prefix, *command("stream", "--once", "--json", "--group", gid)], env=env_for(cfg),
                                 cwd=ROOT, capture_output=True, text=True, timeout=300)
    finally:
        folder.chmod(0o755)

    assert refused.returncode == 2, (refused.returncode, refused.stderr[-3000:])
    assert "Traceback" not in refused.stderr and refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    last = lines[-1]
    assert last.startswith(f"logwarden stream: correlation state {path} cannot be loaded (not JSON"), last
    assert "cannot be set aside (Permission denied)" in last and f"make {folder} writable, then start again" in last
    assert sum("cannot be set aside" in line for line in lines) == 1, refused.stderr[-3000:]  # said once
    assert sorted(p.name for p in folder.iterdir()) == ["0.json"] and path.read_bytes() == CUT_SHORT
    print(f"\n{client}: {last[:400]}")

    after = cli(cfg, "stream", "--once", "--group", gid, timeout=300)  # the folder is writable again

    assert after.returncode == 0, after.stderr[-3000:]
    summary = after.stdout.strip().splitlines()[-1]
    assert summary.startswith("stream: ") and summary.endswith(", 1 bad state files set aside"), summary
    consumed = int(summary.split()[1])
    assert consumed >= EVENTS, summary  # nothing was committed by the refused run
    aside = list(folder.glob("0.json.bad-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == CUT_SHORT
    assert isinstance(json.loads(path.read_text())["partition"]["offset"], int)  # the new state, a new file
