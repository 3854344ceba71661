"""`while_shards_start`: a test's poll waits out the 503 of an index whose shard has not started,
and nothing else."""

from __future__ import annotations

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from tests.support import es_reads


def _error(status: int) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
    return ApiError("search_phase_execution_exception", meta=meta, body={})


class _Flaky:
    def __init__(self, failures: list[int]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self, **kwargs: object) -> dict[str, object]:
        self.calls += 1
        if self.failures:
            raise _error(self.failures.pop(0))
        return {"count": 3, **kwargs}


def test_a_503_is_waited_out_and_the_answer_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(es_reads.time, "sleep", lambda _s: None)
    read = _Flaky([503, 503])
    assert es_reads.while_shards_start(read, index="x-*") == {"count": 3, "index": "x-*"}
    assert read.calls == 3


def test_any_other_error_is_raised_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(es_reads.time, "sleep", lambda _s: None)
    read = _Flaky([400])
    with pytest.raises(ApiError) as caught:
        es_reads.while_shards_start(read)
    assert caught.value.meta.status == 400 and read.calls == 1


def test_a_503_that_lasts_past_the_wait_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 10_000, 10))
    monkeypatch.setattr(es_reads.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(es_reads.time, "sleep", lambda _s: None)
    read = _Flaky([503] * 100)
    with pytest.raises(ApiError) as caught:
        es_reads.while_shards_start(read)
    assert caught.value.meta.status == 503
    assert read.calls == es_reads.SHARD_START_WAIT // 10  # one read per 10 s step of the fake clock
