"""Records -> files, each source in its native layout under one output folder:

- `windows/<host>.xml`: the host's events as an event XML export (<Events>), all channels;
- `secgate/<firewall>.log`: the perimeter firewall's syslog lines;
- `winfirewall/<host>/pfirewall.log`: each host's Windows Firewall log (W3C header first);
- `huorong/<host>/log.db`: a Huorong SQLite log database (table `HrLogV3`: id, fname, ts, detail).

Each file's records are sorted by time (stable: equal times keep generation order) and numbered
from 1 in that order; a folder is rewritten whole, so the same records give the same files.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from logwarden.replay import formats
from logwarden.replay.model import WINDOWS, Record
from logwarden.shippers.windows import synth

FOLDERS = (WINDOWS, "secgate", "winfirewall", "huorong")


@dataclass(frozen=True, slots=True)
class WrittenFile:
    path: Path
    source: str  # WINDOWS or a registered source name
    host: str  # the host the file belongs to (sources whose records name no host take it from here)
    rows: tuple[str | None, ...]  # each record's INCIDENT.md row, in file order
    label: str  # what the parsers are told the file is (`replay/<relative path>`): event ids derive
    # from it, so they do not depend on where the folder is


def _relative(record: Record) -> Path:
    if record.source == WINDOWS:
        return Path(WINDOWS, f"{record.host}.xml")
    if record.source == "winfirewall":
        return Path("winfirewall", record.host, "pfirewall.log")
    if record.source == "huorong":
        return Path("huorong", record.host, "log.db")
    return Path(record.source, f"{record.host}.log")


def _huorong_db(path: Path, rows: list[str]) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE TABLE HrLogV3 (id INTEGER PRIMARY KEY, fname TEXT, ts INTEGER, detail TEXT)")
        db.executemany("INSERT INTO HrLogV3 (id, fname, ts, detail) VALUES (:id, :fname, :ts, :detail)",
                       [json.loads(row) for row in rows])
        db.commit()
    finally:
        db.close()


def write(records: list[Record], folder: Path) -> list[WrittenFile]:
    """Write every record into its file under `folder` (its source sub-folders are replaced);
    returns the files, sorted by path."""
    by_file: dict[Path, list[Record]] = defaultdict(list)
    for record in records:
        by_file[_relative(record)].append(record)
    for sub in FOLDERS:
        shutil.rmtree(folder / sub, ignore_errors=True)
    written = []
    for relative in sorted(by_file):
        ordered = sorted(by_file[relative], key=lambda r: r.time)
        rendered = [record.payload(n) for n, record in enumerate(ordered, start=1)]
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        source = ordered[0].source
        if source == WINDOWS:
            path.write_text(synth.events(*rendered), encoding="utf-8")
        elif source == "huorong":
            _huorong_db(path, rendered)
        else:
            header = formats.WINFIREWALL_HEADER if source == "winfirewall" else ""
            path.write_text(header + "".join(f"{text}\n" for text in rendered), encoding="utf-8")
        written.append(WrittenFile(path, source, ordered[0].host, tuple(r.row for r in ordered),
                                   f"replay/{relative.as_posix()}"))
    return written
