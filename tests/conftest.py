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
