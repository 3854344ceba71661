"""`detect --interval`'s passes: which time window each one searches, and what a pass that
Elasticsearch did not let finish does.

The model is the indexer's (logwarden/consume.py `Outage`, logwarden/refusals.py): a service
waits, it does not stop.

- Windows: a pass searches [now - lookback - overlap, now], and never starts later than the end
  of the last window searched and written, less the overlap (nor, before the first success,
  later than the first window tried). So the time a failed pass could not search is searched by
  the first pass that succeeds, however long Elasticsearch was away: no alert lost. Alerts have
  deterministic ids and are written with op_type create (a correlation episode's later version
  replaces the earlier one), so searching a stretch twice writes nothing twice. The end of the
  last window written is also kept on disk, per rule (logwarden/detection/searched_mark.py): a
  restarted `detect` reaches back to it (`Windows.resume`), however long it was stopped.
- Catch-up in steps: a window is at most `step` seconds long (`--catch-up-step`; 0: no cap). A
  window that had to stop short of now (after a long stop or outage) is a step: its end is
  recorded as searched like any pass's, and the next step runs at once, without the interval's
  wait, until a window reaches now. One INFO line when catch-up starts (how far behind, about how
  many steps), one when it ends. A stop between steps stops there; the mark holds the last
  step's end. A failed step is a failed pass (below). A step boundary is a pass boundary: the
  search reaches back by the rule set's longest correlation timespan and correlation state is
  carried from pass to pass (logwarden/detection/es.py), so a correlation across steps is the
  one alert a single window gives. The silence pass runs only for a window that reaches now.
- Failures of a pass: a refusal (401, 403, an untrusted certificate: server_errors.describe) is
  one ERROR line naming the cause and the window waiting for it, then each retry at debug
  level; an unreachable or busy server (connection errors, timeouts, 429/5xx) is one WARNING
  line. Either way the pass is tried again with the capped backoff (not after the interval), and
  INFO says once when Elasticsearch accepts or answers again. Any other error (a 400 for a
  query, say) is a WARNING for that pass and the next one comes after the interval, with its
  window starting where the failed one did.
- Alerts a pass found but could not write are kept and written by the next pass, before its
  own: correlation state has already taken their hits, so searching again would not rebuild
  them.
- `--once` has nobody waiting: any failure is a ServerError (exit 3), a refusal in its own words.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import ApiError, TransportError

from logwarden.config import Config
from logwarden.consume import Outage, StopFlag
from logwarden.errors import ServerError
from logwarden.safe_text import printable, redact_credentials
from logwarden.server_errors import describe

log = logging.getLogger(__name__)

BUSY_STATUS = {429, 500, 502, 503, 504}  # a server that answers but cannot serve now: waited for, as an outage


@dataclass
class Windows:
    """The window of each pass. `lookback`: seconds before now (None: all of time, `--once`
    without `--lookback`); `overlap`: extra seconds for late events; `step`: the longest window,
    in seconds (0: no cap; more than the overlap, or no step would move forward)."""

    lookback: float | None
    overlap: float
    step: float = 0.0
    searched_to: datetime | None = None  # end of the last window searched and written
    due_from: datetime | None = None  # the next window starts here or earlier: nothing after it was searched

    def __post_init__(self) -> None:
        if self.step < 0 or (self.step and self.step <= self.overlap):
            raise ValueError(f"a step of {self.step:g} s does not pass the overlap of {self.overlap:g} s")

    def start(self, now: datetime) -> datetime | None:
        """Where the window of a pass at `now` begins (None: no lower bound): the plain lookback,
        or earlier where a window tried before was not searched."""
        if self.lookback is None:
            return None
        start = now - timedelta(seconds=self.lookback + self.overlap)
        if self.due_from is None:
            self.due_from = start  # the first window: what it misses, a later pass searches
        return min(start, self.due_from)

    def window(self, now: datetime) -> tuple[datetime | None, datetime]:
        """(start, end) of the pass at `now`: ends at now, or `step` after its start when that is
        earlier (a catch-up step)."""
        start = self.start(now)
        if start is None or not self.step:
            return start, now
        return start, min(now, start + timedelta(seconds=self.step))

    def steps_to(self, start: datetime, now: datetime) -> int:
        """About how many windows from `start` reach `now` (now does not wait for them)."""
        behind = (now - start).total_seconds()
        if not self.step or behind <= self.step:
            return 1
        return 1 + math.ceil((behind - self.step) / (self.step - self.overlap))

    def resume(self, end: datetime) -> None:
        """A run before this one searched and wrote up to `end`: no window starts later than `end`
        less the overlap (a start within the lookback changes nothing)."""
        self.due_from = end - timedelta(seconds=self.overlap)

    def searched(self, end: datetime) -> None:
        """The window ending at `end` was searched and its alerts written."""
        self.searched_to = end
        self.due_from = end - timedelta(seconds=self.overlap)


def merge_alerts(kept: list[dict[str, Any]], found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`kept` (not written yet) then `found`, one per alert id, the later version winning (a
    correlation episode found again with more events), in the order first seen."""
    by_id: dict[str, dict[str, Any]] = {}
    for alert in (*kept, *found):
        by_id[alert["event"]["id"]] = alert
    return list(by_id.values())


