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
  The watermark alone would hold a hit as long as nothing `grace` newer comes: the last hits of
  a quiet partition, and also, under load, a hit carrying the partition's newest time while
  older ones keep arriving (a replay of old files, a host whose clock runs ahead, a shipper
  catching up). So each hit also has a deadline: `grace` seconds of wall clock (`now`, monotonic
  seconds) after it was added. Once the longest-held hit's deadline has passed, it is released,
  and with it every hit before it in (time, event id, rule) order, so the order stays hunt's:
  no hit waits longer than `grace` of wall-clock time, however busy its partition. A hit is
  therefore counted in hunt's order when it arrives within the grace of every later hit of its
  partition on both clocks: less than `grace` of event time behind the newest time, and less
  than `grace` of wall-clock time after a later hit arrived (a host's path to the member slower
  than that by more makes it late, see below).
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
from collections import deque
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
        # (wall clock when added, seq) of the held hits added with a wall clock, in arrival order;
        # an entry whose seq is no longer in `_held` was released already (dropped when met)
        self._arrivals: deque[tuple[float, int]] = deque()
        self._held: set[int] = set()

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, order: Order, item: T, now: float | None = None) -> None:
        """Hold `item` (its order key: event time, event id, rule id) that arrived at `now` (its
        deadline: `now` + grace; None: none, the watermark alone releases it)."""
        if order[0] < self.released_to:
            self.late += 1
        self.newest = max(self.newest, order[0])
        self._push(order, item, now)

    def _push(self, order: Order, item: T, now: float | None) -> None:
        heapq.heappush(self._heap, (order, self._seq, item))
        if now is not None:
            self._arrivals.append((now, self._seq))
            self._held.add(self._seq)
        self._seq += 1

    def release(self, now: float | None = None) -> list[T]:
        """The items the watermark passed (and the oldest beyond `limit`), oldest first; with
        `now`, also every item held `grace` seconds of wall clock or longer, with every item
        before it in order."""
        watermark = self.newest - self.grace
        out: list[T] = []
        while self._heap and (self._heap[0][0][0] <= watermark or len(self._heap) > self.limit):
            out.append(self._pop())
        if now is None:
            return out
        arrivals, held = self._arrivals, self._held
        while arrivals and arrivals[0][0] + self.grace <= now:
            _, due = arrivals.popleft()
            while due in held:  # release in order up to and including the overdue item
                out.append(self._pop())
        while arrivals and arrivals[0][1] not in held:  # released already: forget
            arrivals.popleft()
        return out

    def drain(self) -> list[T]:
        """Every item held, oldest first."""
        out = []
        while self._heap:
            out.append(self._pop())
        self._arrivals.clear()
        return out

    def _pop(self) -> T:
        order, seq, item = heapq.heappop(self._heap)
        self._held.discard(seq)
        self.released_to = max(self.released_to, order[0])
        return item

    def held(self) -> list[tuple[Order, T]]:
        """What is held, oldest first (for the state file)."""
        return [(order, item) for order, _, item in sorted(self._heap, key=lambda entry: entry[:2])]

    def restore(self, held: Iterable[tuple[Order, T]], newest: float, released_to: float, late: int,
                now: float | None = None) -> None:
        """Replace the content with `held` (as `held()` gave it) and the watermark's inputs; the
        wall-clock wait of every item starts again at `now`."""
        self._heap, self._seq, self._arrivals, self._held = [], 0, deque(), set()
        for order, item in held:
            self._push(order, item, now)
        self.newest, self.released_to, self.late = newest, released_to, late
