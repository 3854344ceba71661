"""The confluent-kafka (librdkafka) producer behind logwarden's `Producer` interface.

Optional (`pip install 'logwarden[fast]'`, setting `kafka_client: confluent`): its per-message
cost is a few microseconds of C instead of kafka-python's ~22 us of Python (docs/kafka-client.md).

Kept the same as the kafka-python producer, so choosing it changes speed, not behaviour:
- options: kafka-python's names, translated by OPTION_NAMES (an unknown one is a ValueError, never
  silently dropped); the security settings of `kafka_io.client_options` map one to one
  (SASL_SSL + SCRAM + CA file, mutual TLS, host-name verification).
- defaults: kafka-python's where librdkafka's differ (idempotence on, 120 s delivery timeout,
  32 MiB of buffer, 60 s of blocking when it is full).
- connects at construction: the brokers' metadata must answer within bootstrap_timeout_ms, else
  KafkaTimeoutError "Unable to bootstrap", as kafka-python raises it, with librdkafka's errors of
  the attempt in the message and in the `kafka.librdkafka` log (where logwarden/server_errors.py
  reads a failed SASL login).
- errors: kafka-python's exception types (KafkaTimeoutError when the buffer stays full, a
  KafkaError for a failed delivery), so callers catch one family.
- callbacks: a thread of this class polls librdkafka, so delivery callbacks run off the caller's
  thread as kafka-python's do (the syslog sink's stall detection relies on that).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import confluent_kafka
from kafka.errors import KafkaError, KafkaTimeoutError

from logwarden.kafka_clients.interface import CONFLUENT, delivery_error
from logwarden.safe_text import printable

log = logging.getLogger("kafka.librdkafka")  # under "kafka": captured with kafka-python's lines at connect time

# kafka-python option -> librdkafka property (value converter, or None to pass it as it is)
OPTION_NAMES: dict[str, tuple[str, Callable[[Any], Any] | None]] = {
    "bootstrap_servers": ("bootstrap.servers", lambda v: v if isinstance(v, str) else ",".join(v)),
    "client_id": ("client.id", None),
    "security_protocol": ("security.protocol", lambda v: str(v).lower()),
    "ssl_check_hostname": ("ssl.endpoint.identification.algorithm", lambda v: "https" if v else "none"),
    "ssl_cafile": ("ssl.ca.location", None),
    "ssl_certfile": ("ssl.certificate.location", None),
    "ssl_keyfile": ("ssl.key.location", None),
    "sasl_mechanism": ("sasl.mechanism", None),
    "sasl_plain_username": ("sasl.username", None),
    "sasl_plain_password": ("sasl.password", None),
    "acks": ("acks", str),
    "linger_ms": ("linger.ms", None),
    "batch_size": ("batch.size", None),
    "max_request_size": ("message.max.bytes", None),
    "retries": ("retries", None),
    "retry_backoff_ms": ("retry.backoff.ms", None),
    "request_timeout_ms": ("request.timeout.ms", None),
    "delivery_timeout_ms": ("delivery.timeout.ms", None),
    "enable_idempotence": ("enable.idempotence", bool),
    "compression_type": ("compression.type", lambda v: v or "none"),
    "max_in_flight_requests_per_connection": ("max.in.flight", None),
    "buffer_memory": ("queue.buffering.max.kbytes", lambda v: max(1, int(v) // 1024)),
}
# kafka-python's defaults where librdkafka's differ
# (the partitioner: kafka-python's and Java's murmur2, so a key lands on the same partition whichever
# client produced it; librdkafka's own default hashes with CRC32)
DEFAULTS: dict[str, Any] = {"enable.idempotence": True, "delivery.timeout.ms": 120_000,
                            "queue.buffering.max.kbytes": 32 * 1024, "partitioner": "murmur2_random"}
DEFAULT_MAX_BLOCK_MS = 60_000
DEFAULT_BOOTSTRAP_TIMEOUT_MS = 30_000
# the poller thread's longest wait for the next outcome: also how long `close` may wait for the
# poller to stop (at 0.1 s, 27-79 ms of every close, a tenth of a small `ship evtx` run's wall)
POLL_SECONDS = 0.02
FATAL = confluent_kafka.KafkaError._FATAL  # what produce raises once the handle had a fatal error
FATAL_CAUSE_WAIT = 2.0  # seconds a produce refused for a fatal error waits for the poller to report its cause
GET_WAIT = 0.001  # seconds between looks at one delivery's outcome in `get()`


def librdkafka_config(options: dict[str, Any]) -> dict[str, Any]:
    """librdkafka's properties for kafka-python-named producer `options` (max_block_ms and
    bootstrap_timeout_ms are this class's, not librdkafka's, and are left out).

    Raises:
        ValueError: an option that has no librdkafka equivalent here.
    """
    return {**DEFAULTS, **mapped_options(options, OPTION_NAMES, skip=("max_block_ms", "bootstrap_timeout_ms"),
                                         what="producer", table="logwarden/kafka_clients/confluent.py OPTION_NAMES")}


def mapped_options(options: dict[str, Any], names: dict[str, tuple[str, Any]], *, skip: tuple[str, ...],
                   what: str, table: str) -> dict[str, Any]:
    """librdkafka's property for each kafka-python-named option through `names` (name -> (property,
    converter or None)); the options in `skip` are the adapter's own and left out.

    Raises:
        ValueError: an option `names` does not map (`what` and `table` name it in the message).
    """
    config: dict[str, Any] = {}
    for name, value in options.items():
        if name in skip:
            continue
        if name not in names:
            raise ValueError(f"{what} option {name!r} has no confluent-kafka equivalent in {table}")
        prop, convert = names[name]
        config[prop] = convert(value) if convert else value
    return config


def unable_to_bootstrap(options: dict[str, Any], timeout: float, seen: list[str], exc: Exception) -> KafkaTimeoutError:
    """kafka-python's error for a client that got no metadata within `timeout` seconds, with
    librdkafka's errors of the attempt (`seen`) in the message (where a refused login shows)."""
    why = "; ".join(dict.fromkeys(seen)) or str(exc)
    return KafkaTimeoutError(f"Unable to bootstrap from {options.get('bootstrap_servers')} within "
                             f"{timeout:.0f}s: {why}")


