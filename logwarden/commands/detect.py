"""`logwarden detect [--once | --interval 60s]`: the Sigma rules as Elasticsearch queries.

With `--interval` it runs until SIGTERM/SIGINT, with the Kafka services' shutdown model
(logwarden/consume.py's StopFlag): the pass in progress is finished and its alerts written, its
counters printed, exit 0; a stop during the wait between passes ends the wait at once.
Elasticsearch refusing or away in the middle of a run is waited out like the indexer does, and
the time it kept unsearched is searched when it is back (logwarden/detection/schedule.py), and so
is the time no `detect` ran: a restart reaches back to where the last run's passes had searched
its rules (logwarden/detection/searched_mark.py, in the state folder). Time that far behind is
searched in windows of at most `--catch-up-step`, back to back, until a window reaches now.
Elasticsearch is asked once before the first pass (logwarden/es_preflight.py): credentials,
permission or TLS refused is exit 3 at once in both modes, and so is, with `--once`, a port that
does not take the connection.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from logwarden.durations import parse_duration

log = logging.getLogger(__name__)

CATCH_UP_STEP = 3600.0  # one hour of events per search while catching up (docs/architecture.md 51)


def duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("detect", help="run the Sigma rules on Elasticsearch; alerts to logwarden-alerts-*")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one pass and exit")
    mode.add_argument("--interval", type=duration, default=60.0, help="seconds between passes (default 60s)")
    p.add_argument("--lookback", type=duration, default=None,
                   help="window length (default: everything with --once, 2x interval otherwise)")
    p.add_argument("--overlap", type=duration, default=120.0, help="extra look-back for late events (default 2m)")
    p.add_argument("--catch-up-step", type=duration, default=None,
                   help="longest window while catching up after a stop or outage, searched back to back "
                        f"(default {CATCH_UP_STEP:g}s, or lookback + overlap when longer; 0: no cap; --interval only)")
    p.add_argument("--rules", action="append", type=Path, help="rule file or folder (default: sigma_rules/)")
    p.add_argument("--dry-run", action="store_true", help="print alerts as JSON lines, write nothing")
    p.add_argument("--json", action="store_true", help="print counters as JSON")
    p.add_argument("--no-silence", action="store_true",
                   help="no silence alerts this run (setting: silence: off, LOGWARDEN_SILENCE=off)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """One pass (--once: exit 0, or ServerError exit 3 when Elasticsearch fails) or passes every
    --interval (logwarden/detection/schedule.py: a refused or unreachable Elasticsearch is waited
    out and the window it kept unsearched searched afterwards). Counters go to stderr."""
    from logwarden import es_preflight
    from logwarden.config import load
    from logwarden.consume import Outage, StopFlag
    from logwarden.detection.compiler import load_ruleset
    from logwarden.detection.engine import Detector
    from logwarden.detection.es import EsDetector
    from logwarden.detection.schedule import PassRunner, Windows
    from logwarden.detection.searched_mark import SearchedMark, mark_path
    from logwarden.es_io import bare_url, client
    from logwarden.shippers.base import dumps

    cfg = load(args.config)  # ConfigError: one line, exit 2 (cli)
    lookback = args.lookback if args.lookback is not None else (None if args.once else 2 * args.interval)
    step = 0.0 if args.once or lookback is None else catch_up_step(args.catch_up_step, lookback, args.overlap)
    ruleset = load_ruleset(args.rules)
    detector = Detector(ruleset)
    runner = EsDetector(cfg, client(cfg), detector)
    es_preflight.check(cfg, runner.es, drain=args.once)  # a refusal is exit 3 in one line, in both modes
    watch: Any = None
    watch_wanted = not args.no_silence  # built after the first pass reached Elasticsearch: no Kafka
    # connection (and no warning about it) when Elasticsearch itself cannot be reached
    stop = StopFlag()

    def write(alerts: list[dict[str, Any]]) -> None:
        if args.dry_run:
            for a in alerts:
                print(dumps(a).decode())
        else:
            runner.write(alerts)

    def silence(now: datetime) -> None:
        nonlocal watch, watch_wanted
        if watch_wanted and watch is None:
            watch, watch_wanted = silence_watch(cfg, runner.es, args.dry_run), False
        if watch is not None:
            for doc in watch.run_once(now.timestamp(), write=not args.dry_run):
                if args.dry_run:
                    print(dumps(doc).decode())

    windows = Windows(lookback, args.overlap, step)
    mark = None  # where the last pass written searched each rule to, across restarts (--interval, writing)
    if lookback is not None and not args.once and not args.dry_run:
        mark = SearchedMark(mark_path(cfg.state_path, cfg.index_prefix), rule_ids(ruleset))
        resume(mark, windows, lookback)

    def after(end: datetime) -> None:
        if mark is not None:
            mark.save(end)

    passes = PassRunner(cfg, windows, Outage(f"Elasticsearch at {bare_url(cfg)}", stop, log),
                        args.once, runner.run_once, write, after, silence)
    with stop.on_signals():  # a stop never interrupts a pass: it ends the wait before the next
        passes.run(stop, args.interval, lambda: print_counters(runner, watch, args.json))
    if stop.is_set():
        log.info("%s received: stopped", stop.reason)
    return 0


def catch_up_step(given: float | None, lookback: float, overlap: float) -> float:
    """The longest window of `--interval`: `given` (0: no cap), or CATCH_UP_STEP, or the pass's own
    window when that is longer. A step shorter than the pass's own window would cut every pass.

    Raises:
        UsageError: a given step shorter than lookback + overlap, or not past the overlap.
    """
    from logwarden.errors import UsageError

    window = lookback + overlap
    if given is None:
        return max(CATCH_UP_STEP, window)
    if given and (given < window or given <= overlap):
        raise UsageError(f"--catch-up-step {given:g}s is shorter than a pass's window "
                         f"(--lookback + --overlap = {window:g}s, and more than --overlap); 0 for no cap")
    return given


def rule_ids(ruleset: Any) -> list[str]:
    """Every rule a pass runs, base rules and correlations: the mark's keys."""
    return [r.id for r in ruleset.rules] + [c.id for c in ruleset.correlations]


