"""logwarden/es_preflight.py without the lab: stand-ins for Elasticsearch on loopback sockets of
the test's own. What must be waited for is waited for (a server that took the connection and
answers slowly, or 503/429: the run's outage backoff decides), what cannot be used is exit 3
for a drain (a closed port, a port whose queue never takes the connection) and a quiet info
line for a service. The refusals (401, TLS) are tested on the secured lab:
tests/security/test_es_fast_failure_servers.py."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from logwarden import es_io, es_preflight
from logwarden.config import Config
from logwarden.errors import ServerError


def _cfg(port: int, timeout: str = "1") -> Config:
    return Config(elasticsearch=f"http://127.0.0.1:{port}", es_timeout=timeout)


@contextlib.contextmanager
def _server(answer: bytes | None) -> Iterator[tuple[int, list[bytes]]]:
    """A loopback listener that reads each request and sends `answer` (None: never answers,
    the connection stays open: a server too busy to reply); yields (port, requests seen)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)  # the loop looks at `stopping` this often
    seen: list[bytes] = []
    held: list[socket.socket] = []
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)
            conn.settimeout(5)
            with contextlib.suppress(OSError):
                seen.append(conn.recv(65536))
                if answer is not None:
                    conn.sendall(answer)
                    conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1]), seen
    finally:
        stopping.set()
        thread.join(10)
        listener.close()
        for conn in held:
            conn.close()
        assert not thread.is_alive(), "the stand-in server did not stop"


def _http(status: str, body: bytes = b"{}") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nX-Elastic-Product: Elasticsearch\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


def test_a_closed_port_ends_a_drain_and_is_noted_for_a_service(caplog: pytest.LogCaptureFixture,
                                                                refused_port: Callable[[], int]) -> None:
    cfg = _cfg(refused_port())
    with pytest.raises(ServerError) as refused:
        es_preflight.check(cfg, es_io.client(cfg), drain=True)
    assert str(refused.value) == f"Elasticsearch at {cfg.elasticsearch} unreachable (connection refused)"
    with caplog.at_level(logging.INFO, logger="logwarden"):
        es_preflight.check(cfg, es_io.client(cfg), drain=False)  # a service waits for it: no error
    lines = [r.getMessage() for r in caplog.records if r.name == "logwarden.es_preflight"]
    assert len(lines) == 1 and "not answering at start (connection refused)" in lines[0], lines
    assert "unreachable (" not in lines[0]  # the outage's own line comes once, from the run


@pytest.mark.parametrize("status", ["503 Service Unavailable", "429 Too Many Requests", "500 Internal Server Error",
                                    "400 Bad Request"])
def test_a_busy_or_odd_answer_decides_nothing(status: str) -> None:
    with _server(_http(status, b'{"error": {"type": "x", "reason": "busy"}, "status": 503}')) as (port, seen):
        cfg = _cfg(port)
        es_preflight.check(cfg, es_io.client(cfg), drain=True)  # returns: the run waits or decides
    assert seen and seen[0].startswith(b"GET /_security/_authenticate ")


def test_a_server_that_took_the_connection_but_is_slow_is_waited_for() -> None:
    with _server(None) as (port, seen):
        cfg = _cfg(port)
        es_preflight.check(cfg, es_io.client(cfg), drain=True)  # a read timeout: not unreachable
        assert seen, "the probe reached the server"


def test_a_401_from_any_server_is_refused_in_both_modes() -> None:
    body = b'{"error": {"type": "security_exception", "reason": "unable to authenticate user [x]"}, "status": 401}'
    for drain in (True, False):
        with _server(_http("401 Unauthorized", body)) as (port, _):
            cfg = _cfg(port)
            with pytest.raises(ServerError, match=r"refused the credentials \(401.*unable to authenticate user \[x\]"):
                es_preflight.check(cfg, es_io.client(cfg), drain=drain)


def test_a_port_whose_queue_never_takes_the_connection_is_unreachable_for_a_drain() -> None:
    """A listener that never accepts, its queue full: the kernel drops the next connection's SYN,
    so the client's connect times out (a firewall that drops packets looks the same)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    try:
        for _ in range(4):  # fill the accept queue (its length is the backlog + 1 on Linux)
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        cfg = _cfg(port)
        with pytest.raises(ServerError, match=r"unreachable \(no answer to the connection in 1s\)"):
            es_preflight.check(cfg, es_io.client(cfg), drain=True)
        es_preflight.check(cfg, es_io.client(cfg), drain=False)
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_cause_names_a_name_that_does_not_resolve() -> None:
    cfg = Config(elasticsearch="http://no-such-host.invalid:9200", es_timeout="2")
    with pytest.raises(ServerError, match=r"unreachable \(host name not resolved\)"):
        es_preflight.check(cfg, es_io.client(cfg), drain=True)
