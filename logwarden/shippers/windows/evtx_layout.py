"""Which record ids an EVTX file's own headers promise, so that records the parser skips are counted.

pyevtx-rs with skip_errors=True passes silently over a zeroed chunk and a truncated last chunk,
and over a chunk with a bad header with one warning that says nothing of the records inside.
Every chunk header carries the ids of its first and last record (checksummed, CRC32), and the
file header (checksummed too) the next record id and the number of chunks. So each 64 KiB chunk
slot gets the id range it should hold: from its own header when the header is sound, else from
its neighbours (the ids between the previous and the next sound chunk; failing that, a header
whose checksum fails but whose ids are plausible; or up to the file header's next record id
after the last sound chunk). Chunks the file header counts and the file lacks are slots too. A
slot whose range cannot be bounded is reported with an unknown count, never guessed; zeros at
the end of the file that no header promises anything for are unused space.
Only headers are read (512 bytes per chunk; a whole chunk only when its header is all zeros).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

FILE_HEADER_SIZE = 4096
CHUNK_SIZE = 65536
CHUNK_HEADER_SIZE = 512
CHUNK_MAGIC = b"ElfChnk\x00"
SMALLEST_RECORD = 28  # record header (24) + the trailing size copy (4)
MAX_RECORDS_PER_CHUNK = (CHUNK_SIZE - CHUNK_HEADER_SIZE) // SMALLEST_RECORD


@dataclass(slots=True)
class ChunkSpan:
    """Chunk slots `first_slot..last_slot` and the record ids they should hold.

    `counted` is False when the ids cannot be bounded (the number of records lost is unknown);
    then `first_id`/`last_id` hold what is known of them, or None. `problem` is "" for a sound
    chunk, else what is wrong with the slots ("zeroed", "bad header magic", "truncated (...)")."""

    first_slot: int
    last_slot: int
    first_id: int | None
    last_id: int | None
    problem: str
    counted: bool = True

    @property
    def label(self) -> str:
        if self.first_slot == self.last_slot:
            return f"chunk {self.first_slot}"
        return f"chunks {self.first_slot}-{self.last_slot}"


@dataclass(slots=True)
class _Slot:
    index: int
    first_id: int | None
    last_id: int | None
    problem: str  # "" sound, "zeroed", or why the header is not trusted
    size: int  # bytes present (CHUNK_SIZE unless the file ends inside it)
    claimed: tuple[int, int] | None = None  # plausible ids of a header whose checksum fails


def _read_slot(fh: BinaryIO, index: int, file_size: int) -> _Slot | None:
    start = FILE_HEADER_SIZE + index * CHUNK_SIZE
    if start >= file_size:
        return None
    fh.seek(start)
    header = fh.read(CHUNK_HEADER_SIZE)
    size = min(CHUNK_SIZE, file_size - start)
    truncated = f"truncated ({size} of {CHUNK_SIZE} bytes)" if size < CHUNK_SIZE else ""
    if header[:8] == CHUNK_MAGIC and len(header) >= 40:
        first_id, last_id = struct.unpack_from("<QQ", header, 24)
        plausible = 0 < first_id <= last_id and last_id - first_id < MAX_RECORDS_PER_CHUNK
        if len(header) == CHUNK_HEADER_SIZE:
            stored_crc = struct.unpack_from("<I", header, 124)[0]
            if zlib.crc32(header[:120] + header[128:]) != stored_crc:  # the parser still reads it
                return _Slot(index, None, None, "header checksum mismatch", size,
                             (first_id, last_id) if plausible else None)
        if plausible:
            return _Slot(index, first_id, last_id, truncated, size)
        return _Slot(index, None, None, truncated or "implausible record ids in header", size)
    if _zeros(header):
        if size < CHUNK_SIZE:
            return _Slot(index, None, None, truncated, size)
        fh.seek(FILE_HEADER_SIZE + index * CHUNK_SIZE)
        return _Slot(index, None, None, "zeroed" if _zeros(fh.read(CHUNK_SIZE)) else
                     "bad header magic", size)
    return _Slot(index, None, None, truncated or "bad header magic", size)


_ZERO_CHUNK = bytes(CHUNK_SIZE)


def _zeros(data: bytes) -> bool:
    """Whether `data` is all zero bytes (one memory compare: bytes.strip took ~150 us per 64 KiB)."""
    return data == _ZERO_CHUNK[:len(data)] if len(data) <= CHUNK_SIZE else not data.strip(b"\x00")


def _bounded(first_id: int, last_id: int, slots: int) -> bool:
    return first_id <= last_id + 1 and last_id - first_id < MAX_RECORDS_PER_CHUNK * slots


def chunk_spans(fh: BinaryIO) -> list[ChunkSpan]:
    """The id ranges of a seekable EVTX file: one span per sound chunk and per run of unsound ones.

    Runs of zeroed slots that should hold no record (unused space at the end of the file, or
    between two chunks whose ids are consecutive) are left out. Raises OSError on read errors."""
    fh.seek(0)
    file_header = fh.read(FILE_HEADER_SIZE)
    next_record_id = header_chunks = 0
    trusted = len(file_header) >= 128 and zlib.crc32(file_header[:120]) == struct.unpack_from("<I", file_header, 124)[0]
    if len(file_header) >= 44:
        next_record_id = struct.unpack_from("<Q", file_header, 24)[0]
        header_chunks = struct.unpack_from("<H", file_header, 42)[0] if trusted else 0
    # a damaged file header's next record id is still used after the last sound chunk (bounded
    # like any range, and said in the reason): else zeroed last chunks would pass for unused space
    next_id_note = "" if trusted else "; next record id from a file header whose checksum fails"
    slots: list[_Slot] = []
    size = fh.seek(0, 2)
    while (slot := _read_slot(fh, len(slots), size)) is not None:
        slots.append(slot)
    for index in range(len(slots), header_chunks):  # chunks the header counts that the file no longer has
        slots.append(_Slot(index, None, None, f"missing: the file ends at {size} bytes", 0))
    if not slots and next_record_id != 1:  # Windows writes a chunk with the header; only a log never written is empty
        slots.append(_Slot(0, None, None, f"missing: the file ends at {size} bytes", 0))
    elif not trusted and slots and slots[-1].size < CHUNK_SIZE:  # cut short, and no header says how long it was
        slots.append(_Slot(len(slots), None, None, f"missing: the file ends at {size} bytes", 0))
    spans: list[ChunkSpan] = []
    i = 0
    while i < len(slots):
        slot = slots[i]
        if slot.first_id is not None and slot.last_id is not None:
            spans.append(ChunkSpan(slot.index, slot.index, slot.first_id, slot.last_id, slot.problem))
            i += 1
            continue
        j = i
        while j + 1 < len(slots) and slots[j + 1].first_id is None:
            j += 1
        run = slots[i: j + 1]
        before = slots[i - 1].last_id if i > 0 else None
        after = slots[j + 1].first_id if j + 1 < len(slots) else None
        problems = sorted({s.problem for s in run if s.problem != "zeroed"}) or ["zeroed"]
        problem = ", ".join(problems)
        only_zeroed = problems == ["zeroed"]
        first_id = before + 1 if before is not None else None
        last_id = after - 1 if after is not None else None
        claimed = run[0].claimed if len(run) == 1 else None
        if claimed is not None and (first_id is None or last_id is None):
            first_id, last_id = claimed  # one neighbour missing: the header's own ids, checksum aside
        if last_id is None and next_record_id > (first_id or 1):
            last_id = next_record_id - 1  # the file header: ids handed out so far
            problem += next_id_note
        if first_id is not None and last_id is not None and _bounded(first_id, last_id, len(run)):
            if last_id >= first_id:
                spans.append(ChunkSpan(run[0].index, run[-1].index, first_id, last_id, problem))
        elif not (only_zeroed and after is None):  # zeros at the end with no id promised: unused space
            spans.append(ChunkSpan(run[0].index, run[-1].index, first_id, last_id, problem, counted=False))
        i = j + 1
    return spans
