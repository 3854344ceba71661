"""Inputs: EVTX / XML / JSON lines detection, bad records as dead letters, resume, streaming."""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.windows import iter_file, iter_paths, parse_stream, synth
from tests.support.paths import need_shared

T0 = datetime(2020, 4, 13, 16, 22, 1, 123456)
HOST = "TAX-PROD"


def failed(n: int, user: str = "administrator") -> str:
    return synth.security_4625(HOST, T0 + timedelta(seconds=n), 1000 + n, target_user=user, ip="203.0.113.7",
                               port=str(50000 + n))


def parse(data: bytes | str, name: str = "input") -> list[Event | DeadLetter]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return list(parse_stream(name, io.BytesIO(raw)))


def events(items: list[Event | DeadLetter]) -> list[Event]:
    return [i for i in items if isinstance(i, Event)]


def dead(items: list[Event | DeadLetter]) -> list[DeadLetter]:
    return [i for i in items if isinstance(i, DeadLetter)]


# --- XML ------------------------------------------------------------------------------------------


def test_single_event_wrapper_and_concatenated_xml() -> None:
    one = parse(failed(1))
    wrapped = parse(synth.events(failed(1), failed(2), failed(3)))
    concatenated = parse("\r\n".join([failed(1), failed(2), failed(3)]))  # wevtutil qe /f:xml
    assert [len(events(x)) for x in (one, wrapped, concatenated)] == [1, 3, 3]
    assert [e.id for e in events(wrapped)] == [e.id for e in events(concatenated)]
    assert [e.position for e in wrapped] == [1, 2, 3]


def test_utf16_xml_export() -> None:
    text = synth.events(failed(1, "администратор"), failed(2)).replace('encoding="utf-8"', 'encoding="utf-16"')
    items = parse(text.encode("utf-16"))
    assert len(events(items)) == 2 and not dead(items)
    assert events(items)[0].doc["user"]["name"] == "администратор"


def test_truncated_xml_keeps_good_records() -> None:
    whole = synth.events(failed(1), failed(2), failed(3))
    cut = whole[: whole.index(failed(3)) + len(failed(3)) // 2]
    items = parse(cut)
    assert len(events(items)) == 2
    (dl,) = dead(items)
    assert "truncated XML" in dl.reason and dl.reason.startswith("line 5:") and dl.position == 3


def test_broken_event_in_the_middle() -> None:
    bad = failed(2).replace("<EventRecordID>", "<EventRecordID><oops>")
    items = parse("\n".join([failed(1), bad, failed(3)]))
    assert [type(i).__name__ for i in items] == ["Event", "DeadLetter", "Event"]
    assert items[1].reason.startswith("line 2: bad XML") and items[1].raw.startswith(b"<Event")
    unclosed = failed(2).removesuffix("</Event>")
    items = parse("\n".join([failed(1), unclosed, failed(3)]))
    assert [type(i).__name__ for i in items] == ["Event", "DeadLetter", "Event"]
    assert "not closed before the next <Event>" in items[1].reason


def test_nul_in_xml_is_a_dead_letter_not_a_crash() -> None:
    items = parse("\n".join([failed(1), failed(2, "a\x00b"), failed(3)]))
    assert len(events(items)) == 2 and "bad XML" in dead(items)[0].reason


def test_xml_without_system_is_a_dead_letter() -> None:
    items = parse('<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><EventData/></Event>')
    (dl,) = dead(items)
    assert "no System element" in dl.reason


def test_big_value_kept_whole() -> None:
    big = "A" * (1 << 20)
    (ev,) = parse(synth.events(failed(1, big)))
    assert isinstance(ev, Event) and ev.doc["winlog"]["event_data"]["TargetUserName"] == big


def test_rendering_info_message() -> None:
    xml = failed(1).replace("</Event>", "<RenderingInfo Culture='en-US'><Message>An account failed to log on."
                            "</Message><Level>Information</Level></RenderingInfo></Event>")
    (ev,) = parse(xml)
    assert ev.doc["message"] == "An account failed to log on."


# --- JSON lines -----------------------------------------------------------------------------------


def record_json(n: int) -> dict[str, Any]:
    return {"Event": {"#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
                      "System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing",
                                                              "Guid": "{54849625-5478-4994-a5ba-3e3b0328c30d}"}},
                                 "EventID": 4625, "Version": 0, "Level": 0, "Task": 12544, "Opcode": 0,
                                 "Keywords": "0x8010000000000000",
                                 "TimeCreated": {"#attributes": {"SystemTime": f"2020-04-13T16:22:0{n}.1234567Z"}},
                                 "EventRecordID": 1000 + n, "Correlation": None,
                                 "Execution": {"#attributes": {"ProcessID": 612, "ThreadID": 2964}},
                                 "Channel": "Security", "Computer": HOST, "Security": None},
                      "EventData": {"TargetUserName": "administrator", "IpAddress": "203.0.113.7",
                                    "IpPort": "5000", "LogonType": 10}}}


