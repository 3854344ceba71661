"""Measure pyevtx-rs against python-evtx on the corrupt / not cleanly closed samples (PARSERS.md).

    python -m logwarden.shippers.windows.compare_parsers [FOLDER]

Default FOLDER: ../shared/data/evtx/evtx-rs-samples/samples (relative to the repo root). Prints a
Markdown table: records each parser returns, its errors, and the records (by EventRecordID) that
only python-evtx recovers. python-evtx is slow (~170 records/s): a full run takes about a minute.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from evtx import PyEvtxParser

ROOT = Path(__file__).resolve().parents[3]  # the repo root
DEFAULT = ROOT.parent / "shared" / "data" / "evtx" / "evtx-rs-samples" / "samples"


def pyevtx_rs(path: Path) -> tuple[set[int], int]:
    ids: set[int] = set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for rec in PyEvtxParser(str(path), skip_errors=True).records_json():
            if rec is not None:
                ids.add(rec["event_record_id"])
    return ids, len(caught)


def python_evtx(path: Path) -> tuple[set[int], int]:
    import Evtx.Evtx as pe  # type: ignore[import-untyped]  # python-evtx (no type hints), measured here only

    ids: set[int] = set()
    errors = 0
    try:
        with pe.Evtx(str(path)) as log:
            for chunk in log.chunks():
                try:
                    for rec in chunk.records():
                        try:
                            rec.xml()
                            ids.add(rec.record_num())
                        except Exception:  # noqa: BLE001 - record boundary of the measurement: python-evtx's failure, counted
                            errors += 1
                except Exception:  # noqa: BLE001 - chunk boundary of the measurement, counted
                    errors += 1
    except Exception:  # noqa: BLE001 - file boundary of the measurement, counted
        errors += 1
    return ids, errors


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else DEFAULT
    print("| file | pyevtx-rs records | pyevtx-rs errors | python-evtx records "
          "| python-evtx errors | records only python-evtx recovers |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    total_rs = total_py = total_only = 0
    for path in sorted(folder.glob("*.evtx")):
        rs, rs_err = pyevtx_rs(path)
        py, py_err = python_evtx(path)
        only = len(py - rs)
        total_rs, total_py, total_only = total_rs + len(rs), total_py + len(py), total_only + only
        print(f"| {path.name} | {len(rs)} | {rs_err} | {len(py)} | {py_err} | {only} |")
    print(f"| **total** | **{total_rs}** | | **{total_py}** | | **{total_only}** |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
