"""The autodetect signatures of clamav, iptables and secgate answer as the regex-only versions
they replaced (kept here as the reference): each now rules a message out with substring or
ending tests before its regex scans, since autodetect offers them every other source's lines.

Compared on every text source's golden lines (with and without their syslog header), the kept
fuzz inputs, and generated messages built from the pieces each signature looks for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwarden.shippers import clamav, iptables, secgate
from logwarden.shippers import textlog as t

from .sources import TEXT_SOURCES, golden_lines

_CLAM = re.compile(r"(?:: \S+ FOUND$|: Removed\.$|: (?:moved|copied) to '.*'$|: OK$|: .* ERROR$"
                   r"|^(?:[A-Z][a-z]{2} )?[A-Z][a-z]{2} +\d+ [\d:]+ \d{4} -> "
                   r"|^(?:Known viruses|Engine version|Scanned directories|Scanned files|Infected files|"
                   r"Total errors|Data scanned|Data read|Start Date|End Date): )")
_FRESH = re.compile(r"^[\w.-]+\.c[vl]d (?:updated|database is up[- ]to[- ]date) \(version: ")
_IPT = re.compile(r"(?<![A-Za-z0-9_])IN=\S* OUT=\S* ")
_SECGATE = re.compile(r"(?:^|\s)devid=\S*\s+date=.*?\sdname=\S+.*?\slogtype=\d+")


def clamav_reference(message: str, app: str) -> bool:
    head = message[:4096]
    return (app in ("clamd", "freshclam", "clamscan") or _CLAM.search(message[-512:]) is not None
            or _CLAM.match(head) is not None or _FRESH.match(head) is not None)


def iptables_reference(message: str, app: str) -> bool:
    head = message[:4096]
    return _IPT.search(head) is not None and "SRC=" in head and "PROTO=" in head


def secgate_reference(message: str, app: str) -> bool:
    return _SECGATE.search(message[:400]) is not None


PAIRS = [(clamav.matches, clamav_reference), (iptables.matches, iptables_reference),
         (secgate.matches, secgate_reference)]
FUZZ = Path(__file__).resolve().parents[1] / "fuzz" / "corpus"


def _messages() -> list[tuple[str, str]]:
    out = []
    for name in TEXT_SOURCES:
        for raw in golden_lines(name):
            text = (t.decode(raw) or "").rstrip("\r\n")
            hdr, msg = t.split_syslog(text)
            out += [(msg, (hdr.app or "").lower() if hdr else ""), (text, "")]
    for path in sorted(FUZZ.glob("*.line/*")):  # one folder of kept inputs per line source
        text = path.read_bytes().decode("utf-8", "replace")
        out += [(text, ""), (text + "\n", ""), (text[-600:], "")]
    return out


def test_the_corpus_is_read() -> None:
    messages = _messages()
    assert len(messages) > 200
    for fast, _ in PAIRS:  # each signature says yes to some of it, so the comparison means something
        assert any(fast(msg, app) for msg, app in messages)


@pytest.mark.parametrize(("fast", "reference"), PAIRS, ids=["clamav", "iptables", "secgate"])
def test_same_answer_on_every_golden_and_fuzz_message(fast, reference) -> None:
    differ = [msg for msg, app in _messages() if fast(msg, app) != reference(msg, app)]
    assert differ == []


PIECES = st.sampled_from([
    " FOUND", ": Eicar-Test FOUND", ": Removed.", ": moved to '/q/x'", "'", ": OK", ": x ERROR", " ERROR",
    "Known viruses: ", "Mon Dec  4 10:00:00 2026 -> ", "main.cvd updated (version: ", "IN=eth0 ", "OUT= ",
    "SRC=1.2.3.4 ", "PROTO=TCP ", "xIN=", "devid=1 ", "date=2026 ", " dname=fw ", " logtype=1", "\n", " ",
    "a", ":", "=", "é",
])


@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES, max_size=25).map("".join), st.sampled_from(["", "clamd", "kernel"]))
def test_same_answer_on_generated_messages(message: str, app: str) -> None:
    for fast, reference in PAIRS:
        assert fast(message, app) == reference(message, app)
