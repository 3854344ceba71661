"""Why a secured server refused us, in one line naming the server and the cause.

Wrong credentials, an untrusted certificate and a missing permission are not outages: retrying
cannot fix them, so they become a `ServerError` (exit 3) that names the server, the cause and
the setting to look at, and never a retry loop or a traceback.

- `describe(exc, cfg)`: the line for an exception of the Elasticsearch or Kafka client (None when
  it is none of the three causes; the caller keeps its own message). Used by the CLI.
- `kafka_tls_refusal(cfg)`: one TLS handshake with the first broker and the configured CA, done
  before a Kafka client is built, so an untrusted certificate fails at once instead of after
  kafka-python's 30 s bootstrap timeout.
- `kafka_refusal(cfg, exc, captured)`: after a Kafka client could not bootstrap, probe the first
  broker once (TCP, then TLS with the configured CA) to tell an untrusted certificate or a failed
  SASL login from a broker that is down. kafka-python only logs the cause and then reports a
  bootstrap timeout, so `captured` holds its log lines of the attempt.
- `kafka_refused_mid_run(cfg, texts)`: the same two causes met by a client that was working (a
  password changed, a certificate replaced, seen at its next reconnection), and a permission
  refused (an ACL removed), told from its own log lines and errors only: no probe, since a
  probe's path to the broker may differ from the client's.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from logwarden.config import Config
from logwarden.errors import ConfigError, ServerError

_KAFKA_AUTH_HINTS = ("SaslAuthenticationFailed", "Authentication failed", "socket disconnected",
                     "Illegal SASL", "UnsupportedSaslMechanism")
# what kafka-python and librdkafka log when a broker refuses a login or a certificate mid-run (no
# "socket disconnected" here: a broker cut off mid-run says that too, and it is an outage)
_KAFKA_SASL_REFUSED = ("saslauthenticationfailed", "authentication failed", "sasl authentication error")
_KAFKA_UNTRUSTED = ("certificate_verify_failed", "certificate verify failed")
# a permission (ACL) refused mid-run: kafka-python's error names (TopicAuthorizationFailedError,
# GroupAuthorizationFailedError) and librdkafka's texts ("Broker: Topic authorization failed")
_KAFKA_NOT_AUTHORIZED = ("authorizationfailed", "authorization failed")


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


def kafka_tls_refusal(cfg: Config) -> ServerError | None:
    """A ServerError when the first broker's certificate is not trusted (or the TLS handshake is
    refused); None when TLS is not configured, the handshake works, or the broker cannot be reached
    (an outage is the caller's business). One TCP connection and handshake, 5 s at most."""
    if not cfg.kafka_tls:
        return None
    server = f"Kafka at {cfg.kafka}"
    host, _, port = cfg.kafka.split(",")[0].strip().rpartition(":")
    try:
        sock = socket.create_connection((host, int(port)), timeout=5)
    except OSError:
        return None
    try:
        context = ssl.create_default_context(cafile=cfg.kafka_ca_file or None)
        if cfg.kafka_cert_file:
            context.load_cert_chain(cfg.kafka_cert_file, cfg.kafka_key_file)
    except (ssl.SSLError, OSError) as bad:
        sock.close()
        raise ConfigError(f"kafka_ca_file / kafka_cert_file / kafka_key_file: not usable PEM ({bad})") from None
    with sock:
        try:
            with context.wrap_socket(sock, server_hostname=host):
                return None
        except ssl.SSLCertVerificationError as bad:
            return ServerError(f"{server}: its certificate is not trusted ({bad.verify_message}); check kafka_ca_file")
        except ssl.SSLError as bad:
            return ServerError(f"{server}: the TLS handshake failed ({bad.reason}); check kafka_security_protocol "
                               "and the client certificate")
        except OSError:
            return None


def kafka_refusal(cfg: Config, exc: BaseException, captured: list[str]) -> ServerError | None:
    """A ServerError when the first broker refused our TLS trust or SASL login; None when it
    looks down or slow (then the caller's outage handling applies)."""
    direct = describe(exc, cfg)
    if direct:
        return ServerError(direct)
    server = f"Kafka at {cfg.kafka}"
    host, _, port = cfg.kafka.split(",")[0].strip().rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError:
        return None
    tls = kafka_tls_refusal(cfg)
    if tls is not None:
        return tls
    text = " ".join(captured)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return ServerError(f"{server}: its certificate is not trusted; check kafka_ca_file")
    if cfg.kafka_sasl and any(hint in text for hint in _KAFKA_AUTH_HINTS):
        return ServerError(f"{server} refused the SASL {cfg.kafka_sasl_mechanism} login of user "
                           f"{cfg.kafka_user!r} (wrong user or password, or a mechanism the broker does not "
                           "enable)")
    return None


def kafka_refused_mid_run(cfg: Config, texts: list[str]) -> str | None:
    """One line naming the refusal that `texts` (a Kafka client's log lines and errors of a failed
    call) report: an untrusted certificate, a refused SASL login or a permission refused (an ACL
    removed); None when they report none (an outage, or a cause this cannot tell). The line is the
    same at every attempt of one refusal (no topic or offset in it), so it is logged once."""
    text = " ".join(texts).lower()
    server = f"Kafka at {cfg.kafka}"
    if any(hint in text for hint in _KAFKA_UNTRUSTED):
        return f"{server}: its certificate is not trusted (a broker's certificate changed?); check kafka_ca_file"
    if cfg.kafka_sasl and any(hint in text for hint in _KAFKA_SASL_REFUSED):
        return (f"{server} refused the SASL {cfg.kafka_sasl_mechanism} login of user {cfg.kafka_user!r} (its "
                "password changed or the user was removed?); check kafka_user / kafka_password")
    if any(hint in text for hint in _KAFKA_NOT_AUTHORIZED):
        return (f"{server}: permission missing for user {cfg.kafka_user or 'ANONYMOUS'!r} (an ACL removed?); "
                "`logwarden setup --access print` lists the ACLs each component needs")
    return None
