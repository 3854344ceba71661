"""Where `ship syslog`'s TCP time goes, stage by stage, in one process (a measurement).

    .venv/bin/python -m bench.bench_syslog_stages [--messages 50000] [--corpus firewall]
                                                  [--profile FILE.pstats]

The same payload (bench/_syslog_send.py) over one loopback TCP connection into a `SyslogServer`
in this process, each stage adding one piece of the real path:
  receive   socket, framing, counting; no parsing (a constant dead letter), a sink that drops
  parse     + autodetect.parse_line (the real parsers), a sink that drops
  encode    + kafka_io.to_message (JSON document, topic, key), dropped
  kafka     + the real SpoolingSink to the lab's Kafka, until every message is acknowledged
Prints msg/s and microseconds per message for each, and the difference to the stage before (what
that piece costs). Before them, CPU-only figures without sockets (the measuring thread's CPU
time, best of 5, 256 KiB reads):
`framing` (Framer.feed), `hand-off` (framing + SyslogServer.handle_frames, constant parser) and
`sink` (hand-off of the already parsed items through to_message and the real SpoolingSink, with a
Kafka stand-in that acknowledges at once: the receiver's whole per-message cost outside the
parser and the Kafka client). `--micro-only`: those three only (no lab needed); with
`PYTHONPATH=<other worktree>` from that folder they measure another checkout's receiver.
`--profile` writes a cProfile of the `kafka` stage's receiving thread (`python -m pstats FILE`).
Needs `logwarden lab up` for the last stage.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._lab import lab_config, namespace
from bench._syslog_send import CORPORA, send_tcp
from logwarden.kafka_io import delete_topics, ensure_topics, to_message
from logwarden.shippers import autodetect
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.syslog import Framer, SyslogServer


class DropSink:
    """Takes everything, keeps nothing (optionally turning each item into its Kafka message)."""

    def __init__(self, convert: Callable[[Event | DeadLetter], Any] | None = None) -> None:
        self.convert = convert

    def send(self, item: Event | DeadLetter) -> bool:
        if self.convert is not None:
            self.convert(item)
        return True

    def flush(self) -> None:
        pass


def _constant(raw: bytes, source: str, position: int) -> Event | DeadLetter:
    return DeadLetter(source, raw, "not parsed (bench)", "unknown", position)


def timed_receive(msgs: list[bytes], sink: Any, parse: Any, profile: cProfile.Profile | None = None,
                  close: Callable[[], object] | None = None) -> float:
    """Seconds from the first byte sent until the server received len(msgs) messages and
    `close()` (when given: e.g. waiting for Kafka's acknowledgements) returned."""
    server = SyslogServer(sink, tcp=("127.0.0.1", 0), parse=parse).start()
    assert server.tcp_address is not None
    if profile is not None:
        original = server._conn_loop

        def profiled(*args: Any) -> None:
            profile.runcall(original, *args)

        server._conn_loop = profiled  # type: ignore[method-assign, assignment]
    sender = threading.Thread(target=send_tcp, args=(server.tcp_address, msgs))
    t0 = time.perf_counter()
    sender.start()
    server.serve_until(max_messages=len(msgs), duration=600, flush_every=1.0)
    sender.join()
    if close is not None:
        close()
    return time.perf_counter() - t0


def micro(msgs: list[bytes]) -> list[tuple[str, float]]:
    """Seconds (best of 5) to frame `msgs` from 256 KiB reads, to frame and hand them off, and to
    frame, hand off and sink the already parsed items (see the module docstring)."""
    from logwarden.config import Config
    from logwarden.shippers.spool import Spool
    from logwarden.shippers.spooling_sink import SpoolingSink
    from tests.support.kafka_stand_in import StandInKafka

    parsed = {raw: autodetect.parse_line(raw, "bench", 0) for raw in msgs}
    payload = b"".join(m + b"\n" for m in msgs)
    chunks = [payload[k:k + 262144] for k in range(0, len(payload), 262144)]

    def framing() -> None:
        framer = Framer()
        for chunk in chunks:
            framer.feed(chunk)

    def handoff() -> None:
        server, framer = SyslogServer(DropSink(), tcp=("127.0.0.1", 0), parse=_constant), Framer()
        for chunk in chunks:
            server.handle_frames(framer.feed(chunk), "tcp", "127.0.0.1")
        assert server.counters.received == len(msgs)

    def sink() -> None:
        with tempfile.TemporaryDirectory(prefix="lw-stages-") as tmp:
            spooling = SpoolingSink(Config(topic_prefix="lwbench."), Spool(Path(tmp), 1 << 30),
                                    connect=lambda: StandInKafka(keep=False))  # type: ignore[arg-type, return-value]
            while spooling.spooling:
                time.sleep(0.01)
            server = SyslogServer(spooling, tcp=("127.0.0.1", 0), parse=lambda raw, _s, _p: parsed[raw])
            framer = Framer()
            t0 = time.thread_time()
            for chunk in chunks:
                server.handle_frames(framer.feed(chunk), "tcp", "127.0.0.1")
            timings.append(time.thread_time() - t0)
            assert spooling.counters.direct == len(msgs)
            spooling.close(0)

    out = []
    timings: list[float] = []
    for name, fn in (("framing", framing), ("hand-off", handoff), ("sink", sink)):
        best = float("inf")
        for _ in range(5):
            t0 = time.thread_time()
            fn()
            best = min(best, timings.pop() if timings else time.thread_time() - t0)
        out.append((name, best))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--corpus", default="firewall", choices=sorted(CORPORA))
    ap.add_argument("--profile", type=Path, help="cProfile of the kafka stage's receiving thread")
    ap.add_argument("--micro-only", action="store_true", help="the CPU-only figures only (no lab)")
    args = ap.parse_args(argv)
    msgs = CORPORA[args.corpus](args.messages)
    autodetect.load()
    rows: list[tuple[str, float]] = micro(msgs)
    if args.micro_only:
        return report(rows, len(msgs), args.corpus)
    cfg = namespace(lab_config(), "stages")
    ensure_topics(cfg)
    try:
        rows.append(("receive", timed_receive(msgs, DropSink(), _constant)))
        rows.append(("parse", timed_receive(msgs, DropSink(), autodetect.parse_line)))
        rows.append(("encode", timed_receive(msgs, DropSink(lambda item: to_message(cfg, item)),
                                             autodetect.parse_line)))
        from logwarden.shippers.spool import Spool
        from logwarden.shippers.spooling_sink import SpoolingSink

        with tempfile.TemporaryDirectory(prefix="lw-stages-") as tmp:
            sink = SpoolingSink(cfg, Spool(Path(tmp), 1 << 30))
            deadline = time.monotonic() + 60
            while sink.spooling and time.monotonic() < deadline:  # until its producer is connected
                time.sleep(0.05)
            profile = cProfile.Profile() if args.profile else None
            rows.append(("kafka", timed_receive(msgs, sink, autodetect.parse_line, profile,
                                                lambda: sink.close(60))))
            if profile is not None:
                profile.dump_stats(str(args.profile))
            left = sink.counters.left_in_spool + sink.counters.spooled
            if left:
                print(f"warning: {left} message(s) went to the spool (Kafka too slow or away)")
    finally:
        delete_topics(cfg, cfg.topic_prefix)
    return report(rows, len(msgs), args.corpus)


def report(rows: list[tuple[str, float]], n: int, corpus: str) -> int:
    """Print the rows (stage, seconds for n messages); returns 0."""
    cpu_only = ("framing", "hand-off", "sink")
    print(f"corpus {corpus}: {n:,} messages over one TCP connection, one process")
    before = 0.0
    for name, seconds in rows:
        per = seconds / n * 1e6
        added = f"  (+{per - before:.1f} us)" if name not in cpu_only else "  (CPU only, best of 5)"
        print(f"  {name:<8} {n / seconds:>9,.0f} msg/s  {per:>7.2f} us/msg{added}")
        before = per if name not in cpu_only else 0.0
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
