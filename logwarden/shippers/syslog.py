"""Syslog receiver: RFC 3164 and RFC 5424 over UDP and TCP (newline or octet-counted framing,
RFC 6587), optionally TLS (RFC 5425). Each message is recognised (`autodetect`), parsed and sent
to a sink: `SpoolingSink` in production (Kafka, or the on-disk spool while Kafka cannot take
them: logwarden/shippers/spooling_sink.py), `ListSink` in tests. Counts: received = parsed + dead;
`dropped` counts the received messages the sink refused (a full spool) and that were not kept.

UDP has two threads: `syslog-udp-recv` only takes datagrams off the socket (a non-blocking drain
after each poll, so it holds the GIL for one short burst per wake-up) into a bounded in-process
queue (logwarden/shippers/receive_queue.py); `syslog-udp` parses and sends them, the datagrams
of one sender in one take together (up to UDP_BATCH_BYTES: one hand-off to the sink or to a parse
process, as a TCP read's lines are, not one per datagram). A datagram thus
waits in the queue, not in the kernel's small buffer, while another is parsed. What is lost is
counted: `udp_overflow` (the queue was full) and `udp_kernel_dropped` (the kernel's own count
for the socket, /proc/net/udp, read at the stop). Sent datagrams = udp + udp_overflow +
udp_kernel_dropped (one message per datagram).

    server = SyslogServer(sink, udp=("127.0.0.1", 0), tcp=("127.0.0.1", 0))
    server.start()                       # binds; server.udp_address / server.tcp_address
    server.serve_until(max_messages=10_000, duration=60)   # or server.stop() from elsewhere

Ids: each message's source is `syslog/<session>/<proto>:<sender>` and its position the
receiver's sequence number, where <session> is unique per receiver start, so two identical
lines, or a restart, can never produce the same Elasticsearch _id.

The sender: every event and dead letter carries the peer's address as `log.source.address`,
"ip:port" (`[v6]:port`), as Elastic's syslog / tcp / udp inputs write it; silence detection keys
syslog senders by its ip part (logwarden/detection/silence.py).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
import select
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from logwarden.safe_text import printable
from logwarden.shippers import autodetect
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.receive_queue import DEFAULT_MAX_BYTES as UDP_QUEUE_BYTES
from logwarden.shippers.receive_queue import DatagramQueue

LineFn = Callable[[bytes, str, int], Event | DeadLetter]
UDP_RCVBUF = 8 * 1024 * 1024
UDP_BATCH_BYTES = 256 * 1024  # the datagrams of one sender handed on together, at most (one TCP read's size)
MAX_FRAME = 2 * 1024 * 1024  # larger TCP frames become dead letters (raw cut at this size)
MAX_LEN_DIGITS = 9
MAX_CONNECTIONS = 512  # concurrent TCP connections; more are closed at once (logged)
IDLE_TIMEOUT = 300.0  # seconds without a byte before a TCP connection is closed (logged)
# At a stop, an open TCP connection is read until it has been quiet this long (or is closed, or the
# stop's deadline passes): its sender was told by TCP that those bytes arrived and will not resend.
# A loaded box can leave a burst's tail in the sender's buffer for a few tenths of a second (0.2 s
# lost most of a 20,000-line burst at a load average of 7).
DRAIN_QUIET = 1.0
# The stop's timeout of a service (SIGTERM): 0.8 of it reading the open connections, the rest
# flushing. Below a supervisor's usual grace (systemd 90 s, Kubernetes 30 s); 5 s cut a 20,000-line
# burst on a loaded box, counted but lost.
STOP_TIMEOUT = 20.0

log = logging.getLogger(__name__)


class ReceiverSink(Protocol):
    """Where the receiver's messages go: `send` returns False when it refused one (a full spool,
    logwarden/shippers/spooling_sink.py); None or True means taken. A sink may also have
    `send_many(items) -> int | None` (the index of the first item refused, those after it not
    taken; None: all taken), used for the messages of one read or datagram when it has."""

    def send(self, item: Event | DeadLetter) -> bool | None: ...

    def flush(self) -> None: ...


class Spreading(Protocol):
    """Where a spreading receiver's batches go (logwarden/shippers/syslog_spread.py `Spreader`)."""

    def put(self, batch: tuple[int, str, str, list[bytes]]) -> bool: ...


class StopRequest(Protocol):
    """A threading.Event or logwarden.consume.StopFlag."""

    def is_set(self) -> bool: ...


