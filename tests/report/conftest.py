"""Fixtures of the report tests: the compiled rule set and the headless browser."""

from __future__ import annotations

import shutil

import pytest

from tests.support.paths import IN_CI


@pytest.fixture(scope="session")
def ruleset():
    from logwarden.detection.compiler import load_ruleset

    return load_ruleset()


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Debian chromium binary. Missing: a visible skip in a user's clone, a failure in CI
    (.ci/run installs it)."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    msg = "needs Debian chromium for the headless report test (apt-get install -y chromium)"
    if IN_CI:
        pytest.fail(msg + " -- CI installs it, so this is an error", pytrace=False)
    pytest.skip(msg)
