"""A real `stream` member (the CLI, on the lab's Kafka, with either consumer client) assigned
repartition partitions whose correlation state files are corrupt, cut short, of another
version or hostile: each file is set aside under a new name with its bytes intact, named in one
ERROR line on stderr (markup, terminal escapes and a huge value stay data there), counted in
the member's stats, and the partitions start empty, so the correlations still fire
(logwarden/detection/stream_state.py; the unit cases are test_stream_state_bad_files_unit.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from logwarden.config import Config
from logwarden.detection.stream_state import partitions_folder
from logwarden.kafka_io import STREAM_REPARTITION
from logwarden.shippers.base import Event
from tests.support.cli import cli

from .helpers import group, produce, read_topic
from .test_stream_state_bad_files_unit import HOSTILE
from .test_stream_state_unit import failure

pytestmark = pytest.mark.servers

BAD = {
    0: b'{"partition": {"offset": 12, "seen": {"lw.windows/0": [11, 0]}, "families": {',  # cut short
    1: json.dumps({"partition": {"offset": HOSTILE + "9" * 200_000, "seen": {}, "families": {}}}).encode(),
}


@pytest.mark.parametrize("client", ["kafka-python", "confluent"])
def test_a_stream_member_sets_bad_state_files_aside_and_goes_on(ns: Config, client: str) -> None:
    cfg = copy.copy(ns)
    cfg.kafka_client = client
    assert cfg.partitions == len(BAD)  # every repartition partition of the single member has a bad file
    produce(cfg, [Event(f"bad-state-{i}", "windows", failure(i)["host"]["name"], failure(i), i) for i in range(200)])
    gid = group(cfg, "stream-bad-state")
    folder = partitions_folder(Path(cfg.state), gid)
    folder.mkdir(parents=True)
    for partition, content in BAD.items():
        (folder / f"{partition}.json").write_bytes(content)

    done = cli(cfg, "stream", "--once", "--json", "--group", gid, timeout=300)

    assert done.returncode == 0, done.stderr[-3000:]
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    assert stats["bad_state_files"] == len(BAD), stats
    errors = [line for line in done.stderr.splitlines() if " error " in line or "ERROR" in line]
    assert len(errors) == len(BAD), done.stderr[-3000:]
    for byte in ("\x1b", "\x07", "\u202e"):
        assert byte not in done.stderr
    assert not any(line.startswith("FAKE LOG LINE") for line in done.stderr.splitlines())  # no forged line
    assert max(map(len, done.stderr.splitlines())) < 2_000
    topic = cfg.topic(STREAM_REPARTITION)
    for partition, content in BAD.items():
        aside = list(folder.glob(f"{partition}.json.bad-*"))
        assert len(aside) == 1 and aside[0].read_bytes() == content, partition
        line = next(e for e in errors if f"{partition}.json " in e)
        assert f"set aside as {aside[0]}" in line and f"{topic}/{partition} starts with an empty state" in line, line
        assert "<script>" in line or partition == 0  # the hostile value is shown as data, cut short
        # the partition went on: its state was saved again, as a new file
        saved = json.loads((folder / f"{partition}.json").read_text())["partition"]
        assert isinstance(saved["offset"], int)
    print(f"\n{client}: " + "\n".join(line[:400] for line in errors))
    alerts = [json.loads(m.value) for m in read_topic(cfg, cfg.topic("alerts"))]
    assert any(a["sigma"]["type"] in ("event_count", "value_count") for a in alerts), len(alerts)
