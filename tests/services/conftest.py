"""Fixtures of the services' real-server tests: a namespace of their own on the lab's servers."""

from __future__ import annotations

import pytest

from logwarden.es_io import client, install_templates
from logwarden.kafka_io import ensure_topics
from tests.support.namespaces import cleanup, isolated


@pytest.fixture
def ns(lab, tmp_path):
    cfg = isolated(lab.cfg, tmp_path)
    install_templates(client(cfg))
    ensure_topics(cfg)
    yield cfg
    cleanup(cfg)

