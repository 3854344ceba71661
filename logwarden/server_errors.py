"""Why a secured server refused us, in one line naming the server and the cause.

Wrong credentials, an untrusted certificate and a missing permission are not outages: retrying
cannot fix them, so they become a `ServerError` (exit 3) that names the server, the cause and
the setting to look at, and never a retry loop or a traceback.

- `describe(exc, cfg)`: the line for an exception of the Elasticsearch or Kafka client (None when
  it is none of the three causes; the caller keeps its own message). Used by the CLI.
- `kafka_refusal(cfg, exc, captured)`: after a Kafka client could not bootstrap, probe the first
  broker once (TCP, then TLS with the configured CA) to tell an untrusted certificate or a failed
  SASL login from a broker that is down. kafka-python only logs the cause and then reports a
  bootstrap timeout, so `captured` holds its log lines of the attempt.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from logwarden.config import Config
from logwarden.errors import ServerError

_KAFKA_AUTH_HINTS = ("SaslAuthenticationFailed", "Authentication failed", "socket disconnected",
                     "Illegal SASL", "UnsupportedSaslMechanism")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _certificate_problem(exc: BaseException) -> str | None:
    links = list(_chain(exc))
    for link in links:
        if isinstance(link, ssl.SSLCertVerificationError):
            return f"its certificate is not trusted ({link.verify_message})"
    for link in links:
        if "Fingerprints did not match" in str(link):
            return "its certificate does not have the configured fingerprint (es_fingerprint)"
        if "CERTIFICATE_VERIFY_FAILED" in str(link):
            return "its certificate is not trusted"
    return None


def describe(exc: BaseException, cfg: Config) -> str | None:
    """One line for an authentication, certificate or permission failure of a client library,
    naming the server; None for any other exception."""
    module = type(exc).__module__ or ""
    name = type(exc).__name__
    if module.startswith(("elasticsearch", "elastic_transport")):
        from logwarden.es_io import bare_url

        server = f"Elasticsearch at {bare_url(cfg)}"
        if name == "AuthenticationException":
            return (f"{server} refused the credentials (401; check es_api_key or es_user/es_password): "
                    f"{_reason(exc)}")
        if name == "AuthorizationException":
            return f"{server}: permission missing (403): {_reason(exc)}"
        problem = _certificate_problem(exc)
        if problem:
            return f"{server}: {problem}; check es_ca_file / es_fingerprint"
        return None
    if module.startswith("kafka"):
        server = f"Kafka at {cfg.kafka}"
        if "AuthorizationFailed" in name or name == "AuthorizationError":
            return f"{server}: permission missing ({name}; the ACLs of user {cfg.kafka_user or 'ANONYMOUS'!r})"
        if "SaslAuthentication" in name:
            return f"{server} refused the SASL credentials of user {cfg.kafka_user!r}: {exc}"
        problem = _certificate_problem(exc)
        if problem:
            return f"{server}: {problem}; check kafka_ca_file"
    return None


def _reason(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return " ".join(str(body["error"].get("reason", "")).split())[:300]
    return " ".join(str(exc).split())[:300]


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def kafka_log_capture() -> Iterator[list[str]]:
    """The kafka-python warnings and errors logged inside the block (they still reach the log)."""
    handler = _Capture()
    logger = logging.getLogger("kafka")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def kafka_refusal(cfg: Config, exc: BaseException, captured: list[str]) -> ServerError | None:
    """A ServerError when the first broker refused our TLS trust or SASL login; None when it
    looks down or slow (then the caller's outage handling applies)."""
    direct = describe(exc, cfg)
    if direct:
        return ServerError(direct)
    server = f"Kafka at {cfg.kafka}"
    host, _, port = cfg.kafka.split(",")[0].strip().rpartition(":")
    try:
        sock = socket.create_connection((host, int(port)), timeout=5)
    except OSError:
        return None
    with sock:
        if cfg.kafka_tls:
            context = ssl.create_default_context(cafile=cfg.kafka_ca_file or None)
            if cfg.kafka_cert_file:
                context.load_cert_chain(cfg.kafka_cert_file, cfg.kafka_key_file)
            try:
                with context.wrap_socket(sock, server_hostname=host):
                    pass
            except ssl.SSLCertVerificationError as bad:
                return ServerError(f"{server}: its certificate is not trusted ({bad.verify_message}); "
                                   "check kafka_ca_file")
            except (ssl.SSLError, OSError) as bad:
                if cfg.kafka_security_protocol == "SSL" or "alert" in str(bad):
                    return ServerError(f"{server}: the TLS handshake failed ({bad}); check the listener's "
                                       "protocol (kafka_security_protocol) and the client certificate")
                return None
    text = " ".join(captured)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return ServerError(f"{server}: its certificate is not trusted; check kafka_ca_file")
    if cfg.kafka_sasl and any(hint in text for hint in _KAFKA_AUTH_HINTS):
        return ServerError(f"{server} refused the SASL {cfg.kafka_sasl_mechanism} login of user "
                           f"{cfg.kafka_user!r} (wrong user or password, or a mechanism the broker does not "
                           "enable)")
    return None
