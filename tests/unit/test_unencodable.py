"""A document no encoder takes (a lone UTF-16 surrogate a parser let through) becomes a dead letter
naming the encoder's error, in `ship` (to_message) and in `parse` (the line), instead of stopping
the command with exit 70 (unit, no servers; the parsers that read JSON repair such strings
themselves: tests/devices/test_parsers.py, tests/fuzz/corpus)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from logwarden.commands.parse import _parse_file
from logwarden.config import Config
from logwarden.kafka_io import to_message
from logwarden.shippers.base import DEADLETTER, Event


def _events() -> list[Event]:
    bad = Event("a" * 32, "av", "host1", {"event": {"original": "virus X\ud800"}, "threat": {"name": "X\ud800"}}, 7)
    good = Event("b" * 32, "av", "host1", {"event": {"original": "virus Y"}, "threat": {"name": "Y"}}, 8)
    return [bad, good]


def test_an_unencodable_event_is_produced_as_a_dead_letter() -> None:
    cfg = Config()
    bad, good = _events()
    message = to_message(cfg, bad)
    assert message.topic == cfg.topic(DEADLETTER)
    doc = json.loads(message.value)
    assert "document not encodable" in json.dumps(doc)
    assert base64.b64decode(doc["event"]["original_base64"]).startswith(b"virus X")  # the original is kept
    assert to_message(cfg, good).topic == cfg.topic("av")


def test_parse_writes_the_good_lines_and_names_the_unencodable_one(tmp_path: Path) -> None:
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    warnings: list[str] = []

    def parse(name: str, data: BinaryIO) -> Iterator[Event]:
        yield from _events()

    source = tmp_path / "in.log"
    source.write_bytes(b"")
    dead = _parse_file(str(source), parse, by_line=False, with_id=False, write=stdout.write, warn=warnings.append)
    stdout.flush()
    lines = stdout.buffer.getvalue().decode().splitlines()  # type: ignore[attr-defined]
    assert dead == 1
    assert [json.loads(line)["threat"]["name"] for line in lines] == ["Y"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{source}:record 7: dead letter: document not encodable")
