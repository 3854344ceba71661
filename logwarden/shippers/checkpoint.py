"""Shipper checkpoints: how many records of each input file were delivered to Kafka.

A file is identified by its absolute path plus a fingerprint of its first 64 KiB (so a file
replaced by another under the same name starts over, while a file that grew resumes). The
state is written atomically (temp file + rename) and only after Kafka acknowledged the records
it counts, so a crash can repeat records (deterministic ids make that harmless) but never skip.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from logwarden.atomic_file import output
from logwarden.errors import OutputError
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
        """Write the state atomically (logwarden/atomic_file.py). Raises OutputError (exit 2) naming
        the checkpoint file when it cannot be written (no permission, a full disk): the previous
        checkpoint stays as it was and the temporary file is removed, so the next run repeats
        records but skips none."""
        save_json(self.file, self.data, indent=1)


def save_json(file: Path, data: Any, indent: int | None = None) -> None:
    """`data` as JSON in `file`, all or nothing, its folder made if missing. Raises OutputError."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write checkpoint {printable(str(file))}: {exc.strerror or exc}") from exc
    with output(file, what="checkpoint") as fh:
        json.dump(data, fh, indent=indent, sort_keys=True)
