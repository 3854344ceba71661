"""Benchmark: CPU time per event of a `stream` member's own work, without Kafka (issue 12).

What one member does per input message, in process and on one core: decode the JSON value,
flatten it, find the candidate rules, evaluate them, build the alerts and hand the correlation
hits on (`StreamRunner.handle` with a sink that only collects, the in-process correlation path),
over the shared EVTX-ATTACK-SAMPLES documents with all SigmaHQ Windows rules + ours, in batches
of the consumer's `max_poll_records`. Beside it, hunt's per-event cost over the same documents
(already decoded: `run_batch`) and the parts one by one. CPU time (`time.process_time`), best of
`--repeat` passes, so the figure holds on a box other work keeps busy; the Kafka client's share
is measured by bench/bench_stream_members.py (`--profile`).

Run: .venv/bin/python -m bench.bench_stream_cpu [--events 20000] [--repeat 3]
Side by side with another checkout: PYTHONPATH=/path/to/other .venv/bin/python -m bench.bench_stream_cpu
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench._lab import SHARED_DATA

BATCH = 5000  # the consumer's max_poll_records (logwarden/kafka_io.py make_consumer)


@dataclass
class _Message:
    """The fields of a consumer record that stream reads."""

    topic: str
    partition: int
    offset: int
    value: bytes
    headers: list[tuple[str, bytes]]


class _CollectingSink:
    """A sink that keeps what it is given (no Kafka)."""

    def __init__(self) -> None:
        self.sent = 0

    def send(self, item: Any) -> None:
        self.sent += 1

    def flush(self) -> None:
        return None


def _passes(passes: int, work: Callable[[], object]) -> list[float]:
    """The CPU seconds `work` took in each of `passes` runs."""
    took = []
    for _ in range(passes):
        start = time.process_time()
        work()
        took.append(time.process_time() - start)
    return took


def _best(passes: int, work: Callable[[], object]) -> float:
    """The least CPU seconds `work` took over `passes` runs."""
    return min(_passes(passes, work))


def main() -> int:
    import logwarden
    from logwarden.config import load
    from logwarden.detection.compiler import DEFAULT_RULES, load_ruleset
    from logwarden.detection.engine import Detector, run_batch
    from logwarden.detection.evaluate import flatten
    from logwarden.detection.hunt import HuntStats, iter_docs
    from logwarden.detection.stream import StreamRunner, _decode

    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    detector = Detector(load_ruleset([DEFAULT_RULES, SHARED_DATA / "sigmahq" / "rules" / "windows"]))
    docs = [d for _, d in iter_docs([SHARED_DATA / "evtx" / "EVTX-ATTACK-SAMPLES"], HuntStats())]
    payloads = [json.dumps(d).encode() for d in docs]
    messages = [_Message("windows", 0, i, payloads[i % len(payloads)], [("id", f"ev-{i}".encode())])
                for i in range(args.events)]
    runner = StreamRunner(load(), detector, None, _CollectingSink())
    gc.freeze()  # as `logwarden stream` does once its rules are compiled (logwarden/commands/stream.py)

    def stream_pass() -> None:
        for first in range(0, len(messages), BATCH):
            runner.handle(messages[first:first + BATCH])

    decoded = [json.loads(m.value) for m in messages]
    flats = [detector.flatten(d) for d in decoded]
    parts = {
        "decode (stream's: orjson)": lambda: [_decode(m.value) for m in messages],
        "flatten (every field lowercased)": lambda: [flatten(d) for d in decoded],
        "flatten (Detector.flatten: rule fields)": lambda: [detector.flatten(d) for d in decoded],
        "candidates (prefilter)": lambda: [detector.candidates(f) for f in flats],
        "flatten + match (prefilter + rules)": lambda: [detector.match(detector.flatten(d)) for d in decoded],
    }
    n = len(messages)
    print(f"logwarden from {logwarden.__file__}; {len(detector.ruleset.rules)} rules, {n} events "
          f"({len(docs)} distinct), CPU time")
    stream_s = _passes(args.repeat, stream_pass)  # the first pass meets every value for the first time
    hunt_s = _best(args.repeat, lambda: run_batch(detector, ((f"ev-{i}", d) for i, d in enumerate(decoded))))
    print(f"stream member, per message (no Kafka): first pass {stream_s[0] / n * 1e6:7.1f} us, "
          f"best of {args.repeat} {min(stream_s) / n * 1e6:7.1f} us  {n / min(stream_s):8,.0f} events per CPU-second")
    print(f"hunt run_batch, per event, best of {args.repeat}: {hunt_s / n * 1e6:7.1f} us  "
          f"{n / hunt_s:8,.0f} events per CPU-second")
    for name, work in parts.items():
        print(f"  {name:36s}  {_best(args.repeat, work) / n * 1e6:7.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
