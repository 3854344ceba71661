"""Sigma v2 correlations: the one window implementation all engines share.

Feed `Hit`s (a base rule or an inner correlation matched an event) in time order; get back
`Fired` results. State is a dict keyed by (correlation id, group key), so a runner can shard it
by group key (stream: by Kafka partition). Semantics, identical in every engine:

- group key = the group-by fields' values, lowercased (Sigma is case-insensitive); a hit
  missing a group-by field is not counted (as an Elasticsearch terms aggregation would skip it).
- `gte` / `gt` (a later event can never make them false): a true sliding window; a hit at time
  t sees the hits with time >= t - timespan of its group; the correlation fires on the hit that
  makes the condition true, then the group's window is cleared (the next alert needs a fresh
  set of events).
- `lt` / `lte` / `eq` / `neq` (a later event can make them false: "fewer than N" is only known
  once the window is over): fixed windows aligned on the epoch, [k*timespan, (k+1)*timespan),
  as pySigma's Elasticsearch ES|QL backend buckets them (`date_trunc(timespan, @timestamp)`).
  A window is decided when the correlation clock (the latest hit time fed, or `advance(t)`)
  reaches its end; a window still open when the input stops is not decided (`open_windows`).
  Only groups with at least one hit exist (no events at all is not "fewer than N" for a group
  nobody has seen, as in a stats/terms aggregation). The alert carries the window's last event.
- temporal: every referenced rule has a hit in the window. temporal_ordered: additionally in
  the listed order (t0 <= t1 <= ...), checked when the last rule's hit arrives.

Episodes (the sliding-window types: gte / gt counts, temporal, temporal_ordered): once a group
fires, every later hit of that group less than `timespan` after the previous one belongs to the
same episode, so one attacker's brute force is one alert however long it lasts. The episode's
id is fixed when it opens (correlation, group, first event), so each version of the alert has
the same id and replaces the previous one (hunt keeps the last, Elasticsearch the same `_id`).
A version is reported when the episode opens, when its count has doubled since the last one
reported, when it ends (the clock passes its last hit + timespan) and on `pending()` (hunt's
end, detect's pass). Only the opening version is a hit for correlations chained on it.

`snapshot()` / `restore()`: the whole state as plain JSON-able data (the hits kept are
(time, event id, rule id, value) tuples, never documents), so `stream` can write it at each
commit point and a restarted stream goes on exactly where the killed one committed; open
episodes are part of it (a restarted stream goes on updating the same alert).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .model import Correlation

_OPS = {
    "gte": lambda n, c: n >= c,
    "gt": lambda n, c: n > c,
    "lt": lambda n, c: n < c,
    "lte": lambda n, c: n <= c,
    "eq": lambda n, c: n == c,
    "neq": lambda n, c: n != c,
}
WINDOW_END_OPS = frozenset({"lt", "lte", "eq", "neq"})  # decided when the window is over
COUNTED_TYPES = frozenset({"event_count", "value_count"})
SNAPSHOT_VERSION = 2  # 2: open episodes


@dataclass(slots=True)
class Hit:
    rule_id: str
    ts: float
    event_id: str
    fields: dict[str, Any]  # flat document (or the group fields of an inner correlation)
    host: str = ""


@dataclass(slots=True)
class Fired:
    correlation: Correlation
    ts: float  # the last contributing event's time
    group: dict[str, str]
    event_ids: list[str]
    count: int
    host: str
    first: float = 0.0  # the first contributing event's time (0: same as ts)
    episode: str = ""  # the episode's id (every version of its alert has it); "" for a window
    update: bool = False  # a later version of an episode already reported


MAX_EPISODE_IDS = 1000  # contributing event ids kept per episode (the count goes on)


@dataclass
class _Episode:
    """A group that fired and goes on firing: its first and last hit, what it counted."""

    id: str
    key_vals: tuple[str, ...]
    first: float
    last: float
    gfields_names: dict[str, str]
    event_ids: list[str]
    count: int
    values: set[str]
    host: str
    reported: int  # the count of the last version reported


@dataclass
class _Group:
    items: deque[tuple[float, str, str, str]] = field(default_factory=deque)  # ts, id, rule, value


@dataclass
class _Window:
    """A fixed window of a window-end correlation: its bounds and what the group saw inside."""

    start: float
    end: float
    key_vals: list[str]
    gfields: list[str]
    items: list[tuple[float, str, str, str]] = field(default_factory=list)  # ts, id, rule, value
    host: str = ""


def decided_at_window_end(c: Correlation) -> bool:
    """True when `c`'s condition can only be judged once its window is over (lt, lte, eq, neq)."""
    return c.type in COUNTED_TYPES and c.op in WINDOW_END_OPS


