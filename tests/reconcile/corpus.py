"""Seeded generators of hostile corpora for the reconciliation tests: records in = events + dead
letters, whatever the records hold.

Every generator knows how many records it wrote, independently of any parser: a text record is a
line with at least one visible byte (no newline inside), a JSON-lines record a non-blank line,
an XML record one `<Event>`. Good records come from the sources' own golden lines (every source
the registry lists with a line parser) and from `windows.synth`; bad ones are mutations of them,
random bytes, invalid UTF-8, lines of up to several MiB, control characters, lone surrogates and
deep nesting. Separators vary: LF, CRLF, blank and whitespace-only lines between records, a last
record without its newline. The same seed gives the same bytes.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

from logwarden.shippers import registry
from logwarden.shippers.windows import synth

# folders of the sources' packages, found through the registry (golden lines live in testdata/)
LINE_SOURCES = registry.names(lambda s: s.line_oriented)
HEADERS = (b"<134>Apr 14 00:20:%02d fw-1 app: ", b"<134>1 2020-04-14T00:20:%02d.123Z fw-1 app - - - ", b"")
HOSTILE = (b"\x1b]8;;http://evil/\x07click\x1b]8;;\x07", b"\x1b[2J\x1b[H", b"\xe2\x80\xaeexe.txt", b"\x00\x00",
           b"\\ud800", b"{\"a\":" * 50, b"<script>alert(1)</script>", b"%ASA-6-302013:", b"CEF:0|", b"\r")
INVALID_UTF8 = (b"\xff\xfe\x80", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80")
BLANKS = (b"", b" ", b"\t", b"\r", b"  \t ")


def golden_lines() -> dict[str, list[bytes]]:
    """Every line source's golden lines (`testdata/test-*.log` beside its parser), by source."""
    import importlib

    pools: dict[str, list[bytes]] = {}
    for name in LINE_SOURCES:
        package = importlib.import_module(registry.source(name).package)
        folder = Path(str(package.__file__)).parent / "testdata"
        lines = [ln for log in sorted(folder.glob("test-*.log")) for ln in log.read_bytes().splitlines()
                 if ln.strip() and not ln.startswith(b"#")]
        if lines:
            pools[name] = lines
    return pools


def is_record(line: bytes) -> bool:
    """What every reader agrees is a record: no newline inside, one byte that is neither
    whitespace nor NUL (TCP framing strips NULs; a NUL-only line is padding, not a record)."""
    return b"\n" not in line and bool(line.strip(b" \t\r\n\x0b\x0c\x00"))


def _junk(rng: random.Random, size: int) -> bytes:
    return bytes(rng.choice(range(256)) for _ in range(size)).replace(b"\n", b"\x0b")


