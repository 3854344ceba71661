"""Reset this process's own TCP connections to a server, as a broker restart or a network blip
would: the client has to connect and log in again, without a proxy in its path (librdkafka has no
proxy setting) and without touching the shared server or anybody else's connections.

`reset_own_connections(port)` finds the sockets this process holds (/proc/self/fd) that are
connected to 127.0.0.1:`port` (/proc/self/net/tcp) and aborts each with `ss -K` (the kernel's
SOCK_DESTROY, as root); returns how many it aborted. `reset_connections_of(pids, port)` does the
same for other processes of this machine's network namespace (a service started by a test and
the processes it forked: `process_tree`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it (little-endian)
ESTABLISHED = "01"


def _socket_inodes(pid: str) -> set[str]:
    inodes: set[str] = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except FileNotFoundError:  # the process ended meanwhile
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def own_connections(port: int, pids: list[str] | None = None) -> list[int]:
    """Local ports of the established connections to 127.0.0.1:`port` of this process, or of
    `pids` (their sockets as /proc/<pid>/fd lists them)."""
    mine = set().union(*(_socket_inodes(pid) for pid in pids or ["self"]))
    local_ports = []
    for line in Path("/proc/self/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        if state == ESTABLISHED and inode in mine and remote == f"{LOOPBACK_HEX}:{port:04X}":
            local_ports.append(int(local.split(":")[1], 16))
    return local_ports


def reset_own_connections(port: int) -> int:
    return reset_connections_of(None, port)


def reset_connections_of(pids: list[str] | None, port: int) -> int:
    """Abort the connections to 127.0.0.1:`port` of `pids` (None: this process); how many."""
    tool = shutil.which("ss")
    assert tool, "resetting a client's connections needs the ss command (iproute2)"
    local_ports = own_connections(port, pids)
    for local in local_ports:
        subprocess.run([tool, "-K", "src", f"127.0.0.1:{local}", "dst", f"127.0.0.1:{port}"], check=True,
                       capture_output=True)
    assert not set(local_ports) & set(own_connections(port, pids)), "ss -K did not abort the connections (no root?)"
    return len(local_ports)


def process_tree(pid: int) -> list[str]:
    """`pid` and every process it forked, and theirs (/proc/<pid>/task/<tid>/children)."""
    found, todo = [], [str(pid)]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += (task / "children").read_text().split()
            except FileNotFoundError:
                continue
    return found