def scalar(v: Any) -> str | None:
    """A group-by or value field's value as correlations compare it: the first of a list,
    lowercased; None when missing."""
    if isinstance(v, list):
        v = v[0] if v else None
    if v is None:
        return None
    return str(v).lower()


class CorrelationEngine:
    """Correlation state for one runner. Raises ValueError for a condition it cannot judge
    (the compiler accepts only the six Sigma operators, so that means a hand-made rule set)."""

    def __init__(self, correlations: list[Correlation]) -> None:
        self.by_rule: dict[str, list[Correlation]] = {}
        for c in correlations:
            if c.op not in _OPS and c.type in COUNTED_TYPES:
                raise ValueError(f"correlation {c.id}: condition {c.op} is not supported")
            if decided_at_window_end(c) and not c.timespan > 0:
                raise ValueError(f"correlation {c.id}: condition {c.op} needs a timespan > 0")
            for rid in dict.fromkeys(c.rules):
                self.by_rule.setdefault(rid, []).append(c)
        self.state: dict[tuple[str, tuple[str, ...]], _Group] = {}
        self.windows: dict[tuple[str, tuple[str, ...]], _Window] = {}
        self._ends: list[tuple[float, str, tuple[str, ...]]] = []  # heap of open windows' ends
        self._window_corr = {c.id: c for c in correlations if decided_at_window_end(c)}
        self.clock = -math.inf  # latest hit time fed (or advanced to)
        self.late = 0  # hits for a window already decided (input out of time order)
        self.episodes: dict[tuple[str, tuple[str, ...]], _Episode] = {}
        self._episode_ends: list[tuple[float, str, tuple[str, ...]]] = []  # heap: last + timespan
        self._corr = {c.id: c for c in correlations}

    def snapshot(self) -> dict[str, Any]:
        """The state as JSON-able data (`restore` takes it back)."""
        return {
            "version": SNAPSHOT_VERSION,
            "clock": None if self.clock == -math.inf else self.clock,
            "late": self.late,
            "groups": [[cid, list(key), [list(it) for it in g.items]]
                       for (cid, key), g in self.state.items() if g.items],
            "windows": [[cid, list(key), w.start, w.end, w.gfields, w.host, [list(it) for it in w.items]]
                        for (cid, key), w in self.windows.items()],
            "episodes": [[cid, list(key), e.id, e.first, e.last, e.gfields_names, e.event_ids, e.count,
                          sorted(e.values), e.host, e.reported] for (cid, key), e in self.episodes.items()],
        }

    def restore(self, snap: dict[str, Any]) -> int:
        """Replace the state with a `snapshot()`; the state of correlations no longer in the rule
        set is left out. Returns the number of groups, windows and episodes restored.

        Raises:
            ValueError: not a snapshot of this version (the caller starts empty).
        """
        if not isinstance(snap, dict) or snap.get("version") != SNAPSHOT_VERSION:
            raise ValueError("not a correlation snapshot of this version")
        known = {c.id for cs in self.by_rule.values() for c in cs}
        self.state.clear()
        self.windows.clear()
        self._ends.clear()
        self.clock = -math.inf if snap["clock"] is None else float(snap["clock"])
        self.late = int(snap["late"])
        for cid, key, items in snap["groups"]:
            if cid in known:
                self.state[(cid, tuple(key))] = _Group(deque(_item(it) for it in items))
        for cid, key, start, end, gfields, host, items in snap["windows"]:
            if cid in self._window_corr:
                self.windows[(cid, tuple(key))] = _Window(start, end, list(key), list(gfields),
                                                          [_item(it) for it in items], host)
                heapq.heappush(self._ends, (end, cid, tuple(key)))
        self.episodes.clear()
        self._episode_ends.clear()
        for cid, key, eid, first, last, group, ids, count, values, host, reported in snap.get("episodes", []):
            c = self._corr.get(cid)
            if c is None or c.id in self._window_corr:
                continue
            ep = _Episode(str(eid), tuple(key), float(first), float(last), dict(group), list(ids), int(count),
                          set(values), str(host), int(reported))
            self.episodes[(cid, ep.key_vals)] = ep
            heapq.heappush(self._episode_ends, (ep.last + c.timespan, cid, ep.key_vals))
        return len(self.state) + len(self.windows) + len(self.episodes)

    def open_windows(self) -> int:
        """Windows of lt/lte/eq/neq correlations not decided yet (their end not reached)."""
        return len(self.windows)

    def advance(self, now: float) -> list[Fired]:
        """Move the clock to `now` (never back) and decide every window that ended by then;
        returns what fired, chained correlations included."""
        out: list[Fired] = []
        for fired in self._close_until(now):
            out.append(fired)
            out.extend(self._chain(fired))
        return out

    def pending(self) -> list[Fired]:
        """The latest version of every open episode not reported yet (hunt's end, each detect
        pass): the episodes stay open."""
        out = []
        for key, ep in sorted(self.episodes.items()):
            if ep.count != ep.reported:
                out.append(self._version(self._corr[key[0]], ep))
        return out

    def _version(self, c: Correlation, ep: _Episode) -> Fired:
        update = ep.reported > 0
        ep.reported = ep.count
        return Fired(c, ep.last, dict(ep.gfields_names), list(ep.event_ids), ep.count, ep.host,
                     ep.first, ep.id, update)

    def _end_episodes(self, now: float) -> list[Fired]:
        out: list[Fired] = []
        while self._episode_ends and self._episode_ends[0][0] < now:
            end, cid, key_vals = heapq.heappop(self._episode_ends)
            ep = self.episodes.get((cid, key_vals))
            if ep is None:
                continue
            c = self._corr[cid]
            if ep.last + c.timespan != end:  # it went on: its current end is in the heap too
                continue
            del self.episodes[(cid, key_vals)]
            if ep.count != ep.reported:
                out.append(self._version(c, ep))
        return out

    def _close_until(self, now: float) -> list[Fired]:
        if now <= self.clock:
            return []
        self.clock = now
        out: list[Fired] = self._end_episodes(now)
        while self._ends and self._ends[0][0] <= now:
            _, cid, key_vals = heapq.heappop(self._ends)
            w = self.windows.pop((cid, key_vals), None)
            if w is None:
                continue
            c = self._window_corr[cid]
            n = len(w.items) if c.type == "event_count" else len({it[3] for it in w.items})
            if _OPS[c.op](n, c.count):
                names = c.group_by.get(c.rules[0], w.gfields)
                out.append(Fired(c, w.items[-1][0], dict(zip(names, w.key_vals, strict=False)),
                                 [it[1] for it in w.items], n, w.host))
        return out

    def _chain(self, fired: Fired) -> list[Fired]:
        if fired.correlation.id not in self.by_rule:
            return []
        return self.feed(Hit(fired.correlation.id, fired.ts, fired_id(fired), dict(fired.group), fired.host))

    def interested(self, rule_id: str) -> bool:
        return rule_id in self.by_rule

    def feed(self, hit: Hit) -> list[Fired]:
        """Count one hit; returns what fired (windows the hit's time closed come first)."""
        out: list[Fired] = []
        pending = [hit]
        if hit.ts > self.clock:
            for closed in self._close_until(hit.ts):
                out.append(closed)
                if closed.correlation.id in self.by_rule and not closed.update:
                    pending.append(Hit(closed.correlation.id, closed.ts, fired_id(closed), dict(closed.group),
                                       closed.host))
        while pending:  # a fired correlation is itself a hit for correlations that chain on it
            h = pending.pop(0)
            for c in self.by_rule.get(h.rule_id, ()):
                fired = self._feed_one(c, h)
                if fired is not None:
                    out.append(fired)
                    if c.id in self.by_rule and not fired.update:
                        pending.append(Hit(c.id, fired.ts, fired_id(fired), dict(fired.group), fired.host))
        return out

    def _feed_one(self, c: Correlation, h: Hit) -> Fired | None:
        gfields = c.group_by.get(h.rule_id, [])
        key_vals = []
        for f in gfields:
            v = scalar(h.fields.get(f))
            if v is None:
                return None
            key_vals.append(v)
        value = ""
        if c.type == "value_count":
            v = scalar(h.fields.get(c.value_field.get(h.rule_id, "")))
            if v is None:
                return None
            value = v
        key = (c.id, tuple(key_vals))
        if c.id in self._window_corr:
            self._count_in_window(c, h, key, key_vals, gfields, value)
            return None
        ep = self.episodes.get(key)
        if ep is not None:
            if h.ts - ep.last <= c.timespan:
                return self._extend(c, ep, h, value)
            del self.episodes[key]  # over (the clock had not passed its end yet)
        g = self.state.get(key)
        if g is None:
            g = self.state[key] = _Group()
        g.items.append((h.ts, h.event_id, h.rule_id, value))
        lo = h.ts - c.timespan
        while g.items and g.items[0][0] < lo:
            g.items.popleft()
        if c.type == "event_count":
            n = len(g.items)
        elif c.type == "value_count":
            n = len({it[3] for it in g.items})
        elif c.type == "temporal":
            n = len({it[2] for it in g.items})
            if n < len(set(c.rules)):
                return None
            return self._fire(c, h, g, key_vals, gfields, n)
        else:
            if h.rule_id != c.rules[-1] or not _ordered(c.rules, g.items):
                return None
            return self._fire(c, h, g, key_vals, gfields, len(g.items))
        if not _OPS[c.op](n, c.count):
            return None
        return self._fire(c, h, g, key_vals, gfields, n)

    def _count_in_window(self, c: Correlation, h: Hit, key: tuple[str, tuple[str, ...]], key_vals: list[str],
                         gfields: list[str], value: str) -> None:
        start = math.floor(h.ts / c.timespan) * c.timespan
        w = self.windows.get(key)
        if w is None:
            if start + c.timespan <= self.clock:  # its window is over and was decided already
                self.late += 1
                return
            w = self.windows[key] = _Window(start, start + c.timespan, key_vals, gfields)
            heapq.heappush(self._ends, (w.end, c.id, key[1]))
        elif start != w.start:  # an earlier window (out-of-order input): already decided
            self.late += 1
            return
        w.items.append((h.ts, h.event_id, h.rule_id, value))
        w.host = h.host

    def _fire(self, c: Correlation, h: Hit, g: _Group, key_vals: list[str], gfields: list[str], n: int) -> Fired:
        """Open the group's episode with the hits that made the condition true."""
        from logwarden.shippers.base import event_id

        # the group is reported under the field names of the correlation's first rule
        names = c.group_by.get(c.rules[0], gfields)
        group = dict(zip(names, key_vals, strict=False))
        ids = [it[1] for it in g.items]
        first = g.items[0][0] if g.items else h.ts
        values = {it[3] for it in g.items}
        g.items.clear()
        key = "|".join(f"{k}={v}" for k, v in sorted(group.items()))
        ep = _Episode(event_id("alert", c.id, key, ids[0] if ids else "", first), tuple(key_vals), first, h.ts, group,
                      ids[:MAX_EPISODE_IDS], n, values, h.host, 0)
        self.episodes[(c.id, tuple(key_vals))] = ep
        heapq.heappush(self._episode_ends, (ep.last + c.timespan, c.id, tuple(key_vals)))
        return self._version(c, ep)

    def _extend(self, c: Correlation, ep: _Episode, h: Hit, value: str) -> Fired | None:
        """One more hit of an open episode; a new version when its count doubled."""
        ep.last = max(ep.last, h.ts)
        ep.host = h.host or ep.host
        if len(ep.event_ids) < MAX_EPISODE_IDS:
            ep.event_ids.append(h.event_id)
        if c.type == "value_count":
            ep.values.add(value)
            ep.count = len(ep.values)
        else:
            ep.count += 1
        heapq.heappush(self._episode_ends, (ep.last + c.timespan, c.id, ep.key_vals))
        if ep.count >= 2 * ep.reported:
            return self._version(c, ep)
        return None


def _item(raw: list[Any]) -> tuple[float, str, str, str]:
    ts, eid, rule, value = raw
    return float(ts), str(eid), str(rule), str(value)


def _ordered(rules: list[str], items: deque[tuple[float, str, str, str]]) -> bool:
    """Is there t0 <= t1 <= ... with a hit of rules[i] at ti (all inside the window already)?"""
    t = float("inf")
    for rid in reversed(rules):
        cands = [it[0] for it in items if it[2] == rid and it[0] <= t]
        if not cands:
            return False
        t = max(cands)
    return True


def fired_id(f: Fired) -> str:
    """The alert id of what fired: the episode's (the same for every version), or for a
    window-end correlation one made of its group, first event and time."""
    from logwarden.shippers.base import event_id

    if f.episode:
        return f.episode
    key = "|".join(f"{k}={v}" for k, v in sorted(f.group.items()))
    return event_id("alert", f.correlation.id, key, f.event_ids[0] if f.event_ids else "", f.ts)
