from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ruleset():
    from logwarden.detection.compiler import load_ruleset

    return load_ruleset()


@pytest.fixture(scope="session")
def detector(ruleset):
    from logwarden.detection.engine import Detector

    return Detector(ruleset)
