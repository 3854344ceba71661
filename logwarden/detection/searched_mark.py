"""Where `detect --interval` had searched to, per rule, kept across its restarts.

A pass that searched a window and wrote its alerts records the window's end for every rule it
ran, in `<state>/detect-searched-<index prefix>.json` (`{"rules": {rule id: end}}`). A `detect`
started again reads the ends of its own rules and its first window reaches back to the earliest
of them (less the overlap), however long it was stopped: the events of the time its rules did
not run are searched once, instead of only the last lookback's. A rule with no end yet (a new
rule) follows the others; a rule set none of whose rules has an end starts from the plain
lookback. Two `detect`s with different rule sets on one index prefix therefore keep their own
ends in the one file: neither skips the time the other ran and it did not.

Saving is a read-modify-write of the file under an exclusive `flock` on `<file>.lock` beside it
(never deleted: a lock file removed while held locks nothing), so two processes never lose each
other's ends; the file itself is replaced atomically (logwarden/atomic_file.py), so a reader
without the lock sees a whole file. A rule both runs record is set by the later save, even to an
earlier end: a later start then searches more, never less. Alert ids are deterministic (rule
and event) and written with op_type create, so a stretch searched twice, by the overlap or by two
`detect`s running one rule, writes nothing twice.

A file of the single-time form written before (`{"searched_to": end}`) is read as the end of
every rule: an upgraded `detect` resumes where the old one stopped. The first save writes the
per-rule form with this run's rules only (the old form cannot say which rules it covered).

The mark is an aid, not a checkpoint a run depends on: an unreadable mark (a missing, damaged or
foreign file, a time in the future) is one WARNING and the plain lookback, a damaged entry one
WARNING naming the rules; a mark that cannot be written (no permission, a full disk, a lock
held for LOCK_WAIT seconds) is one WARNING for the run, and the in-memory schedule goes on
(logwarden/detection/schedule.py). Rule ids and file content reach the log only through
`printable`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from logwarden.atomic_file import output
from logwarden.errors import OutputError
from logwarden.safe_text import printable

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
LOCK_WAIT = 10.0  # seconds a save waits for another process's save before giving up (warned)
MAX_BYTES = 8 * 1024 * 1024  # a larger file is not a mark this code wrote
MAX_RULES = 20_000  # ends kept; beyond, other rule sets' oldest ends are dropped
NAMED = 5  # rule ids named in one warning


class LockTimeout(OSError):
    """Another process held the mark's lock for LOCK_WAIT seconds."""


def mark_path(state: Path, index_prefix: str) -> Path:
    """The mark file of the detectors writing `index_prefix`'s alerts, in the state folder."""
    name = _UNSAFE.sub("_", index_prefix.rstrip("-")) or "default"
    return state / f"detect-searched-{name}.json"


def _time(value: Any) -> datetime | None:
    """An ISO time with a zone, in UTC, or None."""
    if not isinstance(value, str):
        return None
    try:
        end = datetime.fromisoformat(value)
    except ValueError:
        return None
    return None if end.tzinfo is None else end.astimezone(UTC)


def _named(ids: Iterable[str]) -> str:
    listed = sorted(ids)
    shown = ", ".join(printable(i) for i in listed[:NAMED])
    return shown + (f" and {len(listed) - NAMED} more" if len(listed) > NAMED else "")


