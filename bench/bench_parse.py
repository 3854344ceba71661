"""Windows parsing throughput: raw pyevtx-rs vs our parser + normaliser (vs python-evtx on a subset),
and where a record's time goes, stage by stage (optionally beside another tree, e.g. main).

    .venv/bin/python -m bench.bench_parse [--repeat 3] [--no-python-evtx] [FOLDER]
    .venv/bin/python -m bench.bench_parse --stages [--reference TREE] [--repeat 3] [FOLDER]

FOLDER defaults to ../shared/data/evtx (beside the repo). All rates are records per second over
every .evtx file under FOLDER, best of --repeat runs (raw and ours alternated), measured in this one process so the
ratios compare like with like:
- raw:   PyEvtxParser(path, skip_errors=True).records_json() + json.loads (the floor)
- ours:  logwarden.shippers.windows.iter_file (parse + normalise to ECS + deterministic id)
- python-evtx 0.8.1 on a small subset (it is ~1000x slower), against raw on the same subset.
Target: ours/raw >= 0.4.

`--stages`: CPU µs per record of each stage of `ship evtx` before the producer (process CPU
time, best of --repeat, the garbage collector off while a stage runs over its list): read
(pyevtx-rs record -> JSON text, with the ledger of promised ids), decode (text -> record),
normalise (record -> ECS document), id (deterministic event id), encode (the Kafka message:
`kafka_io.to_message`), and the whole chain streamed as `ship evtx` runs it (iter_file +
to_message, collector on). `--reference TREE` runs the same stages on another checkout (its own
`logwarden`, this script) in a child process, alternated with this tree, and prints both
side by side: `git worktree add --detach ../base main` gives one.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evtx import PyEvtxParser

from bench._lab import ROOT, SAMPLES
from logwarden.shippers.windows import iter_file, iter_paths

PY_EVTX_SUBSET = (  # small, cleanly parsed by python-evtx
    "DeepBlueCLI/evtx/password-spray.evtx",
    "EVTX-ATTACK-SAMPLES/Defense Evasion/DE_1102_security_log_cleared.evtx",
    "DeepBlueCLI/evtx/new-user-security.evtx",
)


def raw(files: list[Path]) -> int:
    n = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            for rec in PyEvtxParser(str(path), skip_errors=True).records_json():
                assert rec is not None  # the stub's __next__ is Optional; a record is never None
                json.loads(rec["data"])
                n += 1
    return n


def ours(files: list[Path]) -> int:
    n = 0
    for path in files:
        for _ in iter_file(path):
            n += 1
    return n


def python_evtx(files: list[Path]) -> int:
    import Evtx.Evtx as pe

    n = 0
    for path in files:
        with pe.Evtx(str(path)) as log:
            for rec in log.records():
                try:
                    rec.xml()
                    n += 1
                except Exception:  # noqa: BLE001 - counted as not parsed
                    pass
    return n


def best(fn: Callable[[list[Path]], int], files: list[Path], repeat: int) -> tuple[int, float]:
    runs = []
    n = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = fn(files)
        runs.append(time.perf_counter() - t0)
    return n, min(runs)


def interleaved(files: list[Path], repeat: int) -> tuple[int, float, int, float]:
    """raw and ours alternated, best of each: load from other processes hits both alike."""
    t_raw = t_ours = float("inf")
    n_raw = n_ours = 0
    for _ in range(repeat):
        n_raw, t = best(raw, files, 1)
        t_raw = min(t_raw, t)
        n_ours, t = best(ours, files, 1)
        t_ours = min(t_ours, t)
    return n_raw, t_raw, n_ours, t_ours


STAGES = ("read", "decode", "normalise", "id", "encode", "whole chain")


def _evtx_decoder() -> Callable[[str], Any]:
    """The tree's decode of pyevtx-rs JSON text (before stream.decode_evtx_json: json.loads and the
    same depth and surrogate checks, inline in stream.records)."""
    from logwarden.shippers.windows import stream

    if hasattr(stream, "decode_evtx_json"):
        return lambda text: stream.decode_evtx_json(text)[0]

    def old(text: str) -> Any:
        rec = json.loads(text)
        if text.count("{") + text.count("[") > stream.MAX_DEPTH:
            stream.check_depth(rec)
        if stream.may_hold_surrogates(text):
            rec, _ = stream.replace_surrogates(rec)
        return rec
    return old


def _cpu(fn: Callable[..., Any], *args: Any, collect: bool = False) -> tuple[Any, float]:
    """fn(*args) and the CPU seconds it took (the collector off unless `collect`)."""
    gc.collect()
    if not collect:
        gc.disable()
    try:
        start = time.process_time()
        result = fn(*args)
        return result, time.process_time() - start
    finally:
        gc.enable()


def stages(files: list[Path], repeat: int) -> tuple[int, dict[str, float]]:
    """(records read, CPU µs per record read of each stage, best of `repeat`)."""
    from logwarden.config import load
    from logwarden.kafka_io import to_message
    from logwarden.shippers.windows.evtx_reader import read_evtx
    from logwarden.shippers.windows.normalise import RecordError, normalise, to_event

    cfg = load()
    decode = _evtx_decoder()
    logging.disable(logging.WARNING)  # the samples' parser warnings, once per run

    def normalised(records: list[Any]) -> list[dict[str, Any]]:
        docs = []
        for rec in records:
            try:
                docs.append(normalise(rec, "bench"))
            except RecordError:
                pass
        return docs

    def chain() -> int:
        n = 0
        for path in files:
            for item in iter_file(path):
                to_message(cfg, item)
                n += 1
        return n

    best = dict.fromkeys(STAGES, float("inf"))
    n = 0
    for _ in range(repeat):
        texts, t_read = _cpu(lambda: [x for p in files for x in read_evtx(str(p)) if isinstance(x, str)])
        n = len(texts)
        records, t_decode = _cpu(lambda xs: [decode(x) for x in xs], texts)
        docs, t_norm = _cpu(normalised, records)
        events, t_id = _cpu(lambda ds: [to_event(d, i) for i, d in enumerate(ds)], docs)
        _, t_encode = _cpu(lambda es: [to_message(cfg, e) for e in es], events)
        _, t_chain = _cpu(chain, collect=True)
        for name, seconds in zip(STAGES, (t_read, t_decode, t_norm, t_id, t_encode, t_chain), strict=True):
            best[name] = min(best[name], seconds * 1e6 / n)
    return n, best


def _stages_in(tree: Path, folder: Path) -> tuple[int, dict[str, float]]:
    """stages() run by this script in a child process on `tree`'s logwarden (one repeat)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--stages-json", str(folder)],
                          cwd=tree, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"stages on {tree} failed: {proc.stderr[-1000:]}")
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    return got["records"], got["stages"]


