"""The real servers for the tests: the running lab, and the shared EVTX samples shipped and indexed
through it once per session."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from logwarden.config import Config, load
from logwarden.errors import LogwardenError
from logwarden.runtime.lab import Lab


def running_lab() -> Lab:
    """The lab with Kafka and Elasticsearch up, started if needed.

    Fails the calling test (pytest's fail outcome) with the reason when they cannot be started.
    """
    lab = Lab(load())
    try:
        lab.up()
    except (LogwardenError, OSError) as exc:  # the typed errors of Lab.up(), and the OS refusing
        pytest.fail(f"the lab (Kafka + Elasticsearch) could not be started: {exc}", pytrace=False)
    return lab


@dataclass
class IndexedSamples:
    """All of ../shared/data/evtx shipped (`logwarden ship evtx`) and indexed (`logwarden index
    --once`) through the real servers, in its own namespace."""

    cfg: Config  # this namespace's topic and index prefixes
    ship: dict[str, Any]  # the shipper's --json summary
    index: dict[str, Any]  # the indexer's --json summary
    root: Path  # ../shared/data/evtx


def index_samples(cfg: Config, root: Path) -> IndexedSamples:
    """Ship and index every sample under `root` into the (already isolated) namespace `cfg`.

    Fails the calling test when either command exits non-zero.
    """
    from logwarden.es_io import client, install_templates
    from logwarden.kafka_io import ensure_topics

    from .cli import cli, shipped

    install_templates(client(cfg))
    ensure_topics(cfg)
    ship = shipped(cli(cfg, "ship", "evtx", str(root), "--json", "--no-progress"))
    index = cli(cfg, "index", "--once", "--json")
    assert index.returncode == 0, index.stderr[-3000:]
    return IndexedSamples(cfg, ship, json.loads(index.stdout.strip().splitlines()[-1]), root)
