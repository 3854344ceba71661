"""`stream`'s reorder buffer: correlation hits held for a grace period, released in event-time order.

A correlation group's hits can come from several input partitions (a source address spraying
many hosts, the topics keyed by host), and Kafka fixes no order between partitions: the member
that counts the group meets them in arrival order, while hunt and detect count them in
(time, event id, rule) order. Counted out of order, an episode can open at another event, and
its alert id (made from its first event) then differs between the engines.

So the counting side holds hits here and releases them in (time, event id, rule) order once they
are `grace` seconds older than the newest event time this buffer has seen (the watermark):
within that disorder the count is the one hunt makes. What is released:

- `release(now)`: every hit at or below the watermark (newest - grace), oldest first; when more
  than `limit` are held, the oldest are released too (the buffer is bounded, whatever the input).
  A quiet input would hold its last hits until something newer comes, so the newest time is taken
  to move on with the wall clock (`now`, monotonic seconds) while nothing is added: a hit waits
  at most `grace` seconds of wall-clock time once its partition has gone quiet.
- `drain()`: everything, oldest first (the end of a `--once` run, a clean stop).

A hit older than one already released (it arrived later than the grace) is not dropped: it is
released at the next `release()` and counted where it falls; `late` counts them. The engine takes
it as any out-of-order hit (a sliding window counts it, a decided fixed window counts it as late),
so its episode may start at another event than hunt's.

Items are whatever the caller holds (a repartition record's JSON, or a hit with its event);
`held()` and `restore()` keep the buffer in the per-partition state file.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")
Order = tuple[float, str, str]  # (event time, event id, rule id): hunt's feeding order
DEFAULT_LIMIT = 10_000  # hits held per buffer at most (one repartition partition)


class ReorderBuffer(Generic[T]):
    """Hits held until the watermark passes them; released in (time, event id, rule) order."""

    def __init__(self, grace: float, limit: int = DEFAULT_LIMIT) -> None:
        self.grace = grace
        self.limit = limit
        self.newest = -math.inf  # the newest event time added
        self.released_to = -math.inf  # the time of the last hit released
        self.late = 0  # hits added below what was already released (counted out of order)
        self._heap: list[tuple[Order, int, T]] = []
        self._seq = 0  # ties between equal orders keep their arrival order
        self._added_at: float | None = None  # wall clock (monotonic) of the last add

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, order: Order, item: T, now: float | None = None) -> None:
        """Hold `item` (its order key: event time, event id, rule id) that arrived at `now`."""
        if order[0] < self.released_to:
            self.late += 1
        self.newest = max(self.newest, order[0])
        self._added_at = now
        heapq.heappush(self._heap, (order, self._seq, item))
        self._seq += 1

    def release(self, now: float | None = None) -> list[T]:
        """The items the watermark passed (and the oldest beyond `limit`), oldest first; with
        `now`, the wall-clock time since the last add counts as event time gone by."""
        idle = max(0.0, now - self._added_at) if now is not None and self._added_at is not None else 0.0
        watermark = self.newest + idle - self.grace
        out: list[T] = []
        while self._heap and (self._heap[0][0][0] <= watermark or len(self._heap) > self.limit):
            out.append(self._pop())
        return out

    def drain(self) -> list[T]:
        """Every item held, oldest first."""
        out = []
        while self._heap:
            out.append(self._pop())
        return out

    def _pop(self) -> T:
        order, _, item = heapq.heappop(self._heap)
        self.released_to = max(self.released_to, order[0])
        return item

    def held(self) -> list[tuple[Order, T]]:
        """What is held, oldest first (for the state file)."""
        return [(order, item) for order, _, item in sorted(self._heap, key=lambda entry: entry[:2])]

    def restore(self, held: Iterable[tuple[Order, T]], newest: float, released_to: float, late: int,
                now: float | None = None) -> None:
        """Replace the content with `held` (as `held()` gave it) and the watermark's inputs; the
        wall-clock wait starts again at `now`."""
        self._heap, self._seq = [], 0
        for order, item in held:
            heapq.heappush(self._heap, (order, self._seq, item))
            self._seq += 1
        self.newest, self.released_to, self.late = newest, released_to, late
        self._added_at = now
