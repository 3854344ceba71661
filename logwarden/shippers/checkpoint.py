"""Shipper checkpoints: how many records of each input file were delivered to Kafka.

A file is identified by its absolute path plus a fingerprint of its first 64 KiB (so a file
replaced by another under the same name starts over, while a file that grew resumes). The
state is written atomically (temp file + rename) and only after Kafka acknowledged the records
it counts, so a crash can repeat records (deterministic ids make that harmless) but never skip.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from logwarden.errors import InputError
from logwarden.safe_text import printable

HEAD = 64 * 1024


def fingerprint(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.blake2b(fh.read(HEAD), digest_size=12).hexdigest()


class Checkpoints:
    def __init__(self, file: Path) -> None:
        self.file = file
        self.data: dict[str, dict[str, Any]] = {}
        if file.exists():
            try:
                loaded = json.loads(file.read_text(encoding="utf-8"))
                if isinstance(loaded, dict):
                    self.data = loaded
            except (OSError, ValueError):
                # unreadable state: start over (duplicates are harmless, skips are not)
                self.data = {}

    def done(self, path: Path, fp: str) -> int:
        entry = self.data.get(str(path.resolve()))
        if entry and entry.get("fingerprint") == fp:
            return int(entry.get("records", 0))
        return 0

    def complete(self, path: Path) -> bool:
        entry = self.data.get(str(path.resolve()))
        return bool(entry and entry.get("complete"))

    def update(self, path: Path, fp: str, records: int, complete: bool = False, save: bool = True) -> None:
        self.data[str(path.resolve())] = {"fingerprint": fp, "records": records, "complete": complete}
        if save:
            self.save()

    def save(self) -> None:
        """Write the state atomically. Raises InputError (exit 1) naming the checkpoint file when it
        cannot be written (a full disk, say): the previous checkpoint stays as it was and the
        temporary file is removed, so the next run repeats records but skips none."""
        tmp: str | None = None
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".ckpt-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.data, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.file)
        except OSError as exc:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise InputError(f"cannot write checkpoint {printable(str(self.file))}: "
                             f"{exc.strerror or exc}") from exc
