"""Session fixtures; the helpers behind them live in `tests.support`.

- `shared_data`: ../shared/data (public EVTX samples, SigmaHQ rules); skips with a visible reason
  in a user's clone, fails when CI=true.
- `lab`: the real Kafka and Elasticsearch, started by the project's own runtime
  (`logwarden.runtime.lab`), on loopback. A test that needs them and cannot get them fails.
- `indexed_samples`: every shared EVTX sample shipped and indexed once, in its own namespace.
- `ns`: a real-server test's own namespace (topics, indices, state folder), with the index
  template and the topics in place; deleted afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from logwarden.config import Config
from logwarden.runtime.lab import Lab
from tests.support.lab import IndexedSamples, index_samples, running_lab
from tests.support.namespaces import cleanup, isolated
from tests.support.paths import need_shared
from tests.support.ports import refused_port as held_refused_port


def pytest_collection_finish(session: pytest.Session) -> None:
    """With oracle tests collected and the shared data present: the oracle's EVTX tables start to
    be read in the background at the lowest priority (tests/oracle/warm.py says why)."""
    if not any(item.get_closest_marker("oracle") for item in session.items):
        return
    from logwarden.detection.compiler import cache_dir
    from tests.oracle import warm
    from tests.oracle.test_oracle import READER
    from tests.support.paths import SHARED_DATA

    if (SHARED_DATA / "evtx").is_dir():
        warm.start(SHARED_DATA / "evtx", cache_dir() / "oracle", READER)


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests.oracle import warm

    warm.stop()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return need_shared()


@pytest.fixture(scope="session")
def lab() -> Lab:
    """The running lab (Kafka + Elasticsearch); started if it is not up yet."""
    return running_lab()


@pytest.fixture(scope="session")
def indexed_samples(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexedSamples]:
    root = need_shared("evtx")
    cfg = isolated(lab.cfg, tmp_path_factory.mktemp("samples"))
    try:
        yield index_samples(cfg, root)
    finally:
        cleanup(cfg)


@pytest.fixture
def ns(lab: Lab, tmp_path: Path) -> Iterator[Config]:
    from logwarden.es_io import client, install_templates
    from logwarden.kafka_io import ensure_topics

    cfg = isolated(lab.cfg, tmp_path)
    install_templates(client(cfg))
    ensure_topics(cfg)
    try:
        yield cfg
    finally:
        cleanup(cfg)


@pytest.fixture
def refused_port() -> Iterator[Callable[[], int]]:
    """Call it for a loopback TCP port that refuses every connection until the test ends (each
    call a new one, held bound meanwhile: no other process can start listening on it)."""
    with contextlib.ExitStack() as held:
        yield lambda: held.enter_context(held_refused_port())