class ConfluentDelivery:
    """The outcome of one message (kafka-python's future API): callbacks added before the
    outcome run when it comes, those added after run at once.

    One is made per message, so it is kept small: the object itself is librdkafka's delivery
    callback (no bound method per message), and its callback lists exist only once one is added
    (the shipper adds one errback; most deliveries succeed and never need it)."""

    __slots__ = ("_waiting", "_lock", "exception", "value", "_done")

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._done = False
        self.exception: BaseException | None = None
        self.value: Any = None
        # (on success?, fn, args) added before the outcome; None while there is none
        self._waiting: list[tuple[bool, Callable[..., Any], tuple[Any, ...]]] | None = None

    def is_done(self) -> bool:
        return self._done

    def succeeded(self) -> bool:
        return self._done and self.exception is None

    def failed(self) -> bool:
        return self._done and self.exception is not None

    def get(self, timeout: float | None = None) -> Any:
        """Wait for the outcome; returns the delivered message.

        Raises:
            KafkaTimeoutError: no outcome after `timeout` seconds.
            KafkaError: the delivery failed.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done:
            if deadline is not None and time.monotonic() > deadline:
                raise KafkaTimeoutError(f"no delivery report after {timeout}s")
            time.sleep(GET_WAIT)
        if self.exception is not None:
            raise self.exception
        return self.value

    def _add(self, on_success: bool, fn: Callable[..., Any], args: tuple[Any, ...]) -> ConfluentDelivery:
        with self._lock:
            if not self._done:
                if self._waiting is None:
                    self._waiting = []
                self._waiting.append((on_success, fn, args))
                return self
        if (self.exception is None) is on_success:
            fn(*args, self.value if on_success else self.exception)
        return self

    def add_callback(self, fn: Callable[..., Any], *args: Any) -> ConfluentDelivery:
        return self._add(True, fn, args)

    def add_errback(self, fn: Callable[..., Any], *args: Any) -> ConfluentDelivery:
        return self._add(False, fn, args)

    def __call__(self, err: Any, msg: Any) -> None:
        """librdkafka's delivery report (`err` None on success): what `produce` is given as
        on_delivery.

        confluent-kafka raises librdkafka's fatal error by leaving it pending in the thread that
        serves the queue, and may still call the reports served with it before poll returns:
        the first C call of such a report (this lock's acquire) then takes the lock AND raises
        (SystemError). The lock is released and the fatal error raised on, else the next report
        waits for the lock forever (a `ship` hung in its flush); this delivery stays unresolved,
        which KafkaSink's flush covers by asking the producer whether it failed."""
        lock = self._lock
        try:
            lock.acquire()
        except SystemError as exc:
            lock.release()
            raise (exc.__cause__ or exc.__context__ or exc) from None
        try:
            if err is None:
                self.value = msg
            else:
                self.exception = delivery_error(err)
            self._done = True
            waiting, self._waiting = self._waiting, None
        finally:
            lock.release()
        if waiting:
            ok = err is None
            arg = self.value if ok else self.exception
            for on_success, fn, args in waiting:
                if on_success is ok:
                    fn(*args, arg)

    resolve = __call__  # the name it had (librdkafka calls the object itself)


class ConfluentProducer:
    """A confluent_kafka.Producer with kafka-python's option names, defaults, errors and futures."""

    client = CONFLUENT

    def __init__(self, options: dict[str, Any]) -> None:
        self.max_block = options.get("max_block_ms", DEFAULT_MAX_BLOCK_MS) / 1000
        bootstrap_timeout = options.get("bootstrap_timeout_ms", DEFAULT_BOOTSTRAP_TIMEOUT_MS) / 1000
        self._errors: list[str] = []
        self._fatal: str | None = None  # librdkafka's fatal error (its cause), once it had one
        self._fatal_said = threading.Event()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._producer = confluent_kafka.Producer({**librdkafka_config(options), "logger": log,
                                                   "error_cb": self._on_client_error})
        self._poller = threading.Thread(target=self._poll, name="logwarden-librdkafka-poll", daemon=True)
        self._poller.start()
        try:
            self._producer.list_topics(timeout=bootstrap_timeout)
        except confluent_kafka.KafkaException as exc:
            self._stop()
            raise unable_to_bootstrap(options, bootstrap_timeout, self._errors, exc) from None
        self._errors.clear()

    def _on_client_error(self, err: Any) -> None:
        text = err.str()
        if err.fatal():
            self._keep_fatal(text)
        if len(self._errors) < 20:
            self._errors.append(text)
        log.warning("librdkafka: %s", text)

    def _keep_fatal(self, cause: str) -> None:
        if self._fatal is None:
            self._fatal = cause
            self._fatal_said.set()

    def _fatal_in(self, exc: BaseException) -> bool:
        """Whether `exc` (out of poll, flush or produce) is librdkafka's fatal error with its cause,
        kept for `failed()`. confluent-kafka raises the cause from whichever call serves the
        queue when it comes (it never reaches error_cb); produce says only "Local: Fatal error"."""
        error = exc.args[0] if isinstance(exc, confluent_kafka.KafkaException) and exc.args else None
        if isinstance(error, confluent_kafka.KafkaError) and error.fatal():
            self._keep_fatal(error.str())
            return True
        return False

    def _poll(self) -> None:
        """Serve librdkafka's callbacks until closed. An exception out of `poll` (a callback that
        raised, a fatal error of the client) is one ERROR line per distinct text and the polling
        goes on: a poller that died would leave every later delivery unreported, with a traceback
        on stderr instead of a line in the log."""
        said: set[str] = set()
        while not self._closed.is_set():
            try:
                self._producer.poll(POLL_SECONDS)
            except Exception as exc:  # noqa: BLE001 - the poller is the only thread serving reports
                self._fatal_in(exc)
                text = printable(str(exc))
                if text not in said and len(said) < 20:
                    said.add(text)
                    log.error("librdkafka's poll raised %s: %s (polling goes on)", type(exc).__name__, text)
                self._closed.wait(POLL_SECONDS)

    def send(self, topic: str, key: bytes, value: bytes,
             headers: list[tuple[str, bytes]] | None = None) -> ConfluentDelivery:
        """Raises KafkaTimeoutError when librdkafka's queue stayed full for max_block_ms."""
        delivery = ConfluentDelivery(self._lock)
        self.send_reporting(topic, key, value, headers, delivery)
        return delivery

    def send_reporting(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None,
                       report: Callable[[Any, Any], object]) -> None:
        """`send` without a future: `report(error, message)` is librdkafka's delivery callback
        itself (on the poller thread; `error` None on success, else librdkafka's error, see
        interface.delivery_error). No object, lock or callback list per message.

        Raises:
            KafkaTimeoutError: librdkafka's queue stayed full for max_block_ms.
        """
        deadline = 0.0
        while True:
            try:
                self._producer.produce(topic, value, key, headers=headers,  # type: ignore[arg-type]
                                       on_delivery=report)  # type: ignore[arg-type]
                return
            except BufferError:
                now = time.monotonic()
                deadline = deadline or now + self.max_block
                if now >= deadline:
                    raise KafkaTimeoutError(f"the producer's queue stayed full for {self.max_block:.1f}s") from None
                self._producer.poll(min(POLL_SECONDS, deadline - now))
            except confluent_kafka.KafkaException as exc:
                error = exc.args[0] if exc.args else None
                if isinstance(error, confluent_kafka.KafkaError) and (error.fatal() or error.code() == FATAL):
                    # produce says only "Local: Fatal error"; the cause comes out of the poller's poll
                    self._fatal_said.wait(FATAL_CAUSE_WAIT)
                    raise KafkaError(f"produce refused: {exc}: {self._fatal or 'cause not reported'}") from None
                raise KafkaError(f"produce refused: {exc}") from None

    def flush(self, timeout: float | None = None) -> None:
        """Raises KafkaTimeoutError when messages were still pending after `timeout` seconds, a
        KafkaError naming librdkafka's fatal error when the flush met it."""
        try:
            pending = self._producer.flush() if timeout is None else self._producer.flush(timeout)
        except confluent_kafka.KafkaException as exc:
            if self._fatal_in(exc):
                raise KafkaError(f"flush: the producer failed: {self._fatal}") from None
            raise KafkaError(f"flush: {exc}") from None
        if pending:
            raise KafkaTimeoutError(f"{pending} message(s) not acknowledged after {timeout}s")

    def failed(self) -> str | None:
        """librdkafka's fatal error (e.g. an idempotent producer refused its producer id while the
        user may write nowhere), None without one: after it the handle delivers nothing again
        (interface.Producer.failed). A refused write alone is not fatal: the same handle delivers
        once the ACL is back."""
        return self._fatal

    def close(self, timeout: float | None = None) -> None:
        """Flush for up to `timeout` seconds, then purge what is left (its deliveries fail)."""
        try:
            pending = self._producer.flush() if timeout is None else self._producer.flush(timeout)
            if pending:
                self._producer.purge()
                self._producer.flush(0)  # serve the purged messages' reports: their deliveries fail
        except confluent_kafka.KafkaException as exc:  # a fatal error met on the way: nothing more to deliver
            self._fatal_in(exc)
            log.debug("closing the producer: %s", printable(str(exc)))
        finally:
            self._stop()

    def _stop(self) -> None:
        """Stop the poller, then destroy librdkafka's handle and its threads (a process that
        forks workers afterwards, as `ship evtx --workers N` does, must not carry them)."""
        self._closed.set()
        if self._poller is not threading.current_thread():
            self._poller.join()
            self._producer.close()


__all__ = ["ConfluentDelivery", "ConfluentProducer", "OPTION_NAMES", "librdkafka_config", "unable_to_bootstrap"]
