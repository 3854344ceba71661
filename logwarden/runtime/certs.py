"""The lab's own certificate authority: a CA and one server certificate for loopback, made with the
`openssl` command line (already on every machine the lab runs on, so no Python dependency).

Both Kafka (SASL_SSL listener) and Elasticsearch (HTTPS) present the same server certificate,
valid for 127.0.0.1, ::1 and localhost; clients trust `ca.pem`. Keys are unencrypted PKCS#8
files readable by their owner only. Made once per lab folder; `ensure()` leaves existing files.

Errors: `openssl` missing is a `ConfigError`; openssl failing is a `ServerError`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from logwarden.errors import ConfigError, ServerError

DAYS = 825  # the longest validity clients accept for a server certificate
SUBJECT_ALT_NAMES = "IP:127.0.0.1,IP:::1,DNS:localhost"


@dataclass(frozen=True)
class LabCertificates:
    """Paths of the PEM files under the lab's tls folder."""

    folder: Path

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.folder / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.folder / "server.key"

    @property
    def server_bundle(self) -> Path:
        """Key then certificate then CA in one file: Kafka's PEM keystore format."""
        return self.folder / "server-keystore.pem"


def _openssl(*args: str) -> None:
    tool = shutil.which("openssl")
    if not tool:
        raise ConfigError("the secured lab needs the `openssl` command to make its certificates "
                          "(or run `logwarden lab up --insecure`)")
    proc = subprocess.run([tool, *args], capture_output=True, text=True)  # noqa: S603 - fixed arguments
    if proc.returncode != 0:
        raise ServerError(f"openssl {args[0]} failed: {' '.join(proc.stderr.split())[-300:]}")


def ensure(folder: Path) -> LabCertificates:
    """The lab's CA and server certificate under `folder`, made when missing.

    Raises:
        ConfigError: `openssl` is not installed.
        ServerError: openssl failed.
    """
    certs = LabCertificates(folder)
    if certs.server_bundle.exists():
        return certs
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(certs.ca_key), "-out",
             str(certs.ca_cert), "-days", str(DAYS), "-subj", "/CN=logwarden lab CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    request = folder / "server.csr"
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(certs.server_key), "-out", str(request),
             "-subj", "/CN=localhost")
    extensions = folder / "server.ext"
    extensions.write_text(f"subjectAltName={SUBJECT_ALT_NAMES}\nextendedKeyUsage=serverAuth,clientAuth\n"
                          "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n")
    _openssl("x509", "-req", "-in", str(request), "-CA", str(certs.ca_cert), "-CAkey", str(certs.ca_key),
             "-CAcreateserial", "-out", str(certs.server_cert), "-days", str(DAYS), "-sha256",
             "-extfile", str(extensions))
    request.unlink()
    extensions.unlink()
    bundle = certs.server_key.read_text() + certs.server_cert.read_text() + certs.ca_cert.read_text()
    tmp = certs.server_bundle.with_suffix(".tmp")
    tmp.write_text(bundle)
    tmp.rename(certs.server_bundle)
    for path in folder.iterdir():
        path.chmod(0o600 if path.suffix in (".key", ".pem") and "ca.pem" != path.name else 0o644)
    return certs


def untrusted_ca(folder: Path) -> Path:
    """A CA certificate of a different authority (for tests: a client trusting it must refuse the lab)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert = folder / "other-ca.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(folder / "other-ca.key"), "-out",
             str(cert), "-days", "30", "-subj", "/CN=not the logwarden lab CA")
    return cert
