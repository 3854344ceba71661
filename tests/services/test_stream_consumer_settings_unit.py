"""`stream`'s consumer asks the broker for fuller fetches (detection/stream.py STREAM_FETCH), with
either client, and a caller's own option still wins (no servers: the consumer is never built)."""

from __future__ import annotations

from typing import Any

import pytest

from logwarden.config import Config
from logwarden.detection.stream import STREAM_FETCH, run_stream


class _Built(Exception):
    """Raised by the stand-in consumer factory once it has the options (ends run_stream there)."""


def _options_of_stream(monkeypatch: pytest.MonkeyPatch, kafka_options: dict[str, Any] | None = None) -> dict[str, Any]:
    import logwarden.kafka_io as kafka_io
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.engine import Detector

    seen: dict[str, Any] = {}

    def consumer(cfg: Config, topics: list[str], group_id: str, listener: Any = None, **options: Any) -> Any:
        seen.update(options)
        raise _Built

    monkeypatch.setattr(kafka_io, "make_consumer", consumer)
    with pytest.raises(_Built):
        run_stream(Config(), Detector(load_ruleset(None)), once=True, kafka_options=kafka_options)
    return seen


def test_stream_members_fetch_with_a_minimum_size_and_a_bounded_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    options = _options_of_stream(monkeypatch)
    assert options["fetch_min_bytes"] == STREAM_FETCH["fetch_min_bytes"] > 1  # kafka-python's default is 1
    assert 0 < options["fetch_max_wait_ms"] == STREAM_FETCH["fetch_max_wait_ms"] < 500  # and 500 ms


def test_a_callers_option_overrides_the_fetch_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    options = _options_of_stream(monkeypatch, {"fetch_min_bytes": 1})
    assert options["fetch_min_bytes"] == 1
    assert options["fetch_max_wait_ms"] == STREAM_FETCH["fetch_max_wait_ms"]


def test_the_fetch_settings_map_to_librdkafka() -> None:
    pytest.importorskip("confluent_kafka", reason="confluent-kafka not installed (pip install 'logwarden[fast]')")
    from logwarden.kafka_clients.confluent_consumer import consumer_config

    assert consumer_config(dict(STREAM_FETCH)) == {"fetch.min.bytes": STREAM_FETCH["fetch_min_bytes"],
                                                   "fetch.wait.max.ms": STREAM_FETCH["fetch_max_wait_ms"]}