class SearchedMark:
    """The end of the last window searched and written for each of `rule_ids`, on disk at `path`."""

    def __init__(self, path: Path, rule_ids: Iterable[str]) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self.rule_ids = sorted(set(rule_ids))
        self.write_failed = False  # warned once: later saves are still tried, silently

    def _parse(self, text: str) -> tuple[dict[str, Any], datetime | None] | None:
        """(rule id -> raw end, the old form's end for every rule), or None: not a mark."""
        try:
            loaded = json.loads(text)
        except ValueError:
            return None
        if not isinstance(loaded, dict):
            return None
        rules = loaded.get("rules")
        if isinstance(rules, dict):
            return rules, None
        if "rules" not in loaded and "searched_to" in loaded:
            every = _time(loaded["searched_to"])
            return ({}, every) if every is not None else None
        return None

    def _read(self) -> str | None:
        """The file's text; None when there is none. Raises OSError, ValueError (too large)."""
        try:
            with open(self.path, "rb") as f:
                data = f.read(MAX_BYTES + 1)
        except FileNotFoundError:
            return None
        if len(data) > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES} bytes")
        return data.decode("utf-8")

    def ends(self, now: datetime) -> dict[str, datetime]:
        """The recorded end of each of this run's rules that has one at or before `now` (an
        unreadable file, or a damaged or future entry: warned, as no end)."""
        try:
            text = self._read()
        except (OSError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            log.warning("cannot read %s (%s): the first pass searches the plain lookback",
                        printable(str(self.path)), printable(why))
            return {}
        if text is None:
            return {}
        parsed = self._parse(text)
        if parsed is None:
            log.warning("%s is not a mark of per-rule times: the first pass searches the plain lookback",
                        printable(str(self.path)))
            return {}
        raw, every = parsed
        if every is not None:
            if every > now:
                log.warning("%s holds a time after now: the first pass searches the plain lookback",
                            printable(str(self.path)))
                return {}
            return dict.fromkeys(self.rule_ids, every)
        found: dict[str, datetime] = {}
        bad: list[str] = []
        for rid in self.rule_ids:
            if rid not in raw:
                continue
            end = _time(raw[rid])
            if end is None or end > now:
                bad.append(rid)
            else:
                found[rid] = end
        if bad:
            log.warning("%s holds no past time for rule %s: %s", printable(str(self.path)), _named(bad),
                        "the first pass follows the other rules' ends" if found else
                        "the first pass searches the plain lookback")
        return found

    def load(self, now: datetime) -> datetime | None:
        """The earliest recorded end among this run's rules, or None (no end yet, or unreadable)."""
        found = self.ends(now)
        return min(found.values()) if found else None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            deadline = time.monotonic() + LOCK_WAIT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LockTimeout(f"{self.lock_path} held by another process for {LOCK_WAIT:g} s") from None
                    time.sleep(0.01)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _others(self) -> dict[str, datetime]:
        """The valid ends the file holds now (under the lock): other rule sets' are kept, a
        damaged entry or file is not."""
        try:
            text = self._read()
        except (OSError, ValueError):
            return {}
        parsed = None if text is None else self._parse(text)
        if parsed is None:
            return {}
        return {rid: end for rid, value in parsed[0].items() if (end := _time(value)) is not None}

    def save(self, end: datetime) -> None:
        """Record `end` for every rule of this run, keeping the other rules' ends. Never raises: a
        failure is one WARNING per run."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._locked():
                ends = self._others()
                for rid in self.rule_ids:
                    ends.pop(rid, None)
                if len(ends) + len(self.rule_ids) > MAX_RULES:
                    keep = max(MAX_RULES - len(self.rule_ids), 0)
                    ends = dict(sorted(ends.items(), key=lambda kv: kv[1], reverse=True)[:keep])
                ends.update(dict.fromkeys(self.rule_ids, end.astimezone(UTC)))
                rules = {rid: ends[rid].isoformat() for rid in sorted(ends)}
                with output(self.path) as out:
                    out.write(json.dumps({"rules": rules}, indent=0) + "\n")
        except (OSError, OutputError) as exc:
            if not self.write_failed:
                log.warning("cannot record where detect searched to (%s): a restart searches only its lookback",
                            printable(str(exc)))
            self.write_failed = True
            return
        if self.write_failed:
            log.info("%s written again", printable(str(self.path)))
            self.write_failed = False


__all__ = ["LOCK_WAIT", "LockTimeout", "SearchedMark", "mark_path"]