def resume(mark: Any, windows: Any, lookback: float) -> None:
    """The first window reaches back to the earliest end the mark holds for this run's rules."""
    from logwarden.safe_text import printable

    started = datetime.now(UTC)
    ends = mark.ends(started)
    if not ends:
        return
    earliest = min(ends, key=lambda rid: (ends[rid], rid))
    windows.resume(ends[earliest])
    if ends[earliest] < started - timedelta(seconds=lookback):
        missing = len(mark.rule_ids) - len(ends)
        log.info("the last pass before this start searched rule %s to %s (the earliest of %d rules with an end, "
                 "%d without), longer ago than the lookback: the first pass searches from there",
                 printable(earliest), ends[earliest].isoformat(timespec="seconds"), len(ends), missing)


def print_counters(runner: Any, watch: Any, as_json: bool) -> None:
    """The counters so far, one line on stderr (JSON with `--json`)."""
    s = runner.stats
    line = {"rules": s.rules, "queries": s.queries, "hits": s.hits, "dropped": s.dropped,
            "alerts": s.alerts, "created": s.created, "existing": s.existing}
    silence = ""
    if watch is not None:
        w = watch.stats
        line.update({"sources": w.sources, "silent": w.silent, "silence_opened": w.opened,
                     "silence_closed": w.closed})
        silence = f"; {w.sources} sources, {w.silent} silent ({w.opened} opened, {w.closed} closed)"
    print(json.dumps(line) if as_json else
          f"detect: {s.rules} rules, {s.hits} hits, {s.alerts} alerts "
          f"({s.created} new, {s.existing} already there){silence}", file=sys.stderr, flush=True)


def silence_watch(cfg: Any, es: Any, dry_run: bool) -> Any:
    """The silence pass of detect (logwarden/detection/silence.py), or None when the setting turns
    it off. Its documents also go to the alerts topic when Kafka can be reached at start."""
    from logwarden.detection.silence import SilenceWatch, settings_of

    settings = settings_of(cfg)
    if not settings.enabled:
        return None
    sink = None
    if not dry_run:
        from kafka.errors import KafkaError

        from logwarden.kafka_io import KafkaSink

        try:
            sink = KafkaSink(cfg, client_id="logwarden-detect")
        except KafkaError as exc:
            log.warning("Kafka at %s unreachable: silence alerts go to Elasticsearch only: %s", cfg.kafka, exc)
    return SilenceWatch(cfg, es, settings, sink)
