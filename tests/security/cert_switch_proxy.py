"""A loopback proxy in front of the lab's Elasticsearch that can start presenting a certificate the
client does not trust, as a server whose certificate was replaced by one from another authority.

- forwarding (the start): TCP passes through, so the client's TLS session is with Elasticsearch
  and its certificate (which names 127.0.0.1) is verified against the lab's CA;
- `impostor()`: the open connections are closed (a pooled connection must handshake again, as
  after any reconnect) and every new connection is answered by this proxy's own TLS server with a
  self-signed certificate for 127.0.0.1, made with the `openssl` command; nothing is forwarded;
- `forward()`: back to the first mode (the operator put a trusted certificate back).

`socks=True`: a SOCKS5 proxy for Kafka clients (`proxy_url`), as tests/services/proxy.py's, whose
impostor answers the CONNECT and then presents the certificate.
`trusted_connections=n` forwards the first n connections and is an impostor from then on: a
`--once` drain's start-up probe passes, and its first `_bulk` meets the untrusted certificate.
The listening socket stays open throughout, so the client never sees a refused connection.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import struct
import subprocess
from pathlib import Path

from tests.services.proxy import CuttableProxy, _close


def self_signed(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) of a self-signed server certificate for 127.0.0.1 under `folder`."""
    tool = shutil.which("openssl")
    assert tool, "the TLS refusal tests need the openssl command"
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "impostor.pem", folder / "impostor.key"
    subprocess.run([tool, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


class CertSwitchProxy(CuttableProxy):
    def __init__(self, target: tuple[str, int] | None, folder: Path, trusted_connections: int | None = None,
                 socks: bool = False) -> None:
        cert, key = self_signed(folder)
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(cert, key)
        self._impostor = False
        self._trusted_left = trusted_connections
        self.impostor_handshakes = 0  # connections answered with the untrusted certificate
        super().__init__(target=target, socks=socks)

    def impostor(self) -> None:
        with self._lock:
            self._impostor = True
            conns, self._open = self._open, []
        for conn in conns:
            _close(conn)

    def forward(self) -> None:
        with self._lock:
            self._impostor = False

    def _serve(self, client: socket.socket) -> None:
        with self._lock:
            if self._trusted_left is not None:
                if self._trusted_left == 0:
                    self._impostor = True
                self._trusted_left -= 1
            impostor = self._impostor
        if not impostor:
            super()._serve(client)
            return
        with self._lock:
            self.impostor_handshakes += 1
        self._present(client)  # already on the connection's own thread

    def _present(self, client: socket.socket) -> None:
        client.settimeout(10)
        try:
            if self.socks:  # a Kafka client asks for its broker first
                self._socks_handshake(client)
                client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("0.0.0.0") + struct.pack("!H", 0))
            with self._tls.wrap_socket(client, server_side=True):
                pass  # the client refuses the certificate: the handshake fails on its side first
        except (OSError, ValueError):
            pass
        _close(client)
