"""Reset this process's own TCP connections to a server, as a broker restart or a network blip
would: the client has to connect and log in again, without a proxy in its path (librdkafka has no
proxy setting) and without touching the shared server or anybody else's connections.

`reset_own_connections(port)` finds the sockets this process holds (/proc/self/fd) that are
connected to 127.0.0.1:`port` (/proc/self/net/tcp) and aborts each with `ss -K` (the kernel's
SOCK_DESTROY, as root); returns how many it aborted."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it (little-endian)
ESTABLISHED = "01"


def _own_socket_inodes() -> set[str]:
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def own_connections(port: int) -> list[int]:
    """Local ports of this process's established connections to 127.0.0.1:`port`."""
    mine = _own_socket_inodes()
    local_ports = []
    for line in Path("/proc/self/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        if state == ESTABLISHED and inode in mine and remote == f"{LOOPBACK_HEX}:{port:04X}":
            local_ports.append(int(local.split(":")[1], 16))
    return local_ports


def reset_own_connections(port: int) -> int:
    tool = shutil.which("ss")
    assert tool, "resetting a client's connections needs the ss command (iproute2)"
    local_ports = own_connections(port)
    for local in local_ports:
        subprocess.run([tool, "-K", "src", f"127.0.0.1:{local}", "dst", f"127.0.0.1:{port}"], check=True,
                       capture_output=True)
    assert not set(local_ports) & set(own_connections(port)), "ss -K did not abort the connections (no root?)"
    return len(local_ports)