def test_bad_json_line_is_a_dead_letter_with_line_number() -> None:
    lines = [json.dumps(record_json(1)), "", "{not json", json.dumps({"hello": "world"}), json.dumps(record_json(2))]
    items = parse("\n".join(lines) + "\n")
    assert [type(i).__name__ for i in items] == ["Event", "DeadLetter", "DeadLetter", "Event"]
    assert items[1].reason.startswith("line 3: bad JSON") and items[1].raw == b"{not json"
    assert items[2].reason.startswith("line 4: JSON is neither")
    assert [i.position for i in items] == [1, 2, 3, 4]


def test_json_control_chars_kept() -> None:
    rec = record_json(1)
    rec["Event"]["EventData"]["TargetUserName"] = "a\x00b<script>"
    (ev,) = parse(json.dumps(rec))
    assert ev.doc["user"]["name"] == "a\x00b<script>"


def test_winlogbeat_document_is_renormalised_not_wrapped() -> None:
    (first,) = parse(failed(1))
    wlb = json.loads(json.dumps(first.doc))
    for key in ("source", "user", "related", "process"):
        wlb.pop(key)  # a raw Winlogbeat document without our enrichment
    wlb["winlog"].pop("logon")
    (again,) = parse(json.dumps(wlb) + "\n")
    assert isinstance(again, Event) and "Event" not in again.doc
    assert again.id == first.id
    first.doc["log"]["file"]["path"] = "input"
    assert again.doc == first.doc
    dotted = {"@timestamp": "2020-04-13T16:22:02.1234567Z", "winlog.channel": "Security", "winlog.event_id": "4625",
              "winlog.provider_name": "Microsoft-Windows-Security-Auditing", "winlog.computer_name": HOST,
              "winlog.record_id": "7", "winlog.event_data": {"IpAddress": "10.0.0.1"}}
    (ev,) = parse(json.dumps(dotted))
    assert ev.doc["source"]["ip"] == "10.0.0.1" and ev.doc["event"]["action"] == "logon-failed"


# --- the same record in every format --------------------------------------------------------------


def test_same_record_same_id_and_document_xml_json() -> None:
    rec = record_json(1)
    from_json = events(parse(json.dumps(rec)))[0]
    xml = synth.event(synth.SECURITY, 4625, HOST, "2020-04-13T16:22:01.1234567Z", 1001,
                      event_data={"TargetUserName": "administrator", "IpAddress": "203.0.113.7", "IpPort": "5000",
                                  "LogonType": "10"}, task=12544, keywords=synth.AUDIT_FAILURE)
    from_xml = events(parse(xml))[0]
    assert from_json.id == from_xml.id
    assert from_json.doc == from_xml.doc


@pytest.mark.shared
def test_same_record_same_id_and_document_evtx_xml_json(tmp_path: Path) -> None:
    import evtx

    path = need_shared("evtx/DeepBlueCLI/evtx/password-spray.evtx")
    from_evtx = list(iter_file(path, source="x"))
    xml = "\n".join(r["data"] for r in evtx.PyEvtxParser(str(path)).records())
    jsonl = "\n".join(json.dumps(json.loads(r["data"])) for r in evtx.PyEvtxParser(str(path)).records_json())
    from_xml, from_json = parse(xml, "x"), parse(jsonl, "x")
    assert len(from_evtx) == len(from_xml) == len(from_json) > 10
    for a, b, c in zip(from_evtx, from_xml, from_json, strict=True):
        assert isinstance(a, Event) and isinstance(b, Event) and isinstance(c, Event)
        assert a.id == b.id == c.id
        assert a.doc == b.doc == c.doc


# --- EVTX -----------------------------------------------------------------------------------------


def test_non_evtx_file_named_evtx(tmp_path: Path) -> None:
    p = tmp_path / "fake.evtx"
    p.write_bytes(b"MZ\x90\x00 this is not an event log" * 10)
    (dl,) = list(iter_file(p))
    assert isinstance(dl, DeadLetter) and dl.reason.startswith("not an EVTX file") and dl.position == 1
    empty = tmp_path / "empty.evtx"
    empty.write_bytes(b"")
    (dl,) = list(iter_file(empty))
    assert isinstance(dl, DeadLetter) and "not an EVTX file" in dl.reason


def test_truncated_evtx_header_is_a_dead_letter(tmp_path: Path) -> None:
    p = tmp_path / "short.evtx"
    p.write_bytes(b"ElfFile\x00" + b"\x00" * 100)
    items = list(iter_file(p))
    assert items and all(isinstance(i, DeadLetter) for i in items)


@pytest.mark.shared
def test_corrupt_evtx_good_records_and_dead_letters() -> None:
    path = need_shared("evtx/evtx-rs-samples/samples/sample_with_a_bad_chunk_magic.evtx")
    items = list(iter_file(path))
    assert len(events(items)) == 269
    lost = [d for d in dead(items) if d.reason.startswith("chunk")]
    assert len(lost) == len(dead(items)) - 1  # and one record without a time
    # chunks 1-5 are zeroed and chunk 6 has a bad magic, between records 46857 (chunk 0) and 47628 (chunk 7)
    assert sum("chunks 1-6 unreadable (bad header magic): records 46858-47627 lost" in d.reason for d in lost) == 770
    assert all(str(path) in d.raw.decode() for d in lost)
    assert [i.position for i in items] == list(range(1, len(items) + 1))


