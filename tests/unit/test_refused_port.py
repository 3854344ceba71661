"""`refused_port`: a loopback port that refuses connections and that nobody else can take while
the test holds it (a number bound and released at once could be taken before it was used)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from tests.support import ports


def test_a_connection_is_refused_and_nobody_else_binds_it_until_the_block_ends() -> None:
    with ports.refused_port() as port:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=10)
        for reuse in (False, True):  # SO_REUSEADDR does not get around a bound port either
            with socket.socket() as other:
                other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, int(reuse))
                with pytest.raises(OSError, match="in use"):
                    other.bind(("127.0.0.1", port))
    with socket.create_server(("127.0.0.1", port)):  # released at the end of the block
        pass


def test_the_fixture_gives_a_new_port_each_call(refused_port: Callable[[], int]) -> None:
    first, second = refused_port(), refused_port()
    assert first != second
    for port in (first, second):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=10)