def print_stages(folder: Path, files: list[Path], repeat: int, reference: Path | None) -> None:
    if reference is None:
        n, ours = stages(files, repeat)
        print(f"stages: {n} records, CPU us per record, best of {repeat}")
        for name in STAGES:
            print(f"  {name:<12}{ours[name]:8.1f}")
        total = sum(ours[name] for name in STAGES[:-1])
        print(f"  {'sum':<12}{total:8.1f}   = {1e6 / total:,.0f} records per CPU-second before the producer")
        return
    ours = dict.fromkeys(STAGES, float("inf"))
    ref = dict.fromkeys(STAGES, float("inf"))
    n = 0
    for _ in range(repeat):  # alternated: load from other processes hits both alike
        for tree, best in ((ROOT, ours), (reference, ref)):
            n, got = _stages_in(tree, folder)
            for name in STAGES:
                best[name] = min(best[name], got[name])
    print(f"stages: {n} records, CPU us per record, best of {repeat} (children alternated); "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"  {'stage':<12}{'reference':>10}{'this tree':>11}{'ratio':>8}   reference = {reference}")
    for name in (*STAGES[:-1], "sum", STAGES[-1]):
        r = sum(ref[s] for s in STAGES[:-1]) if name == "sum" else ref[name]
        o = sum(ours[s] for s in STAGES[:-1]) if name == "sum" else ours[name]
        print(f"  {name:<12}{r:10.1f}{o:11.1f}{r / o:7.2f}x")


def line(label: str, n: int, seconds: float, width: int = 44) -> str:
    return f"{label:<{width}} {n:>8} records {seconds:7.3f} s {n / seconds:>10,.0f} rec/s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", default=str(SAMPLES))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-python-evtx", action="store_true")
    ap.add_argument("--stages", action="store_true", help="CPU per record of each stage instead of the rates")
    ap.add_argument("--reference", type=Path, help="with --stages: another checkout measured alongside")
    ap.add_argument("--stages-json", action="store_true", help=argparse.SUPPRESS)  # one repeat, for --reference
    args = ap.parse_args(argv)
    folder = Path(args.folder)
    files = [p for p in iter_paths([folder]) if p.suffix.lower() == ".evtx"]
    if not files:
        print(f"no .evtx files under {folder}", file=sys.stderr)
        return 2
    if args.stages_json:
        n, got = stages(files, 1)
        print(json.dumps({"records": n, "stages": got}))
        return 0
    if args.stages:
        print_stages(folder, files, args.repeat, args.reference)
        return 0
    size = sum(p.stat().st_size for p in files)
    print(f"bench_parse: {len(files)} .evtx files, {size / 1e6:.1f} MB, under {folder}")
    print(f"python {platform.python_version()} on {platform.machine()}, best of {args.repeat}")
    n_raw, t_raw, n_ours, t_ours = interleaved(files, args.repeat)
    r_raw, r_ours = n_raw / t_raw, n_ours / t_ours
    print(line("raw pyevtx-rs records_json + json.loads", n_raw, t_raw))
    print(line("logwarden iter_file (parse+normalise+id)", n_ours, t_ours))
    print(f"ratio ours/raw = {r_ours / r_raw:.2f} (target >= 0.40)")
    if not args.no_python_evtx:
        subset = [folder / rel for rel in PY_EVTX_SUBSET if (folder / rel).exists()]
        if subset:
            n_py, t_py = best(python_evtx, subset, 1)
            n_rs, t_rs = best(raw, subset, args.repeat)
            n_us, t_us = best(ours, subset, args.repeat)
            print(f"subset of {len(subset)} files ({n_rs} records):")
            print("  " + line("python-evtx 0.8.1 record.xml()", n_py, t_py, 42))
            print("  " + line("raw pyevtx-rs records_json + json.loads", n_rs, t_rs, 42))
            print("  " + line("logwarden iter_file", n_us, t_us, 42))
            print(f"  ratio python-evtx/raw = {(n_py / t_py) / (n_rs / t_rs):.4f}, "
                  f"ours/python-evtx = {(n_us / t_us) / (n_py / t_py):.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
