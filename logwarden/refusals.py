"""A server that refuses us in the middle of a run: not an outage, and not a reason to stop a service.

At start, a refusal (401 credentials, 403 permission, an untrusted certificate) is exit 3 at once
(logwarden/es_preflight.py): nothing has worked yet, so the settings of this process are the likely
cause, and only a restart with other settings fixes them. Once requests have been accepted, the
same settings worked a moment ago: the change came from the server's side (a certificate
replaced, a password changed, a role edited), and it is fixed there, usually without touching
this process. So a running service keeps its batch uncommitted (Kafka keeps the data) and asks
again with the outage's capped backoff, and `Refusal` makes the reason visible:

- ERROR once when a refusal starts and once more each time its line changes (another cause, or
  the same cause with another reason), never a traceback, each retry only at debug level;
- INFO once when the server accepts again, with how long it refused and how many requests;
- a drain (`--once`: nobody waits on it) raises ServerError at the first refusal: exit 3.

The lines come from logwarden/server_errors.py (`describe`): the server's URL without user
information, the cause and the setting to look at, never a password.

Users: the indexer's Elasticsearch (`Indexer.es_refusal`); every `consume.Outage` holds one, so a
Kafka consumer or producer refused mid-run (kafka_io's ConsumerRefused, KafkaRefused) and
`detect --interval`'s Elasticsearch (logwarden/detection/schedule.py) are waited out the same way.
The backoff is logwarden/backoff.py's, the outage's.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from logwarden.backoff import FIRST_BACKOFF, MAX_BACKOFF, backoff_delay
from logwarden.errors import ServerError
from logwarden.safe_text import printable


class StopWaiter(Protocol):
    """What a Refusal asks of consume.StopFlag (consume.py builds a Refusal into each Outage, so
    this module does not import it)."""

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when a stop was requested."""
        ...


class Refusal:
    """One server's refusals of a running service: backoff, and the logging said above."""

    def __init__(self, what: str, stop: StopWaiter, logger: logging.Logger, drain: bool) -> None:
        self.what = what  # e.g. "Elasticsearch at https://127.0.0.1:19200", for the recovery line
        self.stop = stop
        self.logger = logger
        self.drain = drain  # raise at the first refusal instead of waiting
        self.line = ""  # the refusal being waited out ("" when none)
        self.since = 0.0
        self.attempt = 0  # refused requests since the refusal started
        self.refusals = 0  # distinct refusal lines logged, all refusals together
        self.retries = 0  # refused requests, all refusals together

    @property
    def ongoing(self) -> bool:
        return bool(self.line)

    def refused(self, line: str, pending: int | None = None, waiting: str = "") -> bool:
        """Record a refused request and sleep the backoff. `line`: what refused and why;
        `pending`: messages waiting on it (None when the caller cannot count them, as a
        consumer's poll); `waiting`: what waits instead, in words, for a caller whose work is not
        Kafka messages (`detect --interval`: the time window it has not searched).

        Returns:
            True when a stop was requested (the caller gives its batch up), False to retry.
        Raises:
            ServerError: `drain` is set.
        """
        line = printable(line)
        if self.drain:
            raise ServerError(line)
        if not self.line:
            self.since = time.monotonic()
        if line != self.line:
            self.refusals += 1
            if not waiting:
                counted = "messages" if pending is None else f"{pending} message(s)"
                waiting = f"{counted} wait uncommitted in Kafka"
            self.logger.error("%s; %s, retried with backoff until it accepts them (not an outage: fix the cause, "
                              "no restart needed)", line, waiting)
        else:
            self.logger.debug("%s (still, attempt %d)", line, self.attempt + 1)
        self.line = line
        delay = backoff_delay(self.attempt, FIRST_BACKOFF, MAX_BACKOFF)
        self.attempt += 1
        self.retries += 1
        return self.stop.wait(delay)

    def accepted(self) -> None:
        """Record an accepted request; logs the end of a refusal once."""
        if self.line:
            self.logger.info("%s accepts the requests again after %.1fs refused (%d attempts)", self.what,
                             time.monotonic() - self.since, self.attempt)
            self.line = ""
            self.attempt = 0


__all__ = ["Refusal"]
