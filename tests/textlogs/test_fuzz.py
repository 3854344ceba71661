"""Fuzzing: no exception escapes any parser, and every input gives exactly one result.

Bounded (a few hundred examples per parser) so the whole file runs in well under a minute.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwarden.shippers.base import DeadLetter, Event

from .sources import TEXT_SOURCES, golden_lines, module

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def _check(name: str, raw: bytes) -> None:
    item = module(name).parse_line(raw, "fuzz", 7)
    assert isinstance(item, Event | DeadLetter)
    if isinstance(item, DeadLetter):
        assert item.raw == raw and item.reason
    else:
        assert item.doc["event"]["original"]
        assert item.dataset in ("firewall", "av")


@st.composite
def mutated(draw, lines: list[bytes]) -> bytes:
    """A golden line with a slice replaced/truncated/duplicated: realistic near-misses."""
    base = draw(st.sampled_from(lines)) if lines else b""
    if not base:
        return draw(st.binary(max_size=200))
    i = draw(st.integers(0, len(base)))
    j = draw(st.integers(i, len(base)))
    junk = draw(st.one_of(
        st.binary(max_size=40),
        st.text(max_size=40).map(lambda s: s.encode("utf-8")),
        st.sampled_from([b"\x00", b"=", b'"', b",", b"|", b"\\", b"<script>alert(1)</script>", b"\xb7\xc0",
                         b"\r", b" ", b"[", b"{", b"}", b":", b"%ASA-6-302013:", b"CEF:0|"]),
    ))
    return base[:i] + junk + base[j:]


@pytest.mark.parametrize("name", TEXT_SOURCES)
def test_fuzz_mutated_golden_lines(name: str) -> None:
    lines = golden_lines(name)

    @FUZZ
    @given(mutated(lines))
    def run(raw: bytes) -> None:
        _check(name, raw)

    run()


@pytest.mark.parametrize("name", TEXT_SOURCES)
def test_fuzz_random_bytes(name: str) -> None:
    @settings(max_examples=60, deadline=None, database=None)
    @given(st.binary(max_size=300))
    def run(raw: bytes) -> None:
        _check(name, raw)

    run()


@pytest.mark.parametrize("name", TEXT_SOURCES)
def test_huge_line_and_nuls(name: str) -> None:
    lines = golden_lines(name) or [b"x"]
    for raw in (lines[0] + b" " + b"A" * 1_000_000, lines[0].replace(b" ", b"\x00"), b"\x00" * 1000,
                lines[0] + b"=" * 100_000, b"<" * 200_000):
        _check(name, raw)
