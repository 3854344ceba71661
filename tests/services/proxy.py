"""A loopback TCP proxy a test can cut and restore: the outage a service sees when its broker or
Elasticsearch goes away, without touching the shared lab's servers.

- `CuttableProxy(target=("127.0.0.1", 19200))`: a plain forwarder (Elasticsearch over HTTP).
- `CuttableProxy(socks=True)`: a minimal SOCKS5 server (no authentication, CONNECT only). Kafka
  clients learn the brokers' addresses from the metadata and connect to them directly, so a
  plain forwarder in front of the bootstrap address could not cut them off; with the client's
  `proxy_url="socks5://..."` every broker connection goes through this proxy.

`cut()` closes the listening socket and every open connection (new ones are refused) and
`restore()` listens again on the same port. While cut, the port stays bound by a socket that does
not listen (SO_REUSEPORT lets it and the listener overlap for the switch): a connection is refused
as from a closed port, and no other process's listener or client's ephemeral end can take the
number before `restore()` needs it back.
"""

from __future__ import annotations

import socket
import struct
import threading


class CuttableProxy:
    def __init__(self, target: tuple[str, int] | None = None, socks: bool = False) -> None:
        if target is None and not socks:
            raise ValueError("a forwarder needs a target")
        self.target = target
        self.socks = socks
        self.port = 0
        self.connections = 0  # accepted so far (a test can check traffic went through it)
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._holder: socket.socket | None = None  # keeps the port while cut
        self.restore()

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}" if self.socks else f"http://127.0.0.1:{self.port}"

    def url_for(self, server_url: str) -> str:
        """This proxy's address with the scheme of `server_url` (https for the secured lab: TLS
        passes through the proxy, and the lab's certificate names 127.0.0.1)."""
        return f"{server_url.split('://', 1)[0]}://127.0.0.1:{self.port}"

    def restore(self) -> None:
        listener = _port_socket(self.port)
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        if self._holder is not None:
            self._holder.close()
            self._holder = None
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and close the open ones; the port stays ours (see above)."""
        if self._holder is None and self._listener is not None:
            self._holder = _port_socket(self.port)
        self._cut()

    def close(self) -> None:
        """Cut, and give the port up."""
        self._cut()
        if self._holder is not None:
            self._holder.close()
            self._holder = None

    def _cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._open = self._open, []
        if listener is not None:
            _close(listener)
        for conn in conns:
            _close(conn)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            with self._lock:
                if self._listener is not listener:
                    _close(client)
                    return
                self._open.append(client)
                self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            target = self._socks_handshake(client) if self.socks else self.target
            assert target is not None
            upstream = socket.create_connection(target, timeout=10)
            upstream.settimeout(None)
            if self.socks:
                client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("0.0.0.0") + struct.pack("!H", 0))
        except (OSError, ValueError):
            _close(client)
            return
        with self._lock:
            if client not in self._open:  # cut meanwhile
                _close(upstream)
                return
            self._open.append(upstream)
        threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
        _pump(upstream, client)

    @staticmethod
    def _socks_handshake(client: socket.socket) -> tuple[str, int]:
        version, n_methods = _read(client, 2)
        if version != 5:
            raise ValueError("not SOCKS5")
        _read(client, n_methods)
        client.sendall(b"\x05\x00")  # no authentication
        version, command, _, address_type = _read(client, 4)
        if command != 1:
            raise ValueError("only CONNECT")
        if address_type == 1:
            host = socket.inet_ntoa(_read(client, 4))
        elif address_type == 3:
            host = _read(client, _read(client, 1)[0]).decode()
        elif address_type == 4:
            host = socket.inet_ntop(socket.AF_INET6, _read(client, 16))
        else:
            raise ValueError("unknown address type")
        (port,) = struct.unpack("!H", _read(client, 2))
        return host, port


def _port_socket(port: int) -> socket.socket:
    """A TCP socket bound to 127.0.0.1:`port` (0: any free one) that another of these can share."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def _read(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ValueError("connection closed during the handshake")
        data += chunk
    return data


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    except OSError:
        pass
    _close(src)
    _close(dst)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
