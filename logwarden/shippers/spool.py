"""A bounded on-disk queue of Kafka messages: where `ship syslog` keeps what it accepted while
Kafka cannot take it (logwarden/shippers/spooling_sink.py decides when).

Layout: a folder (default `<state>/syslog-spool/`) of segment files `00000000000000000001.spool`,
`...02.spool`, numbered in the order they were written; a `.lock` file held with `flock` so two
receivers never share one spool. New messages are appended to the newest segment; replay reads
the oldest segment and removes it only after Kafka acknowledged all of it, so a message leaves
the disk only once Kafka has it (a crash during replay sends the segment again: duplicates with
the same ids, which the indexer turns into one document).

Record: 4-byte body length, 4-byte CRC32 of the body, body = topic length (2 bytes), id length
(2 bytes), key length (4 bytes), topic, id, key, value. The records of one `append_many` (the
messages of one TCP read or datagram) are one `write()` on an O_APPEND descriptor (one per
segment they touch), not one per message, so a process that dies (SIGKILL included) keeps every
record whose append returned: the data is in the kernel's page cache. `sync()` (fsync) is called
by the owner once a second and at close: a power loss or OS crash can lose the last second. A
torn or damaged record (a crash in the middle of a write, a bad disk) ends its segment on replay:
it is counted in `damaged`, logged with the segment's name, and the segment's remaining bytes are
not replayed.

Bounded: `append` refuses (returns False) a record that would take the spool over `max_bytes`
(`append_many` stops before it);
the caller counts and reports what it refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from logwarden.errors import UsageError
from logwarden.kafka_io import Message

log = logging.getLogger(__name__)

SEGMENT_BYTES = 16 * 1024 * 1024  # a segment is sealed at this size (and whenever replay reaches it)
SUFFIX = ".spool"
_HEAD = struct.Struct(">II")  # body length, CRC32 of the body
_LENGTHS = struct.Struct(">HHI")  # topic, id, key lengths


def encode_record(message: Message) -> bytes:
    """The bytes one message takes in a segment (header included)."""
    topic, mid = message.topic.encode(), message.id.encode()
    body = b"".join((_LENGTHS.pack(len(topic), len(mid), len(message.key)), topic, mid, message.key, message.value))
    return _HEAD.pack(len(body), zlib.crc32(body)) + body


def _write_all(fd: int, data: bytes) -> None:
    """`data` written to `fd` whole (a regular file takes it in one `write()`; a short write,
    e.g. a signal in the middle of a large one, is continued)."""
    with memoryview(data) as view:
        done = os.write(fd, view)
        while done < len(data):
            done += os.write(fd, view[done:])


def decode_records(data: bytes) -> tuple[list[Message], int]:
    """The messages of a segment's bytes, and the number of bytes after the last good record
    (0 when the segment is whole)."""
    out: list[Message] = []
    pos = 0
    while pos + _HEAD.size <= len(data):
        length, crc = _HEAD.unpack_from(data, pos)
        body = data[pos + _HEAD.size: pos + _HEAD.size + length]
        if len(body) < length or zlib.crc32(body) != crc or length < _LENGTHS.size:
            break
        n_topic, n_id, n_key = _LENGTHS.unpack_from(body)
        at = _LENGTHS.size
        if at + n_topic + n_id + n_key > length:
            break
        topic = body[at: at + n_topic].decode("utf-8", "replace")
        mid = body[at + n_topic: at + n_topic + n_id].decode("utf-8", "replace")
        key = body[at + n_topic + n_id: at + n_topic + n_id + n_key]
        out.append(Message(topic, key, body[at + n_topic + n_id + n_key:], mid))
        pos += _HEAD.size + length
    return out, len(data) - pos


class Spool:
    """The spool folder. Not thread-safe: its owner serialises the calls.

    Raises:
        UsageError: (constructor) another process holds the spool's lock.
        OSError: the folder cannot be created or written.
    """

    def __init__(self, directory: Path, max_bytes: int, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise UsageError(f"spool {directory} is in use by another process (give each receiver its own "
                             "--spool-dir)") from None
        self.segments: list[Path] = sorted(directory.glob(f"*{SUFFIX}"))
        self.bytes = sum(p.stat().st_size for p in self.segments)
        self.records = sum(len(decode_records(p.read_bytes())[0]) for p in self.segments)
        self.damaged = 0  # segments whose tail could not be read back (see the module docstring)
        self._active: int | None = None  # fd of the segment being appended to (the last one)
        self._active_bytes = 0

    def _next_name(self) -> Path:
        last = int(self.segments[-1].name[: -len(SUFFIX)]) if self.segments else 0
        return self.directory / f"{last + 1:020d}{SUFFIX}"

    def append(self, message: Message) -> bool:
        """Append one message; False (nothing written) when it would exceed `max_bytes`."""
        return self.append_many([message]) == 1

    def append_many(self, messages: list[Message]) -> int:
        """Append `messages` in order with one `write()` per segment they touch (one for a batch
        that fits the active segment), not one per message; returns how many were kept: all, or
        the count before the first that would take the spool over `max_bytes` (it and those
        after it are not written)."""
        records: list[bytes] = []
        total = self.bytes
        for message in messages:
            record = encode_record(message)
            if total + len(record) > self.max_bytes:
                break
            records.append(record)
            total += len(record)
        start = 0
        while start < len(records):
            if self._active is None or self._active_bytes >= self.segment_bytes:
                self._open_segment()
            assert self._active is not None
            end, taken, room = start, 0, self.segment_bytes - self._active_bytes
            while end < len(records) and taken < room:  # the record that crosses the size stays
                taken += len(records[end])
                end += 1
            _write_all(self._active, records[start] if end == start + 1 else b"".join(records[start:end]))
            self._active_bytes += taken
            self.bytes += taken
            self.records += end - start
            start = end
        return len(records)

    def _open_segment(self) -> None:
        """Seal the active segment and start the next one."""
        self.seal()
        path = self._next_name()
        self._active = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._active_bytes = 0
        self.segments.append(path)

    def sync(self) -> None:
        """fsync the segment being written (the others were synced when sealed)."""
        if self._active is not None:
            os.fsync(self._active)

    def seal(self) -> None:
        """Close the segment being written (synced); the next append starts a new one."""
        if self._active is not None:
            os.fsync(self._active)
            os.close(self._active)
            self._active = None

    def oldest(self) -> Path | None:
        """The oldest segment, sealed first if it is the one being written; None when empty."""
        if not self.segments:
            return None
        if self._active is not None and len(self.segments) == 1:
            self.seal()
        return self.segments[0]

    def read(self, segment: Path) -> list[Message]:
        """The messages of a sealed segment (a damaged tail is counted and logged, not returned)."""
        messages, rest = decode_records(segment.read_bytes())
        if rest:
            self.damaged += 1
            log.warning("spool segment %s: the last %d bytes are not a whole record (torn write or damage); "
                        "replaying the %d records before them", segment, rest, len(messages))
        return messages

    def remove(self, segment: Path, records: int) -> None:
        """Forget a replayed segment (`records`: how many messages it held)."""
        size = segment.stat().st_size
        segment.unlink()
        self.segments.remove(segment)
        self.bytes -= size
        self.records -= records

    def close(self) -> None:
        """Seal the active segment (fsync) and release the lock."""
        self.seal()
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)

    def __iter__(self) -> Iterator[Path]:
        return iter(list(self.segments))
