"""Shared bench helpers: the running lab, a throw-away namespace, input documents."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from logwarden.config import Config, load
from logwarden.shippers.base import DeadLetter, Event

ROOT = Path(__file__).resolve().parents[1]  # the checkout
SHARED_DATA = ROOT.parent / "shared" / "data"  # public samples beside the checkout, when present
SAMPLES = SHARED_DATA / "evtx"


def lab_config() -> Config:
    from logwarden.runtime.lab import Lab

    lab = Lab(load())
    lab.up()
    return lab.cfg  # with the secured lab's client settings


def namespace(cfg: Config, name: str) -> Config:
    tag = uuid.uuid4().hex[:6]
    c = copy.copy(cfg)
    c.topic_prefix = f"lwbench{name}{tag}."
    c.index_prefix = f"logwarden-bench{name}{tag}-"
    return c


def drop(cfg: Config) -> None:
    from logwarden.es_io import client, delete_indices
    from logwarden.kafka_io import delete_topics

    delete_indices(client(cfg), f"{cfg.index_prefix}*")
    delete_topics(cfg, cfg.topic_prefix)


def synth_xml(path: Path, n: int, days: int = 1) -> Path:
    """n Security 4625 events of our own as one event-XML export (runs without ../shared)."""
    from logwarden.shippers.windows import synth

    start = datetime(2020, 4, 14, 0, 0, 0)
    step = timedelta(days=days) / max(n, 1)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="utf-8"?>\n<Events>\n')
        for i in range(n):
            fh.write(synth.security_4625(f"SRV-{i % 17:02d}", start + step * i, i + 1, target_user=f"user{i % 97}",
                                         ip=f"198.51.100.{i % 250 + 1}", port=str(40000 + i % 20000)) + "\n")
        fh.write("</Events>\n")
    return path


def events(paths: list[Path]) -> Iterator[Event]:
    from logwarden.shippers.windows import iter_file

    for p in paths:
        for item in iter_file(p):
            if not isinstance(item, DeadLetter):
                yield item


def sample_paths() -> list[Path]:
    from logwarden.shippers.windows import iter_paths

    return list(iter_paths([SAMPLES])) if SAMPLES.exists() else []
