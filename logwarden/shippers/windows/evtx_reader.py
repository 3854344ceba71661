"""EVTX files through pyevtx-rs (`evtx` 0.14): records as JSON text, lost records as dead letters.

With skip_errors=True pyevtx-rs goes on after a bad chunk or record, but it passes silently over
a zeroed or truncated chunk. So the records are accounted for against the ids the file's own
headers promise (evtx_layout.py): every promised id that never came out of the parser becomes
one dead letter, after the records, with its chunk and the parser's warning for that chunk as
the reason ("chunk 3 unreadable (zeroed): records 204-311 lost"). A chunk whose ids cannot be
bounded gives one dead letter saying the count is unknown. Parser warnings are caught per batch
(never across a `yield`, so no global warning state leaks to the caller); a warning that matches
no lost record is logged. python-evtx is not used at runtime: see PARSERS.md.
"""

from __future__ import annotations

import bisect
import logging
import re
import warnings
from collections.abc import Iterator
from typing import Any

from evtx import PyEvtxParser

from logwarden.safe_text import printable
from logwarden.shippers.base import DeadLetter
from logwarden.shippers.windows.evtx_layout import ChunkSpan, chunk_spans

EVTX_MAGIC = b"ElfFile\x00"
BATCH = 512
DATASET = "windows"
MAX_WARNING_CHARS = 200
_WARNING_CHUNK = re.compile(r"chunk number (\d+)")
_WARNING_RECORD = re.compile(r"record number (\d+)")
log = logging.getLogger(__name__)


def dead(source: str, reason: str, detail: str = "") -> DeadLetter:
    raw = f"{source}: {detail or reason}".encode("utf-8", "surrogateescape")
    return DeadLetter(source=source, raw=raw, reason=reason, dataset=DATASET)


class _Ledger:
    """Which promised record ids the parser produced (one byte per id of each counted span)."""

    def __init__(self, spans: list[ChunkSpan]) -> None:
        self.spans = spans
        self.counted = sorted((s for s in spans if s.counted), key=lambda s: s.first_id or 0)
        self.firsts = [s.first_id or 0 for s in self.counted]
        self.seen = [bytearray((s.last_id or 0) - (s.first_id or 0) + 1) for s in self.counted]
        self.notes: dict[int, str] = {}  # chunk slot -> the parser's first warning about it
        self.last = -1  # index of the span the last record id fell in

    def saw(self, record_id: object) -> None:
        if type(record_id) is not int:
            return
        firsts = self.firsts
        i = self.last  # records come in chunk order: mostly the span bisect gave the previous one
        n = len(firsts)
        if not (0 <= i < n and firsts[i] <= record_id and (i + 1 == n or firsts[i + 1] > record_id)):
            i = self.last = bisect.bisect_right(firsts, record_id) - 1
        if i >= 0 and record_id - firsts[i] < len(self.seen[i]):
            self.seen[i][record_id - firsts[i]] = 1

    def warned(self, message: str) -> None:
        """File a parser warning under the chunk it names (or holding the record it names)."""
        slot = None
        m = _WARNING_CHUNK.search(message)
        if m is not None:
            slot = int(m.group(1))
        elif (m := _WARNING_RECORD.search(message)) is not None:
            rid = int(m.group(1))
            for span in self.counted:
                if span.first_id is not None and span.last_id is not None and span.first_id <= rid <= span.last_id:
                    slot = span.first_slot
        if slot is None or not any(s.first_slot <= slot <= s.last_slot for s in self.spans):
            log.warning("EVTX parser: %s", printable(message[:MAX_WARNING_CHARS]))
            return
        self.notes.setdefault(slot, message)

    def has_losses(self) -> bool:
        return any(not s.counted for s in self.spans) or any(0 in seen for seen in self.seen)

    def lost(self, source: str) -> Iterator[DeadLetter]:
        """One dead letter per promised id never produced; one per span of unknown size."""
        by_span = {id(s): i for i, s in enumerate(self.counted)}
        for span in self.spans:
            notes = [self.notes.pop(k) for k in range(span.first_slot, span.last_slot + 1) if k in self.notes]
            note = notes[0] if notes else ""
            why = f"; EVTX parser: {printable(note[:MAX_WARNING_CHARS])}" if note else ""
            if not span.counted:
                where = "".join(part for part, known in (
                    (f" after record {(span.first_id or 0) - 1}", span.first_id is not None),
                    (" and", span.first_id is not None and span.last_id is not None),
                    (f" before record {(span.last_id or 0) + 1}", span.last_id is not None)) if known)
                reason = f"{span.label} unreadable ({span.problem}): records{where} lost, how many is unknown{why}"
                yield dead(source, reason)
                continue
            seen = self.seen[by_span[id(span)]]
            missing = seen.count(0)
            if not missing:
                if note:
                    log.warning("EVTX parser, %s: %s", span.label, printable(note[:MAX_WARNING_CHARS]))
                continue
            first, last = span.first_id or 0, span.last_id or 0
            if missing == len(seen):
                reason = f"{span.label} unreadable ({span.problem or 'no record parsed'}): records {first}-{last} lost"
            else:
                state = f" ({span.problem})" if span.problem else ""
                reason = f"{span.label} damaged{state}: {missing} of records {first}-{last} unreadable"
            reason += why
            for offset, flag in enumerate(seen):
                if not flag:
                    yield dead(source, reason, f"record {first + offset} lost")
        for slot, note in self.notes.items():
            log.warning("EVTX parser, chunk %d: %s", slot, printable(note[:MAX_WARNING_CHARS]))


def read_evtx(path: str, source: str | None = None) -> Iterator[str | DeadLetter]:
    """Each record's JSON text ({"Event": ...}) in file order, then a DeadLetter per lost record."""
    source = source or path
    try:
        with open(path, "rb") as fh:
            magic = fh.read(len(EVTX_MAGIC))
            spans = chunk_spans(fh) if magic == EVTX_MAGIC else []
    except OSError as exc:
        yield dead(source, f"cannot read file: {exc}")
        return
    if magic != EVTX_MAGIC:
        yield dead(source, f"not an EVTX file: header {magic!r} is not {EVTX_MAGIC!r}", f"header {magic!r}")
        return
    ledger = _Ledger(spans)
    try:
        records = PyEvtxParser(path, skip_errors=True).records_json()
    except (OSError, RuntimeError, ValueError) as exc:  # what pyevtx-rs raises (its PyEvtxError mapping)
        yield dead(source, f"EVTX parser could not open the file: {exc}")
        yield from ledger.lost(source)
        return
    done = False
    fatal = ""
    while not done:
        batch: list[str | DeadLetter] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            seen = 0
            while len(batch) < BATCH:
                rec: dict[str, Any] | None = None
                try:
                    rec = next(records)
                except StopIteration:
                    done = True
                except (OSError, RuntimeError, ValueError) as exc:  # pyevtx-rs gave up: ends the file
                    fatal = f"EVTX parser error: {exc}"
                    ledger.warned(str(exc))
                    done = True
                if len(caught) > seen:
                    for w in caught[seen:]:
                        ledger.warned(str(w.message))
                    seen = len(caught)
                if done or rec is None:
                    break
                ledger.saw(rec.get("event_record_id"))
                batch.append(rec["data"])
        yield from batch
    if fatal and not ledger.has_losses():  # the parser gave up, and no promised id tells what was lost
        yield dead(source, fatal)
    yield from ledger.lost(source)
