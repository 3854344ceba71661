"""A dead letter that Elasticsearch itself refuses is kept in `<state>/rejected-deadletters.jsonl`;
when that file cannot be written, `index` follows the output rule (one line naming the file,
exit 2) and leaves the batch uncommitted, so the next run, with a usable state folder, keeps it
(real Kafka and Elasticsearch)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from logwarden.config import Config
from logwarden.pipelines.indexer import REJECTED_DEADLETTERS
from tests.services.helpers import produce_raw
from tests.support.cli import cli

pytestmark = pytest.mark.servers

REFUSED = json.dumps({"@timestamp": "2020-04-14T00:22:00.000Z", "error": {"message": "a dead letter"},
                      "source": {"ip": "not an address", "port": "abc"}}).encode()  # the mapping refuses it


def test_unwritable_rejected_deadletters_is_exit_2_and_loses_nothing(ns: Config, tmp_path: Path) -> None:
    produce_raw(ns, ns.topic("deadletter"), [(REFUSED, [("id", b"refused-dead-letter-1")])])
    blocked = tmp_path / "state-is-a-file"
    blocked.write_text("", encoding="utf-8")
    run = cli(dataclasses.replace(ns, state=str(blocked)), "index", "--once")
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    failure = [line for line in lines if "cannot write" in line]
    assert len(failure) == 1 and str(blocked / REJECTED_DEADLETTERS) in failure[0], run.stderr[-3000:]
    assert lines[-1] == failure[0]  # the last line says why it stopped

    state = tmp_path / "state"
    run = cli(dataclasses.replace(ns, state=str(state)), "index", "--once", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    kept = [json.loads(line) for line in (state / REJECTED_DEADLETTERS).read_text(encoding="utf-8").splitlines()]
    assert [k["value"] for k in kept] == [REFUSED.decode()]
    assert "rejected" in kept[0]["reason"] or "refused" in kept[0]["reason"]
