"""The CEF parser (header facts kept per distinct header, actions and malware words per distinct
text, epoch milliseconds read from their digits) gives, line for line, what the reading it replaced
gives (tests/textlogs/cef_reference.py, kept unchanged): the same document with its keys in the same
order, the same dataset, key and id, or the same dead letter with the same reason. Over seeded random
hostile lines (escaped and unescaped `|`, `\\`, `=` in values, unicode, control characters, every
mapped extension key, truncated lines), each read twice (a remembered header the second time) and
with the memos kept tiny so they are emptied again and again, plus the golden lines."""

from __future__ import annotations

import json
import random

import pytest

from logwarden.shippers import textlog
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.cef import parser

from . import cef_reference
from .sources import golden_lines

HEADER_FIELDS = ["Check Point", "VPN-1 & FireWall-1", "R80", "Drop", "Acme", "FW", "1", "100", "Deny", "5",
                 "Trend Micro", "Eicar_test_file", "Virus found", "worm stopped", "Low", "very-high", "Unknown",
                 "10", "١٢", "²", " 7 ", "", "-3", "V\\|x", "Pro\\\\duct", "a\\", "\\\\\\|", "é", "\u202e",
                 "\x1b[31m", "CEF:0", "Trojan.Gen", "RANSOM", "quarantined", "a=b", "\t", "sig\\|1"]
VERSIONS = ["0", "1", " 0", "X", "", "01", "٣", "0\\|"]
KEYS = ["rt", "end", "dvchost", "deviceHostName", "dvc", "deviceInboundInterface", "deviceOutboundInterface",
        "src", "c6a2", "spt", "dst", "c6a3", "dpt", "sourceTranslatedAddress", "sourceTranslatedPort",
        "destinationTranslatedAddress", "destinationTranslatedPort", "shost", "dhost", "smac", "dmac",
        "suser", "duser", "app", "fname", "filePath", "request", "in", "out", "proto", "deviceDirection",
        "fileHash", "sproc", "dproc", "act", "cat", "msg", "cs1Label", "cs1", "cs2Label", "cs2", "cs6Label",
        "cs6", "cn1", "k.v", "a[0]", "-", "outcome"]
VALUES = ["", "1586795401000", "1586795401999", "4294967295999", "4294967296000", "4294967296789",
          "9999999999999", "0001586795401000", "5", "999", "1000", "١٥٨٦٧٩٥٤٠١٠٠٠", "²",
          "99999999999999999999", "Apr 14 2020 00:57:00", "Apr 14 00:57:00 2020", "2020-04-14T00:57:00Z",
          "203.0.113.45", "010.1.1.1", "2001:db8::1", "-", "n/a", "51234", "70000", " 80", "TCP", "udp",
          "6", "300", "icmpv6", "0", "1", "2", "Drop", " Accept ", "allow", "Quarantine", "virus",
          "Malware found", "Block RDP from internet", "Rule", "rule name", "Policy Name", "  ", "a\\=b",
          "c:\\\\x", "line1\\nline2", "\\r", "\\|", "\\", "x=y", "=", "é ü", "\u3000", "\x00", "\x1c",
          "\t", "<script>alert(1)</script>", "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
          "CORP\\\\jsmith"]
SEPARATORS = [" ", " ", " ", " ", "  ", "\t", " \t", "\n", "\u3000"]
PREFIXES = ["", "", "", "<134>Apr 14 00:22:01 fw01 ", "<134>1 2020-04-14T00:20:01.123Z fw-1 CEF - - - ",
            "junk|with|pipes ", "<4>"]


def _line(rng: random.Random, headers: list[str]) -> str:
    if rng.random() < 0.7:
        head = rng.choice(headers)  # a header seen before: the memo's hit
    else:
        head = "CEF:" + rng.choice(VERSIONS) + "".join("|" + rng.choice(HEADER_FIELDS) for _ in range(6)) + "|"
        headers.append(head)
    pairs = []
    for _ in range(rng.randint(0, 12)):
        value = "".join(rng.choice(VALUES) for _ in range(rng.choice((1, 1, 1, 2))))
        pairs.append(f"{rng.choice(KEYS)}={value}")
    ext = ""
    for pair in pairs:
        ext += (rng.choice(SEPARATORS) if ext else "") + pair
    if rng.random() < 0.1:
        ext += rng.choice((" ", "  ", "\t"))
    text = rng.choice(PREFIXES) + head + ext
    if rng.random() < 0.1:
        text = text[:rng.randint(0, len(text))]  # truncated anywhere
    return text


