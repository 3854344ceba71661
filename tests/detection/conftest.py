from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def ruleset():
    from logwarden.detection.compiler import load_ruleset

    return load_ruleset()


@pytest.fixture(scope="session")
def detector(ruleset):
    from logwarden.detection.engine import Detector

    return Detector(ruleset)