@dataclass
class Counters:
    received: int = 0
    parsed: int = 0
    dead: int = 0
    udp: int = 0
    tcp: int = 0
    connections: int = 0
    refused: int = 0  # connections closed at once: MAX_CONNECTIONS were open
    idle_closed: int = 0  # connections closed after IDLE_TIMEOUT without data
    cut_at_stop: int = 0  # connections still sending when a stop's deadline closed them (logged)
    dropped: int = 0  # received but not kept: the sink refused them (UDP; TCP only at a stop)
    udp_overflow: int = 0  # datagrams dropped unparsed: the receive queue was full (set at the stop)
    udp_kernel_dropped: int = 0  # datagrams the kernel dropped on the socket (its buffer was full; at the stop)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"received": self.received, "parsed": self.parsed, "dead": self.dead, "udp": self.udp,
                "tcp": self.tcp, "connections": self.connections, "refused": self.refused,
                "idle_closed": self.idle_closed, "cut_at_stop": self.cut_at_stop, "dropped": self.dropped,
                "udp_overflow": self.udp_overflow,
                "udp_kernel_dropped": self.udp_kernel_dropped}


class SyslogServer:
    def __init__(self, sink: ReceiverSink, udp: tuple[str, int] | None = None, tcp: tuple[str, int] | None = None,
                 tls: ssl.SSLContext | None = None, parse: LineFn = autodetect.parse_line,
                 rcvbuf: int = UDP_RCVBUF, max_connections: int = MAX_CONNECTIONS,
                 idle_timeout: float = IDLE_TIMEOUT, accepting: Callable[[], bool] = lambda: True,
                 reuseport: bool = False, udp_queue_bytes: int = UDP_QUEUE_BYTES, session: str | None = None,
                 spread: Spreading | None = None) -> None:
        """`accepting`: False while the sink cannot take messages; TCP connections then stop
        reading (the senders wait) and UDP messages the sink refuses are dropped and counted.
        `reuseport`: bind with SO_REUSEPORT, so that several receivers (`ship syslog --workers N`,
        logwarden/shippers/syslog_workers.py) share one address and the kernel spreads the
        connections and the UDP flows (by source address and port) over them.
        `udp_queue_bytes`: the bound of the UDP receive queue (see the module docstring).
        `session`: the id part that makes this receiver's ids unique (default: a new one).
        `spread`: hand each read's frames to parse processes instead of parsing them here
        (logwarden/shippers/syslog_spread.py; `sink` then receives nothing)."""
        if udp is None and tcp is None:
            raise ValueError("need at least one of udp / tcp")
        self.sink, self.parse, self.tls, self.rcvbuf = sink, parse, tls, rcvbuf
        self._send_many: Callable[[list[Event | DeadLetter]], int | None] | None = getattr(sink, "send_many", None)
        self.max_connections, self.idle_timeout, self.accepting = max_connections, idle_timeout, accepting
        self._want_udp, self._want_tcp = udp, tcp
        self.reuseport = reuseport
        self.session = session or uuid.uuid4().hex[:12]
        self.spread = spread
        self.counters = Counters()
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []  # the UDP and accept loops
        self._conn_threads: set[threading.Thread] = set()  # open TCP connections; each removes itself
        self._conns: set[socket.socket] = set()
        self.udp_sock: socket.socket | None = None
        self.tcp_sock: socket.socket | None = None
        self.udp_rcvbuf: int | None = None
        self.udp_queue = DatagramQueue(udp_queue_bytes)
        self._udp_receiver: threading.Thread | None = None
        self._udp_parser: threading.Thread | None = None
        self._drain_until = 0.0  # set by stop(): open connections are read until then at most

    # ------------------------------------------------------------------ lifecycle
    @property
    def udp_address(self) -> tuple[str, int] | None:
        return self.udp_sock.getsockname()[:2] if self.udp_sock else None

    @property
    def tcp_address(self) -> tuple[str, int] | None:
        return self.tcp_sock.getsockname()[:2] if self.tcp_sock else None

    def start(self) -> SyslogServer:
        if self._want_udp:
            host, port = self._want_udp
            self.udp_sock = socket.socket(_family(host), socket.SOCK_DGRAM)
            with contextlib.suppress(OSError):
                self.udp_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
            self.udp_rcvbuf = self.udp_sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            if self.reuseport:
                self.udp_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            self.udp_sock.bind((host, port))
            self.udp_sock.setblocking(False)
            self._udp_receiver = self._spawn(self._udp_receive_loop, "syslog-udp-recv")
            self._udp_parser = self._spawn(self._udp_loop, "syslog-udp")
        if self._want_tcp:
            host, port = self._want_tcp
            self.tcp_sock = socket.socket(_family(host), socket.SOCK_STREAM)
            self.tcp_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.reuseport:
                self.tcp_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            self.tcp_sock.bind((host, port))
            self.tcp_sock.listen(128)
            self.tcp_sock.settimeout(0.2)
            self._spawn(self._accept_loop, "syslog-tcp")
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop receiving; the UDP datagrams already queued are parsed and sent first (the
        queue's bound bounds that time), then the sink is flushed. Open TCP connections are read
        first until each is quiet for DRAIN_QUIET, closed by its sender, or most of `timeout` has
        passed (a sender that keeps sending is cut there, logged)."""
        self._drain_until = time.monotonic() + 0.8 * timeout
        self.stop_event.set()
        for t in [*self._threads, *list(self._conn_threads)]:
            t.join(None if t is self._udp_parser else timeout)
        if self.udp_sock is not None:
            self.udp_queue.final_report()
            self.counters.udp_overflow = self.udp_queue.overflow
            drops = kernel_drops(self.udp_sock)  # None once closed (a second stop): the count stays
            if drops and drops != self.counters.udp_kernel_dropped:
                log.warning("the kernel dropped %d UDP datagram(s) on %s: its receive buffer (SO_RCVBUF %s) was "
                            "full", drops, self.udp_sock.getsockname(), self.udp_rcvbuf)
            if drops is not None:
                self.counters.udp_kernel_dropped = drops
        for s in (self.udp_sock, self.tcp_sock, *list(self._conns)):
            if s is not None:
                with contextlib.suppress(OSError):
                    s.close()
        with self._lock:
            self.sink.flush()

    def serve_until(self, max_messages: int | None = None, duration: float | None = None,
                    stop: StopRequest | None = None, flush_every: float = 1.0) -> Counters:
        """Block until max_messages received, duration elapsed or `stop` set; then stop cleanly."""
        deadline = time.monotonic() + duration if duration else None
        last_flush = time.monotonic()
        try:
            while not self.stop_event.is_set():
                if stop is not None and stop.is_set():
                    break
                if max_messages is not None and self.arrived >= max_messages:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if time.monotonic() - last_flush >= flush_every:
                    with self._lock:
                        self.sink.flush()
                    last_flush = time.monotonic()
                time.sleep(0.01)
        finally:
            self.stop()
        return self.counters

    @property
    def arrived(self) -> int:
        """Messages received so far, the UDP datagrams dropped by a full receive queue included."""
        return self.counters.received + self.udp_queue.overflow

    def __enter__(self) -> SyslogServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals
    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> threading.Thread:
        th = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(th)
        th.start()
        return th

    def handle(self, raw: bytes, proto: str, peer: str) -> None:
        """One message: parse (never raises) and send, counting."""
        self.handle_frames([raw], proto, peer)

    def handle_frames(self, frames: list[bytes], proto: str, peer: str, first: int | None = None) -> None:
        """The messages of one TCP read or one datagram, in order: each parsed (never raises) and
        sent, or with `spread` handed to a parse process. The counters are taken twice per batch,
        not per message (the lock is shared by every connection), and the source is formatted
        once. `first`: the first message's sequence number, given by the receiver that handed
        the batch to this parse process (default: this server's own count)."""
        if not frames:
            return
        source = f"syslog/{self.session}/{proto}:{peer}"
        with self._lock:
            if first is None:
                first = self.counters.received + 1
            self.counters.received += len(frames)
        if self.spread is not None:
            if not self.spread.put((first, proto, peer, frames)):
                with self._lock:  # the parse processes are stopping, or none is alive
                    self.counters.dropped += len(frames)
            return
        item_of = self._item
        items = [item_of(raw, source, seq) for seq, raw in enumerate(frames, first)]
        for item in items:
            mark_sender(item, peer)
        dead = sum(1 for item in items if isinstance(item, DeadLetter))
        send_many = self._send_many
        start = 0
        while start < len(items):
            refused = None
            with self._lock:
                counters = self.counters
                if start == 0:
                    counters.dead += dead
                    counters.parsed += len(items) - dead
                    if proto == "udp":
                        counters.udp += len(items)
                    else:
                        counters.tcp += len(items)
                if send_many is not None:
                    first_refused = send_many(items[start:] if start else items)
                    refused = None if first_refused is None else start + first_refused
                else:
                    send = self.sink.send
                    for index in range(start, len(items)):
                        if send(items[index]) is False:
                            refused = index
                            break
            if refused is None:
                return
            self._refused(items[refused], proto)  # TCP: waits for room; what follows keeps its order
            start = refused + 1

    def _item(self, raw: bytes, source: str, seq: int) -> Event | DeadLetter:
        """`raw` as an event or a dead letter (framing errors, empty messages, parser verdicts)."""
        if type(raw) is bytes:
            body = raw.rstrip(b"\r\n\x00")
            if body and not body.isspace():
                return self.parse(body, source, seq)
            return DeadLetter(source, raw, "empty message", "unknown", seq)
        if isinstance(raw, BadCount):
            return DeadLetter(source, bytes(raw), f"octet count {raw.octets} exceeds the maximum frame "
                              f"({MAX_FRAME} bytes); connection falls back to newline framing", "unknown", seq)
        if isinstance(raw, Oversized):
            return DeadLetter(source, bytes(raw), f"oversized frame (> {MAX_FRAME} bytes), first bytes kept",
                              "unknown", seq)
        return self._item(bytes(raw), source, seq)

    def _refused(self, item: Event | DeadLetter, proto: str) -> None:
        """The sink refused `item`: dropped (counted) for UDP; for TCP, wait for room and send it
        again (the connection reads nothing meanwhile), dropped only when a stop comes first."""
        while proto != "udp" and not self.stop_event.is_set():
            if not self.accepting():
                self.stop_event.wait(0.1)
                continue
            with self._lock:
                if self.sink.send(item) is not False:
                    return
        with self._lock:
            self.counters.dropped += 1

    def _udp_receive_loop(self) -> None:
        """Only take datagrams off the (non-blocking) socket into the queue: wait in poll (the GIL
        released), then read everything there is; once more after a stop request."""
        sock = self.udp_sock
        assert sock is not None
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        recvfrom, put = sock.recvfrom, self.udp_queue.put
        stopping = False
        while not stopping:
            stopping = self.stop_event.is_set()
            if not stopping and not poller.poll(200):
                continue
            while True:
                try:
                    data, addr = recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:
                    log.error("receiving UDP on %s: %s", self.udp_address, exc)
                    return
                put(data, addr)

    def _udp_loop(self) -> None:
        """Parse and send the queued datagrams; ends once the receiving thread ended and the
        queue is empty."""
        receiver, take = self._udp_receiver, self.udp_queue.take
        while True:
            batch = take(0.2)
            if not batch:
                if self.stop_event.is_set() and (receiver is None or not receiver.is_alive()) and not self.udp_queue:
                    return
                continue
            by_sender: dict[Any, list[bytes]] = {}  # one hand-off per sender and take, in its order
            sizes: dict[Any, int] = {}
            for data, addr in batch:
                # one datagram = one message (RFC 5426); tolerate senders that batch lines
                frames = by_sender.setdefault(addr, [])
                if b"\n" in data.rstrip(b"\n"):
                    frames.extend(part for part in data.split(b"\n") if part and not part.isspace())
                elif data and not data.isspace():
                    frames.append(data)
                size = sizes[addr] = sizes.get(addr, 0) + len(data)
                if size >= UDP_BATCH_BYTES:  # as much as one TCP read: handed now
                    self.handle_frames(by_sender.pop(addr), "udp", sender_address(addr))
                    del sizes[addr]
            for addr, frames in by_sender.items():
                self.handle_frames(frames, "udp", sender_address(addr))

    def _accept_loop(self) -> None:
        assert self.tcp_sock is not None
        while not self.stop_event.is_set():
            try:
                conn, addr = self.tcp_sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            with self._lock:
                self.counters.connections += 1
                full = len(self._conn_threads) >= self.max_connections
                if full:
                    self.counters.refused += 1
                else:
                    th = threading.Thread(target=self._conn_loop, args=(conn, sender_address(addr)),
                                          name=f"syslog-conn-{addr[0]}", daemon=True)
                    self._conn_threads.add(th)
            if full:
                log.warning("closing a TCP connection from %s: %d connections already open", addr[0],
                            self.max_connections)
                with contextlib.suppress(OSError):
                    conn.close()
            else:
                th.start()

    def _conn_loop(self, conn: socket.socket, peer: str) -> None:
        proto = "tls" if self.tls else "tcp"
        try:
            conn.settimeout(10.0)
            if self.tls:
                conn = self.tls.wrap_socket(conn, server_side=True)
            conn.settimeout(0.2)
            self._conns.add(conn)
            framer = Framer()
            last_data = time.monotonic()
            while not self.stop_event.is_set():
                if not self.accepting():  # backpressure: the sender waits until the sink has room
                    self.stop_event.wait(0.1)
                    last_data = time.monotonic()
                    continue
                try:
                    chunk = conn.recv(262144)
                except (TimeoutError, ssl.SSLWantReadError):
                    if time.monotonic() - last_data >= self.idle_timeout:
                        log.info("closing the TCP connection from %s: idle for %.0f s", peer, self.idle_timeout)
                        with self._lock:
                            self.counters.idle_closed += 1
                        break
                    continue
                if not chunk:
                    break
                last_data = time.monotonic()
                self.handle_frames(framer.feed(chunk), proto, peer)
            else:
                self._drain(conn, framer, proto, peer)
            self.handle_frames(framer.close(), proto, peer)
        except (OSError, ssl.SSLError) as exc:
            with self._lock:
                self.counters.errors.append(f"{peer}: {type(exc).__name__}: {exc}"[:200])
        finally:
            self._conns.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()
            with self._lock:
                self._conn_threads.discard(threading.current_thread())

    def _drain(self, conn: socket.socket, framer: Framer, proto: str, peer: str) -> None:
        """At a stop: what the sender already delivered is read and handled before the connection
        closes. TCP acknowledged those bytes, so the sender will not send them again; closing
        with them unread would lose them without a trace. Reads until the connection is quiet
        for DRAIN_QUIET, closed by the sender, or the stop's deadline."""
        conn.settimeout(DRAIN_QUIET)
        while time.monotonic() < self._drain_until:
            try:
                chunk = conn.recv(262144)
            except (TimeoutError, ssl.SSLWantReadError):
                return
            if not chunk:
                return
            self.handle_frames(framer.feed(chunk), proto, peer)
        log.warning("closing the TCP connection from %s at the stop while it was still sending: what it sent "
                    "after the last read is not received", peer)
        with self._lock:
            self.counters.cut_at_stop += 1


_BLANK = frozenset(b"\r\n\x00 ")  # bytes a frame may consist of and still be blank
_DIGIT_AFTER_NEWLINE = re.compile(rb"\n[0-9]")


class Oversized(bytes):
    """The first MAX_FRAME bytes of a frame that was longer (sent as a dead letter)."""


class BadCount(bytes):
    """The line (first MAX_FRAME bytes) that began with an octet count above the maximum frame."""

    octets: int

    @classmethod
    def of(cls, frame: bytes, count: int) -> BadCount:
        bad = cls(frame)
        bad.octets = count
        return bad


class Framer:
    """RFC 6587 TCP framing: octet counting (`LEN SP MSG`) or newline-terminated, per frame.

    An octet count above `max_frame` is a framing error (RFC 6587 3.4.1: larger than the
    receiver's maximum message size): trusting it would swallow everything the count covers
    (up to ~1 GB for 9 digits). The line carrying it becomes a `BadCount` frame and the
    connection falls back to newline framing for good, so the following lines still arrive.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.buf = bytearray()
        self.max_frame = max_frame
        self.skip_line = False  # discarding the rest of an oversized newline frame
        self.newline_only = False  # set after a bad octet count: no more octet counting
        self.bad_count: int | None = None  # the next newline frame is the bad-count line

    def _frame(self, frame: bytes) -> bytes:
        """`frame` as it leaves the framer: tagged as the bad-count line when one is pending."""
        if self.bad_count is None:
            return frame
        count, self.bad_count = self.bad_count, None
        return BadCount.of(frame, count)

    def feed(self, data: bytes) -> list[bytes]:
        """The complete frames `data` ends (with what was buffered before), in order; blank
        frames left out. Frames are bytes, or `Oversized` / `BadCount` for framing errors."""
        self.buf += data
        lines = self._plain_lines()
        plain = [f for f in lines if f and (f[0] not in _BLANK or f.strip(b"\r\n\x00 "))] if lines else []
        if not self.buf:
            return plain
        out: list[bytes] = []  # what follows the last newline (an octet-counted frame may be complete)
        while self.buf:
            if self.skip_line:
                nl = self.buf.find(b"\n")
                if nl < 0:
                    self.buf.clear()
                    break
                del self.buf[: nl + 1]
                self.skip_line = False
                continue
            if not self.newline_only and self.buf[:1].isdigit():
                sp = self.buf.find(b" ", 0, MAX_LEN_DIGITS + 1)
                if sp > 0 and self.buf[:sp].isdigit():
                    n = int(self.buf[:sp])
                    if n > self.max_frame:
                        self.newline_only, self.bad_count = True, n
                        continue
                    if len(self.buf) < sp + 1 + n:
                        break  # wait for the rest
                    out.append(bytes(self.buf[sp + 1: sp + 1 + n]))
                    del self.buf[: sp + 1 + n]
                    continue
                if sp < 0 and len(self.buf) <= MAX_LEN_DIGITS and self.buf.isdigit():
                    break  # maybe a length prefix still arriving
            nl = self.buf.find(b"\n")
            if nl < 0:
                if len(self.buf) > self.max_frame:
                    out.append(self._frame(Oversized(self.buf[: self.max_frame])))
                    self.buf.clear()
                    self.skip_line = True
                break
            if nl > self.max_frame:
                out.append(self._frame(Oversized(self.buf[: self.max_frame])))
            else:
                out.append(self._frame(bytes(self.buf[:nl])))
            del self.buf[: nl + 1]
        return plain + [f for f in out if isinstance(f, Oversized | BadCount) or f.strip(b"\r\n\x00 ")]

    def _plain_lines(self) -> list[bytes] | None:
        """Fast path, in bulk: every complete line in the buffer (taken out of it) when all of
        them are plain newline frames: no line starts with a digit (a possible octet count), none
        is longer than the maximum frame, no oversized or bad-count line is pending. None when
        one is not: `feed` then takes the frames one by one."""
        if self.skip_line or self.bad_count is not None:
            return None
        end = self.buf.rfind(b"\n")
        if end < 0:
            return None
        with memoryview(self.buf) as view:
            block = bytes(view[:end])
        if not self.newline_only and (block[:1].isdigit() or _DIGIT_AFTER_NEWLINE.search(block)):
            return None
        lines = block.split(b"\n")
        if end > self.max_frame and max(map(len, lines)) > self.max_frame:
            return None
        del self.buf[: end + 1]
        return lines

    def close(self) -> list[bytes]:
        rest = bytes(self.buf).strip(b"\r\n\x00 ")
        self.buf.clear()
        if self.bad_count is not None:
            return [self._frame(rest)]
        return [rest] if rest and not self.skip_line else []


def sender_address(addr: tuple[Any, ...]) -> str:
    """A socket peer as Elastic's inputs write `log.source.address`: "ip:port", "[v6]:port"."""
    host, port = str(addr[0]), addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def mark_sender(item: Event | DeadLetter, address: str) -> None:
    """Record the sender on an event (`log.source.address`) or a dead letter (its `address`)."""
    if isinstance(item, DeadLetter):
        item.address = address
        return
    log_node = item.doc.get("log")
    if not isinstance(log_node, dict):
        log_node = item.doc["log"] = {}
    log_node["source"] = {"address": address}


def kernel_drops(sock: socket.socket) -> int | None:
    """The datagrams the kernel dropped on UDP socket `sock` (its receive buffer was full): the
    `drops` column of /proc/net/udp (or udp6) for the socket's inode. None where that is not
    readable (not Linux) or the socket is closed."""
    try:
        inode = str(os.fstat(sock.fileno()).st_ino)
    except OSError:
        return None
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table, encoding="ascii") as rows:
                for row in rows:
                    fields = row.split()
                    if len(fields) >= 13 and fields[9] == inode:
                        return int(fields[12])
        except OSError:
            return None
    return None


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def parse_hostport(text: str) -> tuple[str, int]:
    """`HOST:PORT` (`[v6]:PORT`, or `:PORT` for all IPv4 interfaces) as (host, port).

    Raises ValueError, with the offending text made printable, for a port that is not a number
    in 0-65535 or a host that is neither an IP address nor a well-formed host name.
    """
    host, sep, port = text.rpartition(":")
    shown = printable(text)
    if not sep or not port.isascii() or not port.isdigit():
        raise ValueError(f"{shown!r}: expected HOST:PORT with a numeric port")
    if int(port) > 65535:
        raise ValueError(f"{shown!r}: port {int(port)} is out of range (0-65535)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    host = host or "0.0.0.0"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not host.isascii() or not _HOSTNAME.fullmatch(host):
            raise ValueError(f"{shown!r}: {printable(host)!r} is not an IP address or host name") from None
    return host, int(port)
