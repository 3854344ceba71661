"""The receiver's bulk paths give what the one-by-one paths gave: the framer's whole-block newline
splitting against frame-by-frame framing on streams that mix every framing case, cut at random
places; a TCP read handled as one batch keeps order, sequence numbers and counts, also when the
sink refuses a message in the middle of the batch."""

from __future__ import annotations

import random

from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.syslog import BadCount, Framer, Oversized, SyslogServer


class OneByOne(Framer):
    """The framer without its bulk path: every frame through the frame-by-frame loop."""

    def _plain_lines(self) -> list[bytes] | None:
        return None


def stream(rng: random.Random, max_frame: int) -> bytes:
    """Newline frames (some ending in CR, some blank, some starting with a digit but no count),
    octet-counted frames, an oversized line and, once, a bad octet count."""
    parts: list[bytes] = []
    for i in range(rng.randrange(5, 60)):
        kind = rng.randrange(10)
        body = b"<13>Apr 14 00:00:00 fw app: message %d " % i + b"x" * rng.randrange(0, 40)
        if kind == 0:
            parts.append(b"%d %s" % (len(body), body))
        elif kind == 1:
            parts.append(b"2020-04-14 00:00:00 ALLOW TCP %d\n" % i)
        elif kind == 2:
            parts.append(rng.choice([b"\n", b"\r\n", b"  \n", b"\x00\n"]))
        elif kind == 3:
            parts.append(b"y" * (max_frame + rng.randrange(1, 30)) + b"\n")
        elif kind == 4 and i > 40:
            parts.append(b"%d %s\n" % (max_frame * 10, body))
        else:
            parts.append(body + rng.choice([b"\n", b"\r\n"]))
    return b"".join(parts)


def frames(framer: Framer, data: bytes, cuts: list[int]) -> list[tuple[str, bytes]]:
    out: list[bytes] = []
    start = 0
    for cut in [*cuts, len(data)]:
        out += framer.feed(data[start:cut])
        start = cut
    out += framer.close()
    return [(type(f).__name__, bytes(f)) for f in out]


def test_bulk_newline_framing_equals_frame_by_frame_on_random_streams() -> None:
    rng = random.Random(12)
    bulk_used = 0
    for _ in range(400):
        max_frame = rng.choice([64, 100, 4096])
        data = stream(rng, max_frame)
        cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randrange(0, 12))))
        bulk = Framer(max_frame)
        assert frames(bulk, data, cuts) == frames(OneByOne(max_frame), data, cuts)
        bulk_used += bulk._plain_lines.__func__ is Framer._plain_lines  # type: ignore[attr-defined]
    assert bulk_used == 400


def test_bulk_path_takes_plain_lines_and_leaves_the_partial_one() -> None:
    framer = Framer(100)
    assert framer.feed(b"<1>a\r\n\n<2>b\n<3>c") == [b"<1>a\r", b"<2>b"]
    assert bytes(framer.buf) == b"<3>c"
    assert framer.feed(b"d\n10 <4>eleven.\n") == [b"<3>cd", b"<4>eleven."]  # a count: one by one
    assert not framer.buf


class RefuseOnce:
    """Refuses the message at one position once (a full spool), keeps everything else in order."""

    def __init__(self, position: int) -> None:
        self.position, self.refused = position, 0
        self.items: list[Event | DeadLetter] = []

    def send(self, item: Event | DeadLetter) -> bool:
        if item.position == self.position and not self.refused:
            self.refused += 1
            return False
        self.items.append(item)
        return True

    def flush(self) -> None:
        pass


def test_a_batch_keeps_order_and_counts_when_the_sink_refuses_one_in_the_middle() -> None:
    sink = RefuseOnce(position=3)
    server = SyslogServer(sink, tcp=("127.0.0.1", 0))
    frames_in = [b"<13>Apr 14 00:00:00 host app: unknown %d" % i for i in range(5)]
    server.handle_frames([*frames_in[:2], b"  ", *frames_in[2:]], "tcp", "192.0.2.1")
    server.handle_frames([Oversized(b"z" * 10), BadCount.of(b"99999 x", 99999)], "tcp", "192.0.2.1")
    assert sink.refused == 1
    assert [item.position for item in sink.items] == [1, 2, 3, 4, 5, 6, 7, 8]
    reasons = [item.reason for item in sink.items if isinstance(item, DeadLetter)]
    assert reasons[2] == "empty message" and "oversized" in reasons[6] and "octet count 99999" in reasons[7]
    counts = server.counters
    assert (counts.received, counts.tcp, counts.parsed + counts.dead, counts.dropped) == (8, 8, 8, 0)
    dead = [item for item in sink.items if isinstance(item, DeadLetter)]
    assert len(dead) == 8 and {item.source for item in dead} == {f"syslog/{server.session}/tcp:192.0.2.1"}