def failure(exc: BaseException, cfg: Config) -> tuple[str, str]:
    """(kind, line) for an exception of a pass: kind "refused" (line: server_errors' words),
    "unreachable" (no answer, or 429/5xx) or "failed" (anything else Elasticsearch answered)."""
    refusal = describe(exc, cfg)
    if refusal:
        return "refused", refusal
    line = f"Elasticsearch at {cfg.es_shown}: {printable(redact_credentials(str(exc)))}"
    if isinstance(exc, ApiError):
        return ("unreachable" if exc.meta.status in BUSY_STATUS else "failed"), line
    return "unreachable", line


class PassRunner:
    """The passes of `detect`, on the schedule the module docstring gives. `search(start, end)`
    returns the alerts of a window; `write(alerts)` stores them (or prints them, `--dry-run`);
    `after(end)` runs once any window is written (the mark), `current(end)` after it only for a
    window that reached now (the silence pass: a verdict about now, not for a catch-up step)."""

    def __init__(self, cfg: Config, windows: Windows, outage: Outage, once: bool,
                 search: Callable[[datetime | None, datetime], list[dict[str, Any]]],
                 write: Callable[[list[dict[str, Any]]], None], after: Callable[[datetime], None],
                 current: Callable[[datetime], None] | None = None) -> None:
        self.cfg = cfg
        self.windows = windows
        self.outage = outage  # Elasticsearch's: backoff, the outage and refusal lines
        self.once = once
        self.search, self.write, self.after, self.current = search, write, after, current
        self.unwritten: list[dict[str, Any]] = []  # alerts found by a pass that could not write them
        self.catching_up: tuple[datetime, float] | None = None  # (from, monotonic start) while behind
        self.steps = 0  # windows written since catch-up started

    def _catch_up_starts(self, start: datetime, now: datetime) -> None:
        self.catching_up, self.steps = (start, time.monotonic()), 0
        behind = timedelta(seconds=round((now - start).total_seconds()))
        log.info("catching up: the window from %s is %s behind now; about %d steps of at most %g s, back to back",
                 start.isoformat(timespec="seconds"), behind, self.windows.steps_to(start, now), self.windows.step)

    def _catch_up_ends(self, end: datetime, since: datetime, began: float) -> None:
        log.info("caught up: %d steps searched from %s to %s in %.0f s", self.steps,
                 since.isoformat(timespec="seconds"), end.isoformat(timespec="seconds"), time.monotonic() - began)
        self.catching_up = None

    def attempt(self, now: datetime) -> str:
        """One try of the pass at `now`. Returns "done"; "step" when the window written stopped
        short of now (catching up: run the next at once); "retry" when Elasticsearch refused or
        was away (backoff slept: try again at once); "next" when the pass failed otherwise
        (logged: wait for the interval); "stop" when a stop was requested during the backoff.

        Raises:
            ServerError: with `once`, any failure of Elasticsearch.
        """
        start, end = self.windows.window(now)
        if start is not None and end < now and self.catching_up is None:
            self._catch_up_starts(start, now)
        try:
            self.unwritten = merge_alerts(self.unwritten, self.search(start, end))
            self.write(self.unwritten)
            self.unwritten = []
            self.windows.searched(end)
            self.after(end)
            if end >= now and self.current is not None:
                self.current(end)
        except (ApiError, TransportError) as exc:
            kind, line = failure(exc, self.cfg)
            if self.once:
                raise ServerError(line) from exc
            since = "the beginning" if start is None else start.isoformat(timespec="seconds")
            if kind == "refused":
                waiting = f"the rules' window from {since} on waits and is searched when it accepts again"
                return "stop" if self.outage.refused(line, waiting=waiting) else "retry"
            if kind == "unreachable":
                why = printable(redact_credentials(str(exc)))
                why = f"{why}; the window from {since} on is searched when it answers"
                return "stop" if self.outage.failed(why) else "retry"
            self.outage.succeeded()
            log.warning("pass failed, the next one searches from %s: %s", since, line)
            return "next"
        self.outage.succeeded()
        if self.catching_up is None:
            return "done"
        self.steps += 1
        log.debug("catch-up step %d searched %s to %s", self.steps, start and start.isoformat(), end.isoformat())
        if end < now:
            return "step"
        self._catch_up_ends(end, *self.catching_up)
        return "done"

    def run(self, stop: StopFlag, interval: float, passed: Callable[[], None],
            clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """Passes until `stop` (or one pass with `once`): a pass whose window was written calls
        `passed` (the counters); a catch-up step is followed by the next at once, any other pass
        by the wait of `interval` seconds, which a stop ends. A stop never interrupts a pass."""
        while not stop.is_set():
            outcome = self.attempt(clock())
            if outcome in ("retry", "stop"):
                continue  # the backoff was slept (or a stop requested: the loop ends)
            if outcome in ("done", "step"):
                passed()
            if outcome == "step":
                continue  # behind: the next step at once
            if self.once or stop.wait(interval):
                break
        if stop.is_set() and self.catching_up is not None and self.windows.searched_to is not None:
            log.info("stopped while catching up, searched to %s: the next start goes on from there",
                     self.windows.searched_to.isoformat(timespec="seconds"))


__all__ = ["PassRunner", "Windows", "failure", "merge_alerts"]
