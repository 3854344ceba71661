"""`index --once` against the real Elasticsearch answering large bulk requests after the request
timeout (tests/support/slow_answers.py holds the answers; Elasticsearch carries the requests
out, as a busy one does): the indexer sends them again in halves and drains everything, where
it used to retry the same request until `--once` gave up with exit 3."""

from __future__ import annotations

import copy
import json

import pytest

from logwarden.es_io import client
from tests.support.cli import cli
from tests.support.namespaces import count
from tests.support.slow_answers import SlowAnswers

from .helpers import event, produce

pytestmark = pytest.mark.servers

# A timeout a loaded box keeps for what is not held: with 2 s, bulk requests of 156-625 events
# into the new index also timed out at load 10 (Elasticsearch itself was that slow), and the
# test measured the box instead of the indexer.
ES_TIMEOUT = 15  # seconds; the forwarder holds large answers twice as long
LARGE = 200_000  # bytes (~450 events): the first bulk request this large is held, no other one


def test_index_once_sends_a_bulk_answered_too_late_again_in_halves(ns):
    n = 5000
    produce(ns, [event(i) for i in range(n)])
    es_port = int(ns.elasticsearch.rsplit(":", 1)[1])
    with SlowAnswers(("127.0.0.1", es_port), large=LARGE, delay=2 * ES_TIMEOUT, times=1) as slow:
        through = copy.copy(ns)
        through.elasticsearch = slow.url_for(ns.elasticsearch)
        through.es_timeout = str(ES_TIMEOUT)
        proc = cli(through, "index", "--once", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert slow.delayed == 1  # one request was answered too late
    halved = proc.stderr.count("did not answer a bulk request of")
    # the first batch is whatever the first poll brought (up to 5,000 events, fewer on a loaded box)
    first = f"documents within {ES_TIMEOUT}s; sending it again in halves"
    assert halved >= 1 and first in proc.stderr, proc.stderr[-3000:]
    assert "unreachable (" not in proc.stderr, proc.stderr[-3000:]  # busy is not away
    assert stats["retries"] == halved
    # what the timed-out requests created comes back as already there: each document once
    assert stats["created"] + stats["existing"] == n and stats["existing"] > 0
    assert count(client(ns), ns, "windows") == n
