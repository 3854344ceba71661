"""A start-up check of the Elasticsearch connection, so that a closed port, a wrong password or
an untrusted certificate fails a drain in seconds, not after its 60 s of patience.

The indexer's `_bulk` treats every connection failure as an outage and retries it with backoff
(logwarden/consume.py `Outage`): right for a server that is restarting, wrong for one that will
never take us. Before `index` consumes anything, `check(cfg, es, drain)` asks Elasticsearch
who we are, once (`_security/_authenticate`: every authenticated user may ask it, whatever its
roles, so a least-privilege indexer key passes):

- 401/403 and a failed TLS handshake are refusals, not outages: retrying cannot fix them, so
  they are a `ServerError` (exit 3, one line naming the server and the cause, never a password:
  logwarden/server_errors.py) in every mode, service or drain;
- a server that does not take the connection (refused, no answer to the TCP connection within
  the probe's timeout, closed without an answer, a name that does not resolve) is exit 3 at
  once for a drain (`--once`: nobody waits on it) and left to the service's outage backoff
  otherwise, as `kafka_preflight` does for Kafka;
- a server that took the connection but is slow to answer, or answers 429/5xx (busy,
  recovering) or anything else, decides nothing here: the run waits for it as before.
"""

from __future__ import annotations

import http.client
import logging
import socket

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, TlsError
from elasticsearch import ApiError, Elasticsearch
from urllib3.exceptions import ConnectTimeoutError

from logwarden import server_errors
from logwarden.config import Config
from logwarden.errors import ServerError
from logwarden.es_io import bare_url

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 10.0  # seconds the probe waits (at most es_timeout); a slower answer decides nothing
REFUSED_STATUS = (401, 403)


def check(cfg: Config, es: Elasticsearch, drain: bool) -> None:
    """Probe Elasticsearch once through `es` (built by es_io.client for `cfg`). Returns when it
    answered, was slow or busy (the run waits for it) or, unless `drain`, did not take the
    connection (the service's outage backoff waits for it; logged at info).

    Raises:
        ServerError: credentials or permission refused (401/403) or the TLS handshake failed;
            with `drain`, also a server that does not take the connection.
    """
    server = f"Elasticsearch at {bare_url(cfg)}"
    timeout = min(PROBE_TIMEOUT, float(cfg.es_timeout))
    try:
        es.options(request_timeout=timeout).security.authenticate()
    except ApiError as exc:
        if exc.meta.status in REFUSED_STATUS:
            raise ServerError(server_errors.describe(exc, cfg)
                              or f"{server} refused the request ({exc.meta.status})") from None
        log.debug("%s answered the start-up probe with %s: the run decides", server, exc.meta.status)
    except TlsError as exc:
        raise ServerError(server_errors.describe(exc, cfg)
                          or f"{server}: the TLS handshake failed ({cause(exc, timeout)}); check the URL's scheme "
                             "and es_ca_file / es_fingerprint") from None
    except ConnectionTimeout as exc:
        if not _not_connected(exc):
            log.debug("%s slow to answer the start-up probe (%s): the run waits for it", server, exc)
        elif drain:
            raise ServerError(f"{server} unreachable ({cause(exc, timeout)})") from None
        else:
            _waiting(server, cause(exc, timeout))
    except TransportConnectionError as exc:
        if drain:
            raise ServerError(f"{server} unreachable ({cause(exc, timeout)})") from None
        _waiting(server, cause(exc, timeout))


def _waiting(server: str, why: str) -> None:
    # not the outage's own words ("unreachable ("): the outage is logged once, when a request meets it
    log.info("%s not answering at start (%s): the service starts and waits for it as for any outage", server, why)


def _links(exc: BaseException) -> list[BaseException]:
    """`exc` and its causes, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _not_connected(exc: BaseException) -> bool:
    """True when a timeout came before the TCP connection was made (nobody took it), not while
    waiting for an answer on a connection (a slow server)."""
    return any(isinstance(link, ConnectTimeoutError) for link in _links(exc))


def cause(exc: BaseException, timeout: float) -> str:
    """Why a connection to Elasticsearch failed, in words (from the innermost cause the client
    kept; the client's own message is only "Connection error")."""
    links = _links(exc)
    for link in links:
        if isinstance(link, ConnectionRefusedError):
            return "connection refused"
        if isinstance(link, socket.gaierror):
            return "host name not resolved"
        if isinstance(link, http.client.RemoteDisconnected):
            return "the connection was closed without an answer: an HTTPS port called with http://?"
    if _not_connected(exc):
        return f"no answer to the connection in {timeout:.0f}s"
    innermost = links[-1]
    return " ".join(f"{type(innermost).__name__}: {innermost}".split())[:300]


__all__ = ["PROBE_TIMEOUT", "cause", "check"]
