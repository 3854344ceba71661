"""`ship syslog`'s TCP path with the parsers taken out: what the rest of it can carry (a measurement).

A child process (spawned, so no Kafka client or thread of the parent is inherited) runs the real
receiver (`SyslogServer`, framing, hand-off, counters) and the real `SpoolingSink` to Kafka with
the selected client; only the parse step is replaced by a dictionary lookup of the items the real
parsers produced for the same lines before the clock started. Everything the messages cost after
that (encoding, the sink's bookkeeping, the spool's guarantee, the client's produce) stays. The
rate it reaches is the ceiling of the Python path around the parsers: no parser, however fast,
takes one connection above it.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

from logwarden.config import Config


def serve(cfg: Config, msgs: list[bytes], ready: Any) -> None:
    """In the child: parse ahead, start the receiver and its sink, report the TCP address on
    `ready`, then receive len(msgs) messages and wait until Kafka acknowledged every one."""
    from logwarden.shippers import autodetect
    from logwarden.shippers.spool import Spool
    from logwarden.shippers.spooling_sink import SpoolingSink
    from logwarden.shippers.syslog import SyslogServer

    autodetect.load()
    parsed = {raw: autodetect.parse_line(raw, "tcp:127.0.0.1", 0) for raw in msgs}
    with tempfile.TemporaryDirectory(prefix="lw-ceiling-") as tmp:
        sink = SpoolingSink(cfg, Spool(Path(tmp), 1 << 30))
        deadline = time.monotonic() + 60
        while sink.spooling and time.monotonic() < deadline:  # until its producer is connected
            time.sleep(0.05)
        server = SyslogServer(sink, tcp=("127.0.0.1", 0), parse=lambda raw, _s, _p: parsed[raw]).start()
        ready.send(server.tcp_address)
        server.serve_until(max_messages=len(msgs), duration=600, flush_every=1.0)
        sink.close(60)


def start(cfg: Config, msgs: list[bytes]) -> tuple[multiprocessing.process.BaseProcess, tuple[str, int]]:
    """The child serving, and the TCP address to send to."""
    ctx = multiprocessing.get_context("spawn")
    parent_end, child_end = ctx.Pipe()
    proc = ctx.Process(target=serve, args=(cfg, msgs, child_end), daemon=True)
    proc.start()
    if not parent_end.poll(300):
        proc.kill()
        raise RuntimeError("the ceiling receiver did not start within 300 s")
    return proc, parent_end.recv()
