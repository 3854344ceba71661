"""A loopback TCP forwarder that answers large requests late: a busy Elasticsearch, on demand.

`SlowAnswers(target, large=200_000, delay=30.0, times=1)` forwards every connection to `target`
(TLS passes through untouched) and holds the answer to the first `times` requests of more than
`large` bytes for `delay` seconds. The request itself reaches the server at once, so the server carries it out, as a
busy Elasticsearch carries out a bulk request whose client stopped waiting. A client whose read
timeout is below `delay` sees exactly what it sees on a loaded box: a request taken and not
answered in time. Every other request is answered as fast as the server answers, so how many
answers come late does not depend on how the client happens to batch its requests.

Requests are counted per connection, from one answer to the next (HTTP/1.1 asks one request
at a time on a connection).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType


class SlowAnswers:
    def __init__(self, target: tuple[str, int], large: int, delay: float, times: int = 1) -> None:
        self.target, self.large, self.delay, self.times = target, large, delay, times
        self.delayed = 0  # answers held so far
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def url_for(self, server_url: str) -> str:
        """This forwarder's address with the scheme of `server_url`."""
        return f"{server_url.split('://', 1)[0]}://127.0.0.1:{self.port}"

    def close(self) -> None:
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            _close(sock)

    def __enter__(self) -> SlowAnswers:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                return  # closed
            upstream.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            asked = [0]  # bytes of the request waiting for its answer on this connection
            threading.Thread(target=self._requests, args=(client, upstream, asked), daemon=True).start()
            threading.Thread(target=self._answers, args=(upstream, client, asked), daemon=True).start()

    def _hold(self) -> bool:
        with self._lock:
            if self.delayed >= self.times:
                return False
            self.delayed += 1
            return True

    def _requests(self, client: socket.socket, upstream: socket.socket, asked: list[int]) -> None:
        with contextlib.suppress(OSError):
            while chunk := client.recv(65536):
                asked[0] += len(chunk)
                upstream.sendall(chunk)
        _close(client)
        _close(upstream)

    def _answers(self, upstream: socket.socket, client: socket.socket, asked: list[int]) -> None:
        with contextlib.suppress(OSError):
            while chunk := upstream.recv(65536):
                if asked[0] > self.large and self._hold():
                    time.sleep(self.delay)
                asked[0] = 0
                client.sendall(chunk)  # fails once the client gave up waiting and closed
        _close(client)
        _close(upstream)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
