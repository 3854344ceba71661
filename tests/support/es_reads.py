"""Reads of indices that a running service may be creating at that moment.

Elasticsearch lists a new index as soon as its creation is published, before its primary shard
has started; a search or count that reaches it in that gap fails with 503 (every shard of the
request failed). A test that polls while an indexer writes waits that gap out, like a reader
would, instead of failing on it; any other answer is raised as it came.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from elasticsearch import ApiError

T = TypeVar("T")

SHARD_START_WAIT = 60.0  # seconds; a primary shard on a loaded 2-core box starts in well under this


def while_shards_start(read: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`read(*args, **kwargs)`, retried every 0.5 s while it answers 503, for up to
    SHARD_START_WAIT seconds (then the last 503 is raised)."""
    deadline = time.monotonic() + SHARD_START_WAIT
    while True:
        try:
            return read(*args, **kwargs)
        except ApiError as err:
            if err.meta.status != 503 or time.monotonic() >= deadline:
                raise
        time.sleep(0.5)
