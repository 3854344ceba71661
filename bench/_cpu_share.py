"""Where the box's cores go during a bench phase: CPU seconds per named process, from /proc.

sysstat's `pidstat` is not on this box, so the bench reads what it would: each process's utime +
stime (all its threads) from /proc/<pid>/stat, and the whole machine's busy time from /proc/stat,
at the start and the end of a phase. `share()` turns two snapshots into cores used per name (CPU
seconds / wall seconds: 1.0 is one core kept busy), plus the whole box and what is left for
everything not named (the other engineers' work, the kernel's softirq time for loopback TCP).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds process `pid` (all its threads) has used; 0.0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15 of stat)


def box_busy() -> float:
    """CPU seconds all cores of the machine spent on anything but idle and I/O wait."""
    parts = [int(x) for x in Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return (sum(parts[:8]) - idle) / CLOCK_TICKS  # user nice system idle iowait irq softirq steal


@dataclass
class Snapshot:
    wall: float
    box: float
    processes: dict[str, float]  # name -> CPU seconds so far (a name may sum several processes)


def snapshot(named: dict[str, list[int]]) -> Snapshot:
    """CPU seconds so far of each named group of processes, and of the whole box."""
    used = {name: sum(map(process_cpu, pids)) for name, pids in named.items()}
    return Snapshot(time.perf_counter(), box_busy(), used)


def share(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """Cores used between two snapshots: per name, `box` (all of the machine) and `other` (the box
    minus the named processes)."""
    wall = max(after.wall - before.wall, 1e-9)
    used = {name: (after.processes[name] - before.processes.get(name, 0.0)) / wall for name in after.processes}
    used["box"] = (after.box - before.box) / wall
    used["other"] = used["box"] - sum(v for k, v in used.items() if k != "box")
    return used


def cpu_seconds(before: Snapshot, after: Snapshot, name: str) -> float:
    """CPU seconds the processes named `name` used between two snapshots."""
    return after.processes[name] - before.processes.get(name, 0.0)


def line(figures: dict[str, float], digits: int = 2) -> str:
    """`name 0.42` pairs (e.g. cores used), in the order given."""
    return ", ".join(f"{name} {value:.{digits}f}" for name, value in figures.items())
