"""A start-up check of the Kafka connection, so that a wrong port or password fails in seconds.

kafka-python tells of a port nobody listens on, or of a SASL login the broker refuses, only when
its bootstrap gives up: after 30 s by default, since it retries the connection, and a refused
login looks to it like a dropped connection. `check(cfg, options)` runs before the first Kafka
client of a process is built (kafka_io builds every client through one function that calls it):

1. a TCP connection to each bootstrap server, all at once, CONNECT_TIMEOUT each: when none
   answers, `KafkaUnreachable` names every host:port and why (refused, timed out, unknown name);
2. with SASL, one throw-away admin client with PROBE_BOOTSTRAP_MS to bootstrap: when it fails,
   logwarden/server_errors.py tells a refused login or TLS trust (a ServerError naming the user,
   never the password) from a broker that is only slow; a slow broker decides nothing here, the
   real client then waits with its own patience.

`KafkaUnreachable` is a ServerError (exit 3, one line) and a KafkaError at once: the services
that ride out an outage (index, stream, ship kafka, the syslog receiver's spool) catch KafkaError
and retry it with their backoff as they retried kafka-python's own bootstrap timeout, while the
one-shot commands (setup, ship evtx/file, lab replay) and the drains (`index`, `stream`, `ship
kafka` with `--once`: logwarden/consume.py `retry_kafka`) report it at once. A check that passed is
not repeated in the process for the same connection settings: the reconnects after a broker
restart go to the client directly, as before.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kafka.errors import KafkaConnectionError, KafkaError

from logwarden import server_errors
from logwarden.config import Config
from logwarden.errors import ServerError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.0  # seconds for one TCP connection to a bootstrap server
PROBE_BOOTSTRAP_MS = 2_500  # the SASL probe's bootstrap budget; a refused login repeats within it

_passed: set[str] = set()  # digests of the connection settings already checked in this process
_passed_lock = threading.Lock()


class KafkaUnreachable(ServerError, KafkaConnectionError):
    """No bootstrap server accepted a TCP connection: exit 3 where it ends a command, an outage
    to retry where a service rides one out (it is a KafkaError too)."""

    def __str__(self) -> str:  # KafkaError's own would prefix the class name
        return str(self.args[0]) if self.args else "Kafka unreachable"


def _address(server: str) -> tuple[str, int]:
    host, _, port = server.strip().rpartition(":")
    return host.strip("[]"), int(port)


def _refusal(server: str) -> str | None:
    """Why a TCP connection to `server` failed, or None when it was accepted."""
    started = time.monotonic()
    try:
        socket.create_connection(_address(server), timeout=CONNECT_TIMEOUT).close()
    except socket.gaierror:
        return f"{server} (host name not resolved)"
    except TimeoutError:
        return f"{server} (no answer in {time.monotonic() - started:.0f}s)"
    except OSError as exc:
        return f"{server} ({(exc.strerror or type(exc).__name__).lower()})"
    return None


def _digest(options: dict[str, Any]) -> str:
    return hashlib.sha256(repr(sorted(options.items())).encode()).hexdigest()


def check(cfg: Config, options: dict[str, Any]) -> None:
    """Check once per process and connection settings that a bootstrap server answers and, with
    SASL, accepts the login; `options` are kafka_io.client_options(cfg). Returns when it does,
    or when the answer is not known yet (a slow broker).

    Raises:
        KafkaUnreachable: no bootstrap server accepted a TCP connection.
        ServerError: the broker refused the SASL login or the TLS trust (server_errors).
    """
    key = _digest(options)
    if key in _passed:
        return
    servers = [s.strip() for s in cfg.kafka.split(",") if s.strip()]
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        refusals = list(pool.map(_refusal, servers))
    failed = [why for why in refusals if why]
    if len(failed) == len(servers):
        raise KafkaUnreachable(f"no Kafka broker answered at {', '.join(failed)}")
    for why in failed:
        log.warning("Kafka bootstrap server %s does not answer; using the others", why)
    if cfg.kafka_sasl:
        _probe_login(cfg, options)
    with _passed_lock:
        _passed.add(key)


def _probe_login(cfg: Config, options: dict[str, Any]) -> None:
    """Bootstrap a throw-away admin client; raise the server's refusal when it was one."""
    from kafka import KafkaAdminClient

    with server_errors.kafka_log_capture() as captured:
        try:
            KafkaAdminClient(**{**options, "client_id": "logwarden-preflight",
                                "bootstrap_timeout_ms": PROBE_BOOTSTRAP_MS}).close()
        except KafkaError as exc:
            refusal = server_errors.kafka_refusal(cfg, exc, [*captured, str(exc)])
            if refusal is not None:
                raise refusal from None
            log.debug("Kafka preflight: no answer yet from %s (%s); the client will wait longer", cfg.kafka, exc)


__all__ = ["CONNECT_TIMEOUT", "PROBE_BOOTSTRAP_MS", "KafkaUnreachable", "check"]