@pytest.mark.shared
def test_evtx_from_a_pipe_equals_evtx_from_the_file() -> None:
    path = need_shared("evtx/DeepBlueCLI/evtx/password-spray.evtx")

    class Pipe(io.RawIOBase):  # not seekable, short reads
        def __init__(self, data: bytes) -> None:
            self.data = memoryview(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            n = min(len(b), 1000, len(self.data))
            b[:n] = self.data[:n]
            self.data = self.data[n:]
            return n

    piped = list(parse_stream("-", io.BufferedReader(Pipe(path.read_bytes()))))  # type: ignore[arg-type]
    direct = list(iter_file(path, source="-"))
    assert [e.id for e in piped] == [e.id for e in direct] and len(piped) > 10


# --- resume / skip --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["xml", "jsonl"])
def test_skip_is_exact_including_dead_letters(tmp_path: Path, kind: str) -> None:
    if kind == "xml":
        body = "\n".join([failed(1), failed(2).replace("<Channel>", "<Channel><x>"), failed(3), failed(4)])
    else:
        body = "\n".join([json.dumps(record_json(1)), "{bad", json.dumps(record_json(3)), json.dumps(record_json(4))])
    p = tmp_path / f"in.{kind}"
    p.write_text(body, encoding="utf-8")
    full = list(iter_file(p))
    assert [type(i).__name__ for i in full] == ["Event", "DeadLetter", "Event", "Event"]
    for skip in range(6):
        rest = list(iter_file(p, skip=skip))
        assert [i.position for i in rest] == [i.position for i in full][skip:]
        assert [getattr(i, "id", None) for i in rest] == [getattr(i, "id", None) for i in full][skip:]


@pytest.mark.shared
def test_skip_on_corrupt_evtx() -> None:
    path = need_shared("evtx/evtx-rs-samples/samples/sysmon.evtx")
    full = list(iter_file(path))
    for skip in (0, 1, 100, len(full) - 1, len(full), len(full) + 5):
        rest = list(iter_file(path, skip=skip))
        assert [i.position for i in rest] == [i.position for i in full][skip:]


# --- files and folders ----------------------------------------------------------------------------


def test_iter_paths(tmp_path: Path) -> None:
    (tmp_path / "b" / "c").mkdir(parents=True)
    for name in ("a.evtx", "b/x.XML", "b/c/y.jsonl", "b/c/z.ndjson", "b/c/w.json", "b/readme.txt", "b/c/q.log"):
        (tmp_path / name).write_text("x")
    found = list(iter_paths([tmp_path]))
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a.evtx", "b/c/w.json", "b/c/y.jsonl", "b/c/z.ndjson", "b/x.XML"]
    assert list(iter_paths([tmp_path / "a.evtx", tmp_path, tmp_path / "missing.evtx"]))[0] == tmp_path / "a.evtx"
    assert len(list(iter_paths([tmp_path / "a.evtx", tmp_path]))) == 5


def test_unreadable_path_is_a_dead_letter(tmp_path: Path) -> None:
    (dl,) = list(iter_file(tmp_path / "nope.evtx"))
    assert isinstance(dl, DeadLetter) and "cannot open" in dl.reason


# --- streaming: bounded memory --------------------------------------------------------------------


class Generated(io.RawIOBase):
    """A big input produced on the fly (never held in memory)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self.pending:
            try:
                self.pending = next(self.chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self.pending))
        b[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


@pytest.mark.parametrize("kind", ["xml", "jsonl"])
def test_streaming_memory_is_bounded(kind: str) -> None:
    n = 8_000 if kind == "xml" else 20_000
    one = failed(1).encode() if kind == "xml" else json.dumps(record_json(1)).encode()

    def chunks() -> Iterator[bytes]:
        if kind == "xml":
            yield b'<?xml version="1.0" encoding="utf-8"?>\n<Events>\n'
        for _ in range(n):
            yield one + b"\n"
        if kind == "xml":
            yield b"</Events>\n"

    total = n * (len(one) + 1)
    tracemalloc.start()
    count = 0
    for item in parse_stream("big", io.BufferedReader(Generated(chunks()), 1 << 16)):  # type: ignore[arg-type]
        assert isinstance(item, Event)
        count += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == n
    assert total > 10 << 20 and peak < 8 << 20, (total, peak)


def test_read_error_mid_stream_ends_with_a_dead_letter() -> None:
    class Failing(io.RawIOBase):
        def __init__(self) -> None:
            self.sent = False

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            if self.sent:
                raise OSError("disk went away")
            data = (json.dumps(record_json(1)) + "\n").encode()
            b[: len(data)] = data
            self.sent = True
            return len(data)

    items = list(parse_stream("flaky", io.BufferedReader(Failing())))  # type: ignore[arg-type]
    assert [type(i).__name__ for i in items] == ["Event", "DeadLetter"]
    assert "disk went away" in items[1].reason and items[1].position == 2
