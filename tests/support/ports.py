"""Loopback ports for tests that start receivers of their own.

`shared_port()` holds one port number on BOTH UDP and TCP with SO_REUSEPORT until the block ends,
so that receivers binding it with SO_REUSEPORT (`ship syslog --workers N`) can join while nobody
else can take it. Asking the kernel for a free UDP port only (bind to port 0) is not enough for a
receiver that binds UDP and TCP on that number: the same TCP port may be held at that moment by
any connection's ephemeral end (a client of the shared Kafka or Elasticsearch, in TIME_WAIT
too), and the receiver's TCP bind then fails with EADDRINUSE. The busier the box, the more such
connections, the likelier that was.

`refused_port()` (and the `refused_port` fixture of tests/conftest.py) holds a TCP port bound but
not listening for as long as a test needs "a port nobody listens on".

A receiver the test starts itself binds port 0 and reports the port it got (`ship syslog` logs
it in its "listening" line). A number found free, released and handed to a child process is the
last resort, for a server that cannot report its port, and then with a retry on "address in use"
(Kafka: tests/services/private_broker.py).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

ATTEMPTS = 100


def _reuseport_socket(kind: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


@contextlib.contextmanager
def shared_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A port free on both UDP and TCP at `host`, held (SO_REUSEPORT) until the block ends.

    Raises:
        OSError: no port free on both after ATTEMPTS tries (the message says so).
    """
    for _ in range(ATTEMPTS):
        udp = _reuseport_socket(socket.SOCK_DGRAM)
        udp.bind((host, 0))
        port = int(udp.getsockname()[1])
        tcp = _reuseport_socket(socket.SOCK_STREAM)
        try:
            tcp.bind((host, port))
        except OSError:  # that TCP port is in use (a connection's ephemeral end): try another number
            tcp.close()
            udp.close()
            continue
        try:
            yield port
        finally:
            tcp.close()
            udp.close()
        return
    raise OSError(f"no port free on both UDP and TCP at {host} after {ATTEMPTS} tries")


@contextlib.contextmanager
def refused_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A TCP port at `host` where every connection is refused, for as long as the block runs.

    The port stays bound (never listening) until the block ends: a connection to it is refused
    (RST), no other process can bind it meanwhile, and no client's ephemeral end takes it (which
    would connect to itself). Binding port 0 and closing at once, then handing the number on, left
    a gap in which another test's listener or a client's ephemeral end could take that number.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind((host, 0))
        yield int(held.getsockname()[1])
