"""EVTX files through pyevtx-rs (`evtx` 0.14): records as JSON text, errors as dead letters.

With skip_errors=True pyevtx-rs reports a bad chunk or record as a RuntimeWarning and goes on
with the next one. The warnings are caught per batch (never across a `yield`, so no global
warning state leaks to the caller) and become DeadLetters in the order they occurred.
python-evtx is not used at runtime: see PARSERS.md.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

from evtx import PyEvtxParser

from logwarden.shippers.base import DeadLetter

EVTX_MAGIC = b"ElfFile\x00"
BATCH = 512
DATASET = "windows"


def dead(source: str, reason: str, detail: str = "") -> DeadLetter:
    raw = f"{source}: {detail or reason}".encode("utf-8", "surrogateescape")
    return DeadLetter(source=source, raw=raw, reason=reason, dataset=DATASET)


def read_evtx(path: str, source: str | None = None) -> Iterator[str | DeadLetter]:
    """Each record's JSON text ({"Event": ...}), or a DeadLetter per parser error, in file order."""
    source = source or path
    try:
        with open(path, "rb") as fh:
            magic = fh.read(len(EVTX_MAGIC))
    except OSError as exc:
        yield dead(source, f"cannot read file: {exc}")
        return
    if magic != EVTX_MAGIC:
        yield dead(source, f"not an EVTX file: header {magic!r} is not {EVTX_MAGIC!r}", f"header {magic!r}")
        return
    try:
        records = PyEvtxParser(path, skip_errors=True).records_json()
    except Exception as exc:  # noqa: BLE001 - the parser's error is the dead letter's reason
        yield dead(source, f"EVTX parser could not open the file: {exc}")
        return
    done = False
    while not done:
        batch: list[str | DeadLetter] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            seen = 0
            while len(batch) < BATCH:
                try:
                    rec = next(records)
                except StopIteration:
                    done = True
                except Exception as exc:  # noqa: BLE001 - a fatal parser error ends the file
                    batch.append(dead(source, f"EVTX parser error: {exc}"))
                    done = True
                if len(caught) > seen:
                    for w in caught[seen:]:
                        batch.append(dead(source, f"EVTX parser skipped data: {w.message}"))
                    seen = len(caught)
                if done:
                    break
                batch.append(rec["data"])
        yield from batch