def text_records(seed: int, n: int, long_line: int = 3 * 1024 * 1024,
                 no_leading_digit: bool = False) -> list[bytes]:
    """n text records: about half good golden lines (with or without a syslog header), the rest
    mutated, random, invalid UTF-8, control characters, or long (two of `long_line` bytes, one
    of them a parsable iptables line, and a few of 10-60 KB). `no_leading_digit` for TCP newline
    framing, where a line starting with digits and a space reads as an RFC 6587 octet count."""
    rng = random.Random(seed)
    pools = golden_lines()
    names = sorted(pools)
    out: list[bytes] = []
    for i in range(n):
        base = rng.choice(pools[rng.choice(names)])
        kind = rng.random()
        if kind < 0.5:
            header = rng.choice(HEADERS)
            record = (header % (i % 60) if b"%" in header else header) + base if not base.startswith(b"<") else base
        elif kind < 0.65:  # a golden line with a slice replaced by junk
            a = rng.randrange(len(base) + 1)
            b = rng.randrange(a, len(base) + 1)
            record = base[:a] + rng.choice((_junk(rng, rng.randrange(1, 40)), rng.choice(HOSTILE))) + base[b:]
        elif kind < 0.75:
            record = _junk(rng, rng.randrange(1, 300))
        elif kind < 0.85:
            record = rng.choice(INVALID_UTF8) + base + rng.choice(INVALID_UTF8)
        elif kind < 0.93:
            record = base + rng.choice(HOSTILE) + base
        else:
            record = base + b" pad=" + b"A" * rng.randrange(10_000, 60_000)
        if not is_record(record):
            record = b"x" + record
        out.append(record)
    if n > 1 and long_line:  # one unrecognisable, one a golden line most parsers still accept
        out[rng.randrange(n // 2)] = b"long " + b"B" * long_line
        out[n // 2 + rng.randrange(n - n // 2)] = rng.choice(pools["iptables"]) + b" msg=" + b"B" * long_line
    if no_leading_digit:
        out = [b"x" + r if r[:1].isdigit() else r for r in out]
    assert all(is_record(r) for r in out)
    return out


def text_file(records: list[bytes], seed: int) -> bytes:
    """The records as a file: LF or CRLF per line, blank and whitespace-only lines between some,
    and (for odd seeds) no newline after the last record."""
    rng = random.Random(seed)
    parts: list[bytes] = []
    for record in records:
        if rng.random() < 0.05:
            parts.append(rng.choice(BLANKS) + b"\n")
        parts.append(record + rng.choice((b"\n", b"\r\n")))
    body = b"".join(parts)
    if seed % 2 and body:
        body = body.rstrip(b"\r\n")
    return body


T0 = datetime(2020, 4, 14, 0, 22, 1)


def _evtx_dump(n: int, user: str) -> dict[str, object]:
    """An evtx_dump JSON record (a 4625)."""
    return {"Event": {"System": {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}}, "EventID": 4625,
        "TimeCreated": {"#attributes": {"SystemTime": (T0 + timedelta(seconds=n)).isoformat() + ".0000000Z"}},
        "EventRecordID": n, "Channel": "Security", "Computer": "TAX-PROD"},
        "EventData": {"TargetUserName": user, "IpAddress": "203.0.113.7"}}}


def windows_json_lines(seed: int, n: int) -> tuple[bytes, int]:
    """(JSON-lines file, records in it): evtx_dump records, a quarter of them broken (truncated,
    not JSON, lone surrogates, 2,000 levels deep, GBK and invalid bytes, JSON that is no event),
    CRLF or LF, blank lines between some."""
    rng = random.Random(seed)
    lines: list[bytes] = []
    for i in range(1, n + 1):
        text = json.dumps(_evtx_dump(i, rng.choice(("bob", "管理员", "a\u202eexe"))), ensure_ascii=False)
        kind = rng.random()
        if kind < 0.75:
            line = text.encode()
        elif kind < 0.8:
            line = text.encode()[: rng.randrange(1, len(text))]
        elif kind < 0.84:
            line = text.replace('"bob"', '"b\\ud800ob"').encode()
        elif kind < 0.88:
            line = text.replace('"TAX-PROD"', '{"a":' * 2000 + "1" + "}" * 2000).encode()
        elif kind < 0.92:
            line = text.encode("gbk", errors="replace") + rng.choice(INVALID_UTF8)
        elif kind < 0.96:
            line = json.dumps([1, {"not": "an event"}]).encode()
        else:
            line = _junk(rng, rng.randrange(1, 200))
        if not line.strip():
            line = b"x" + line
        lines.append(line)
    body = b"".join(line + rng.choice((b"\n", b"\r\n")) + (b"\n" if rng.random() < 0.05 else b"") for line in lines)
    return body, n


def windows_xml(seed: int, n: int) -> tuple[bytes, int]:
    """(event XML export, <Event> elements in it): synth events, some with a NUL, a control
    character or an unparsable time or id in a field (Windows XML cannot carry them)."""
    rng = random.Random(seed)
    events: list[str] = []
    for i in range(1, n + 1):
        user = rng.choice(("bob", "管理员", "x\x00y", "esc\x1b[2J", "a\u202eexe"))
        xml = synth.security_4625("TAX-PROD", T0 + timedelta(seconds=i), i, target_user=user, ip="203.0.113.7")
        if rng.random() < 0.1:
            xml = xml.replace("<EventRecordID>", "<EventRecordID>x")
        events.append(xml)
    return synth.events(*events).encode(), n
