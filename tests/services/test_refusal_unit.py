"""A refusal in the middle of an indexer run, on a scripted Elasticsearch (no servers): waited out
and logged once per change, never dead-lettered; a drain is exit 3 at once. The real-server
tests are tests/security/test_midrun_refusal_servers.py."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig, TlsError
from elasticsearch import ApiError, AuthenticationException

from logwarden.config import Config
from logwarden.consume import BatchAbandoned, StopFlag
from logwarden.errors import ServerError
from logwarden.pipelines.indexer import Indexer, _Doc
from tests.services.test_indexer_unit import ListSink
from tests.support.log_lines import messages

pytestmark = pytest.mark.usefixtures("no_backoff")

CFG = Config(topic_prefix="lw.", index_prefix="logwarden-", elasticsearch="https://ingest:s3cr3t-pw@127.0.0.1:9")
SECRET = "s3cr3t-pw"


def _meta(status: int) -> ApiResponseMeta:
    return ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                           node=NodeConfig("https", "127.0.0.1", 9))


def _unauthorized() -> ApiError:
    body = {"error": {"type": "security_exception", "reason": "unable to authenticate user [ingest] for REST request "
                      "[/_bulk]"}}
    return AuthenticationException(message="security_exception", meta=_meta(401), body=body)


def _untrusted() -> TlsError:
    inner = ssl.SSLCertVerificationError(1, "certificate verify failed")
    inner.verify_message = "self-signed certificate"
    error = TlsError("TLS error")
    error.__cause__ = inner
    return error


def _items(*statuses: int) -> dict[str, Any]:
    items = []
    for status in statuses:
        result: dict[str, Any] = {"status": status}
        if status == 403:
            result["error"] = {"type": "security_exception",
                               "reason": "action [indices:data/write/bulk[s]] is unauthorized for user [ingest]"}
        items.append({"create": result})
    return {"errors": any(s != 201 for s in statuses), "items": items}


class ScriptedES:
    """Answers each `bulk` with the next entry of `script` (an exception is raised); the last
    entry repeats. Records the documents of every request."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.requests: list[int] = []

    def bulk(self, operations: bytes, **_: Any) -> dict[str, Any]:
        self.requests.append(operations.count(b"\n") // 2)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, BaseException):
            raise step
        return step(self.requests[-1]) if callable(step) else step


def _docs(n: int) -> list[_Doc]:
    return [_Doc("logwarden-windows-2020.04.14", f"id{i}", b'{"a":1}', "lw.windows", 0, i, b'{"a":1}')
            for i in range(n)]


def _indexer(es: Any, drain: bool = False, stop: StopFlag | None = None) -> tuple[Indexer, ListSink]:
    sink = ListSink()
    return Indexer(CFG, es, sink, stop, patience=60.0 if drain else None), sink


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG, logger="logwarden.pipelines.indexer")
    yield caplog


def test_a_password_changed_mid_run_is_one_error_then_one_recovery(records: pytest.LogCaptureFixture) -> None:
    es = ScriptedES([_unauthorized()] * 4 + [lambda n: _items(*[201] * n)])
    indexer, sink = _indexer(es)
    indexer.index_batch(_docs(3))
    assert indexer.stats.created == 3 and indexer.stats.refused == 4 and indexer.stats.dead_lettered == 0
    assert sink.sent == []
    errors = messages(records, logging.ERROR)
    assert len(errors) == 1, errors
    assert "Elasticsearch at https://127.0.0.1:9 refused the credentials (401" in errors[0]
    assert "unable to authenticate user [ingest]" in errors[0] and "retried with backoff" in errors[0]
    assert [line for line in messages(records, logging.INFO) if "accepts the requests again" in line]
    assert all(SECRET not in r.getMessage() and "ingest:" not in r.getMessage() for r in records.records)
    assert all(r.exc_info is None for r in records.records)  # no traceback per retry
    assert not [line for line in messages(records, logging.WARNING) if "unreachable" in line]  # not an outage


def test_items_refused_403_wait_instead_of_becoming_dead_letters(records: pytest.LogCaptureFixture) -> None:
    """A role that lost its write privilege: Elasticsearch answers 200 with a 403 per item. Those
    are retried (the first item already accepted is not sent again), not dead-lettered."""
    es = ScriptedES([_items(201, 403, 403), _items(403, 403), lambda n: _items(*[201] * n)])
    indexer, sink = _indexer(es)
    indexer.index_batch(_docs(3))
    assert es.requests == [3, 2, 2]
    assert indexer.stats.created == 3 and indexer.stats.dead_lettered == 0 and sink.sent == []
    errors = messages(records, logging.ERROR)
    assert len(errors) == 1 and "permission missing (403) for 2 document(s): security_exception: action " \
        "[indices:data/write/bulk[s]] is unauthorized" in errors[0], errors


def test_an_untrusted_certificate_is_a_refusal_not_an_outage(records: pytest.LogCaptureFixture) -> None:
    es = ScriptedES([_untrusted(), _untrusted(), lambda n: _items(*[201] * n)])
    indexer, _ = _indexer(es)
    indexer.index_batch(_docs(2))
    assert indexer.stats.created == 2 and indexer.stats.refused == 2 and indexer.stats.retries == 0
    errors = messages(records, logging.ERROR)
    assert len(errors) == 1 and "its certificate is not trusted (self-signed certificate)" in errors[0], errors


def test_a_new_cause_is_logged_again(records: pytest.LogCaptureFixture) -> None:
    es = ScriptedES([_untrusted(), _unauthorized(), _unauthorized(), lambda n: _items(*[201] * n)])
    indexer, _ = _indexer(es)
    indexer.index_batch(_docs(1))
    errors = messages(records, logging.ERROR)
    assert len(errors) == 2 and "certificate" in errors[0] and "credentials" in errors[1], errors


@pytest.mark.parametrize("answer", [_unauthorized(), _untrusted(), _items(403)], ids=["401", "tls", "item-403"])
def test_a_drain_is_exit_3_at_the_first_refusal(answer: Any) -> None:
    es = ScriptedES([answer])
    indexer, sink = _indexer(es, drain=True)
    with pytest.raises(ServerError) as refused:
        indexer.index_batch(_docs(1))
    assert es.requests == [1] and sink.sent == [] and indexer.stats.dead_lettered == 0
    assert "Elasticsearch at https://127.0.0.1:9" in str(refused.value) and SECRET not in str(refused.value)


def test_a_stop_during_a_refusal_gives_the_batch_up_uncommitted() -> None:
    stop = StopFlag()
    stop.set("SIGTERM")
    indexer, _ = _indexer(ScriptedES([_unauthorized()]), stop=stop)
    with pytest.raises(BatchAbandoned):
        indexer.index_batch(_docs(1))
    assert indexer.stats.created == 0


def test_other_rejections_are_still_dead_letters() -> None:
    """Guard: only 401/403 wait; a mapping error (400 item) is still a dead letter at once."""
    es = ScriptedES([{"errors": True, "items": [{"create": {"status": 400, "error": {"type": "mapper_parsing_exception",
                                                                                       "reason": "bad"}}}]}])
    indexer, sink = _indexer(es)
    indexer.index_batch(_docs(1))
    assert indexer.stats.dead_lettered == 1 and len(sink.sent) == 1 and indexer.stats.refused == 0