def _outcome(item: Event | DeadLetter) -> tuple[object, ...]:
    if isinstance(item, DeadLetter):
        return "dead letter", item.reason, item.dataset, item.raw
    # json.dumps without sort_keys: the keys' order is compared too
    return "event", item.id, item.dataset, item.key, json.dumps(item.doc, ensure_ascii=False)


def _same(raw: bytes, position: int) -> None:
    assert _outcome(parser.parse_line(raw, "t.log", position)) == \
        _outcome(cef_reference.parse_line(raw, "t.log", position)), raw


@pytest.fixture(autouse=True)
def _small_memos(monkeypatch: pytest.MonkeyPatch) -> None:
    """Memos of 8 entries: they fill and empty again many times within a test."""
    monkeypatch.setattr(parser, "_MEMO_MAX", 8)
    monkeypatch.setattr(parser, "_SECONDS_MAX", 8)
    for memo in (parser._HEADERS, parser._ACTIONS, parser._MALWARE_TEXTS, parser._SECONDS, parser._KEYS,
                 parser._HEADERS_SEEN, parser._KEYS_SEEN):
        memo.clear()


@pytest.mark.parametrize("seed", range(4))
def test_random_hostile_lines_read_as_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    headers = ["CEF:0|Check Point|VPN-1 & FireWall-1|R80|Drop|Drop|5|", "CEF:0|V\\|x|P\\\\|1|s\\|1|n|Low|"]
    events = 0
    for position in range(1500):
        text = _line(rng, headers)
        raw = text.encode("utf-8")
        for _ in range(3):  # its header and key sequence are remembered the second time, used the third
            _same(raw, position)
        events += isinstance(parser.parse_line(raw, "t.log", position), Event)
    assert 300 < events < 1500  # both outcomes are exercised


def test_golden_and_bench_lines_read_as_the_reference() -> None:
    lines = golden_lines("cef")
    assert lines
    for position, raw in enumerate(lines * 3):  # remembered the second time, used the third
        _same(raw, position)


def test_parse_raises_as_the_reference() -> None:
    """parse itself (what autodetect calls after its own split): same document or same error."""
    for text in ("no header here", "CEF:0|a|b", "CEF:X|V|P|1|s|n|5|src=1.1.1.1", "CEF:0|V\\|P|1|s|n|5",
                 "x CEF:0|V|P|1|s|n|5|act=virus", "CEF:0|V\\\\|P|1|s|n|5|a=1"):
        for _ in range(3):
            results = []
            for parse in (parser.parse, cef_reference.parse):
                try:
                    results.append(json.dumps(parse(text, None)))
                except textlog.ParseError as exc:
                    results.append(f"ParseError: {exc}")
            assert results[0] == results[1], text


def test_memos_keep_no_long_text() -> None:
    """A header, key sequence or action longer than _MEMO_KEY_MAX is read every time and never kept:
    4,096 entries of a hostile sender's 60 KB headers would hold 250 MB."""
    long = "x" * (parser._MEMO_KEY_MAX + 1)
    line = f"CEF:0|{long}|P|1|s|n|5|act={long} {long}=1 src=192.0.2.1".encode()
    for position in range(3):
        _same(line, position)
    memos = (parser._HEADERS, parser._HEADERS_SEEN, parser._KEYS, parser._KEYS_SEEN, parser._ACTIONS,
             parser._MALWARE_TEXTS)
    assert all(len(memo) == 0 for memo in memos)
    short = b"CEF:0|V|P|1|s|n|5|act=allow src=192.0.2.1"
    for position in range(3):
        _same(short, position)
    assert all(len(memo) == 1 for memo in memos)
