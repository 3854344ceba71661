"""The capped exponential backoff every retry loop of the services sleeps (an outage in
logwarden/consume.py, a refusal in logwarden/refusals.py, `detect --interval`'s failed passes):
decided once, so a service waits the same way whatever it is waiting for."""

from __future__ import annotations

FIRST_BACKOFF = 0.5  # seconds before the first retry; doubled each time
MAX_BACKOFF = 30.0


def backoff_delay(attempt: int, first: float = FIRST_BACKOFF, cap: float = MAX_BACKOFF) -> float:
    """Seconds to sleep before retry number `attempt` + 1 (`attempt` failures so far, 0 for the
    first): `first` doubled per failure, at most `cap`."""
    return min(cap, first * 2 ** min(attempt, 16))


__all__ = ["FIRST_BACKOFF", "MAX_BACKOFF", "backoff_delay"]
