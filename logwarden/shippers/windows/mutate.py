"""Mutation campaign: how many damaged copies of a real EVTX file lose records without a trace.

    .venv/bin/python -m logwarden.shippers.windows.mutate [--copies 300] [--seed 1] [FILE]

Each copy gets 1-64 random bytes overwritten (never the 8-byte file magic, only in the part of
the file that holds chunks in use) and goes through `iter_file`, as `ship`, `parse` and `hunt`
read it. A copy "loses records silently" when events + dead letters < the records of the clean
file and no dead letter says that an unknown number was lost. Also counted: exceptions escaping
the reader (there must be none). A measuring tool, like compare_parsers.py; not used at runtime.
Only `iter_file` is imported, so the same script measures an older checkout (PYTHONPATH).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

from logwarden.shippers.base import DeadLetter
from logwarden.shippers.windows import iter_file

DEFAULT = "../shared/data/evtx/evtx-rs-samples/samples/Security_with_size_t.evtx"
MAGIC_SIZE = 8
CHUNK_SIZE = 65536
FILE_HEADER_SIZE = 4096


def used_size(data: bytes) -> int:
    """Bytes up to the end of the last chunk with a chunk magic (the rest is preallocated zeros)."""
    end = FILE_HEADER_SIZE
    for start in range(FILE_HEADER_SIZE, len(data), CHUNK_SIZE):
        if data[start: start + 8] == b"ElfChnk\x00":
            end = min(len(data), start + CHUNK_SIZE)
    return end


def outcome(path: Path) -> tuple[int, int, bool]:
    """(events, dead letters, whether a dead letter admits an unknown loss)."""
    events = dead = 0
    unknown = False
    for item in iter_file(path):
        if isinstance(item, DeadLetter):
            dead += 1
            unknown = unknown or "how many is unknown" in item.reason or "not an EVTX file" in item.reason
        else:
            events += 1
    return events, dead, unknown


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m logwarden.shippers.windows.mutate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", nargs="?", default=DEFAULT)
    ap.add_argument("--copies", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    clean = Path(args.file).read_bytes()
    with tempfile.TemporaryDirectory(prefix="logwarden-mutate-") as tmp:
        path = Path(tmp) / "copy.evtx"
        path.write_bytes(clean)
        records, clean_dead, _ = outcome(path)
        used = used_size(clean)
        rng = random.Random(args.seed)
        silent = crashed = lost_records = 0
        for _ in range(args.copies):
            data = bytearray(clean)
            for _ in range(rng.randint(1, 64)):
                data[rng.randrange(MAGIC_SIZE, used)] = rng.randrange(256)
            path.write_bytes(bytes(data))
            try:
                events, dead, unknown = outcome(path)
            except Exception as exc:  # noqa: BLE001 - copy boundary: an exception escaping the reader is the finding, named
                crashed += 1
                print(f"exception: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            if events + dead < records and not unknown:
                silent += 1
                lost_records += records - events - dead
    print(f"{args.file}: {records} records ({clean_dead} dead letters clean); {args.copies} copies, "
          f"1-64 random bytes each, seed {args.seed}: {silent} lost records silently "
          f"({lost_records} records), {crashed} raised an exception")
    return 0


if __name__ == "__main__":
    sys.exit(main())
