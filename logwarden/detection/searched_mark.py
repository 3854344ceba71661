"""Where `detect --interval` had searched to, kept across its restarts.

A pass that searched a window and wrote its alerts records the window's end in
`<state>/detect-searched-<index prefix>.json`. A `detect` started again reads it and its first
window reaches back to that end (less the overlap), however long it was stopped: the events of
the time no `detect` ran are searched once, instead of only the last lookback's. Alert ids are
deterministic, so the overlap writes nothing twice.

The mark is an aid, not a checkpoint a run depends on: an unreadable mark (a missing, damaged or
foreign file, a time in the future) is one WARNING and the plain lookback; a mark that cannot be
written (no permission, a full disk) is one WARNING for the run, and the in-memory schedule goes
on (logwarden/detection/schedule.py). Written atomically (logwarden/atomic_file.py).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

from logwarden.atomic_file import output
from logwarden.errors import OutputError
from logwarden.safe_text import printable

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def mark_path(state: Path, index_prefix: str) -> Path:
    """The mark file of the detector writing `index_prefix`'s alerts, in the state folder."""
    name = _UNSAFE.sub("_", index_prefix.rstrip("-")) or "default"
    return state / f"detect-searched-{name}.json"


class SearchedMark:
    """The end of the last window searched and written, on disk at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.write_failed = False  # warned once: later saves are still tried, silently

    def load(self, now: datetime) -> datetime | None:
        """The recorded end, or None (no mark yet; unreadable or later than `now`: warned)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read %s (%s): the first pass searches the plain lookback",
                        printable(str(self.path)), printable(exc.strerror or str(exc)))
            return None
        try:
            loaded = json.loads(text)
            end = datetime.fromisoformat(loaded["searched_to"]) if isinstance(loaded, dict) else None
        except (ValueError, KeyError, TypeError):
            end = None
        if end is None or end.tzinfo is None or end > now:
            log.warning("%s does not hold a past time: the first pass searches the plain lookback",
                        printable(str(self.path)))
            return None
        return end.astimezone(UTC)

    def save(self, end: datetime) -> None:
        """Record `end`. Never raises: a failure is one WARNING per run."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with output(self.path) as out:
                out.write(json.dumps({"searched_to": end.astimezone(UTC).isoformat()}) + "\n")
        except (OSError, OutputError) as exc:
            if not self.write_failed:
                log.warning("cannot record where detect searched to (%s): a restart searches only its lookback",
                            printable(str(exc)))
            self.write_failed = True
            return
        if self.write_failed:
            log.info("%s written again", printable(str(self.path)))
            self.write_failed = False


__all__ = ["SearchedMark", "mark_path"]
