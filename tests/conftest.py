"""Shared fixtures.

- `shared_data`: ../shared/data (public EVTX samples, SigmaHQ rules). A user's clone has no
  ../shared: tests that need it skip with a visible reason there, and fail when CI=true.
- `lab`: the real Kafka and Elasticsearch, started by the project's own runtime
  (`logwarden.runtime.lab`), on loopback. A test that needs them and cannot get them fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"


def need_shared(sub: str = "") -> Path:
    path = SHARED_DATA / sub
    if not path.exists():
        msg = f"needs the shared test data at {path} (not part of a user's clone)"
        if IN_CI:
            pytest.fail(msg + " -- CI always has it, so this is an error", pytrace=False)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return need_shared()


@pytest.fixture(scope="session")
def lab():
    """The running lab (Kafka + Elasticsearch); started if it is not up yet."""
    from logwarden.config import load
    from logwarden.runtime.lab import Lab

    lab = Lab(load())
    try:
        lab.up()
    except Exception as exc:  # noqa: BLE001 - fail loudly with the reason
        pytest.fail(f"the lab (Kafka + Elasticsearch) could not be started: {exc}", pytrace=False)
    return lab


class IndexedSamples:
    """All of ../shared/data/evtx shipped (`logwarden ship evtx`) and indexed (`logwarden index
    --once`) through the real servers, once per test session, in its own namespace."""

    def __init__(self, cfg, ship: dict, index: dict, root: Path) -> None:
        self.cfg = cfg  # logwarden.config.Config with this namespace's topic/index prefixes
        self.ship = ship  # the shipper's --json summary
        self.index = index  # the indexer's --json summary
        self.root = root  # ../shared/data/evtx


@pytest.fixture(scope="session")
def indexed_samples(lab, tmp_path_factory):
    import json

    from logwarden.es_io import client, install_templates
    from logwarden.kafka_io import ensure_topics
    from tests.pipeline.helpers import cleanup, cli, isolated

    root = need_shared("evtx")
    cfg = isolated(lab.cfg, tmp_path_factory.mktemp("samples"))
    install_templates(client(cfg))
    ensure_topics(cfg)
    ship = cli(cfg, "ship", "evtx", str(root), "--json", "--no-progress")
    assert ship.returncode == 0, ship.stderr[-3000:]
    index = cli(cfg, "index", "--once", "--json")
    assert index.returncode == 0, index.stderr[-3000:]
    yield IndexedSamples(cfg, json.loads(ship.stdout.strip().splitlines()[-1]),
                         json.loads(index.stdout.strip().splitlines()[-1]), root)
    cleanup(cfg)
