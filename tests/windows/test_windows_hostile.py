"""Hostile and unusual Windows input (issue 7): every record is an event or a dead letter with a
reason, nothing crashes, and what a person or a server later sees is valid text.

Each test failed before its fix: the input produced nothing, or ended the file, or crashed."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from logwarden.cli import main
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.windows import parse_stream, synth

T0 = datetime(2020, 4, 14, 0, 22, 1)
HOST = "TAX-PROD"
EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"


def failed(n: int, user: str = "administrator", host: str = HOST) -> str:
    return synth.security_4625(host, T0 + timedelta(seconds=n), 1000 + n, target_user=user, ip="203.0.113.7",
                               port=str(50000 + n))


def parse(data: bytes) -> list[Any]:  # Event | DeadLetter; tests pick by position
    items = list(parse_stream("input", io.BytesIO(data)))
    assert [i.position for i in items] == list(range(1, len(items) + 1))
    return items


def kinds(items: list[Event | DeadLetter]) -> list[str]:
    return [type(i).__name__ for i in items]


def record(n: int, user: str = "bob") -> dict:
    """An evtx_dump JSON record (one line of JSON-lines input)."""
    return {"Event": {"System": {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}}, "EventID": 4625,
        "TimeCreated": {"#attributes": {"SystemTime": f"2020-04-14T00:22:{n:02d}.0000000Z"}},
        "EventRecordID": n, "Channel": "Security", "Computer": HOST},
        "EventData": {"TargetUserName": user, "IpAddress": "203.0.113.7"}}}


def lines(*records: dict | str) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\r\n" for r in records)


# --- encodings and namespaces --------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_json_lines_in_utf16(codec: str) -> None:
    items = parse(lines(record(1, "администратор"), record(2)).encode(codec))
    assert kinds(items) == ["Event", "Event"]
    assert items[0].doc["user"]["name"] == "администратор"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_xml_in_utf16_without_bom(codec: str) -> None:
    text = synth.events(failed(1, "администратор"), failed(2)).replace('encoding="utf-8"', 'encoding="utf-16"')
    items = parse(text.encode(codec))
    assert kinds(items) == ["Event", "Event"]
    assert items[0].doc["user"]["name"] == "администратор"


def prefixed(xml: str, prefix: str = "evt") -> str:
    """The same event with every element in a prefixed namespace (`<evt:Event xmlns:evt=...>`)."""
    xml = re.sub(r"<(/?)([A-Za-z])", rf"<\1{prefix}:\2", xml)
    return xml.replace(f' xmlns="{EVENT_NS}"', "").replace(f"<{prefix}:Event>",
                                                             f'<{prefix}:Event xmlns:{prefix}="{EVENT_NS}">', 1)


def test_namespace_prefixed_events_equal_plain_ones() -> None:
    plain = parse(synth.events(failed(1), failed(2)).encode())
    items = parse(("\n".join([prefixed(failed(1)), prefixed(failed(2))])).encode())
    assert kinds(items) == ["Event", "Event"]
    assert [i.doc for i in items] == [i.doc for i in plain] and [i.id for i in items] == [i.id for i in plain]


def test_prefix_declared_on_the_wrapper_only() -> None:
    body = "\n".join(prefixed(failed(n)).replace(f' xmlns:evt="{EVENT_NS}"', "") for n in (1, 2))
    items = parse(f'<evt:Events xmlns:evt="{EVENT_NS}">\n{body}\n</evt:Events>'.encode())
    assert kinds(items) == ["Event", "Event"]
    assert items[1].doc["winlog"]["record_id"] == "1002"


def test_gbk_xml_without_declaration_falls_back_to_gb18030() -> None:
    """Chinese host and user names, as on the incident's tax servers (税务服务器), written in GBK."""
    xml = "\n".join([failed(1, "管理员", "税务服务器"), failed(2, "administrator")]).encode("gbk")
    items = parse(xml)
    assert kinds(items) == ["Event", "Event"]
    assert items[0].doc["host"]["name"] == "税务服务器" and items[0].doc["user"]["name"] == "管理员"
    assert "\ufffd" not in json.dumps(items[0].doc, ensure_ascii=False)
    assert items[1].doc["user"]["name"] == "administrator"


def test_gbk_json_lines_fall_back_to_gb18030() -> None:
    items = parse(lines(record(1, "管理员")).encode("gbk"))
    assert kinds(items) == ["Event"] and items[0].doc["user"]["name"] == "管理员"


def test_event_neither_utf8_nor_gb18030_is_a_dead_letter() -> None:
    bad = failed(2).replace("administrator", "adm\xff").encode("latin-1").replace(b"\xff", b"\xff\xff")
    items = parse(failed(1).encode() + b"\n" + bad + b"\n" + failed(3).encode())
    assert kinds(items) == ["Event", "DeadLetter", "Event"]
    assert items[1].reason == "line 2: not UTF-8 or GB18030" and b"\xff\xff" in items[1].raw


def test_declared_encoding_is_honoured() -> None:
    text = synth.events(failed(1, "管理员")).replace('encoding="utf-8"', 'encoding="gb2312"')
    assert parse(text.encode("gb2312"))[0].doc["user"]["name"] == "管理员"


# --- nesting -------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100, 1_000, 100_000])
def test_deep_xml_event_is_one_dead_letter(depth: int) -> None:
    deep = failed(2).replace("<EventData>", "<EventData>" + "<a>" * depth + "</a>" * depth)
    items = parse("\n".join([failed(1), deep, failed(3)]).encode())
    assert kinds(items) == ["Event", "DeadLetter", "Event"]
    assert items[1].reason == "line 2: event nested deeper than 64 elements"


@pytest.mark.parametrize("depth", [100, 1_000, 100_000])
def test_deep_json_record_is_one_dead_letter(depth: int) -> None:
    deep = json.dumps(record(2)).replace('"bob"', '{"a":' * depth + "1" + "}" * depth)
    items = parse(lines(record(1), deep, record(3)).encode())
    assert kinds(items) == ["Event", "DeadLetter", "Event"]
    assert items[1].reason == "line 2: record nested deeper than 64 levels"


def test_nesting_within_the_limit_is_kept() -> None:
    nested = json.dumps(record(1)).replace('"bob"', '{"a":' * 40 + '"x"' + "}" * 40)
    (item,) = parse(lines(nested).encode())
    assert isinstance(item, Event) and item.doc["winlog"]["event_data"]["TargetUserName"].startswith('{"a":')


def test_hunt_survives_deep_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = json.dumps(record(2)).replace('"bob"', '{"a":' * 1000 + "1" + "}" * 1000)
    path = tmp_path / "deep.jsonl"
    path.write_text(lines(record(1), deep, record(3)), encoding="utf-8")
    code = main(["hunt", str(path), "--format", "jsonl"])
    err = capsys.readouterr().err
    assert code in (0, 1) and "Traceback" not in err
    assert "2 events, 1 unreadable" in err  # before: the deep record ended the file


# --- lone surrogates -----------------------------------------------------------------------------


@pytest.mark.parametrize("escape", ["\\ud800", "\\udc80", "\\uDFFF"])
def test_lone_surrogate_in_json_is_replaced_and_flagged(escape: str) -> None:
    line = json.dumps(record(1)).replace('"bob"', f'"b{escape}ob"')
    items = parse(lines(line, record(2)).encode())
    assert kinds(items) == ["Event", "Event"]
    doc = items[0].doc
    assert doc["user"]["name"] == "b\ufffdob" and doc["log"]["flags"] == ["lone-surrogate-replaced"]
    json.dumps(doc, ensure_ascii=False).encode("utf-8")  # what Kafka and Elasticsearch receive
    assert "flags" not in items[1].doc["log"]


def test_surrogate_pair_is_not_touched() -> None:
    line = json.dumps(record(1)).replace('"bob"', '"b\\ud83d\\ude00b"')
    (item,) = parse(lines(line).encode())
    assert item.doc["user"]["name"] == "b\U0001f600b" and "flags" not in item.doc["log"]


def test_input_cannot_set_the_repair_flag() -> None:
    line = dict(record(1), **{"logwarden.flags": ["lone-surrogate-replaced"]})
    (item,) = parse(lines(line).encode())
    assert "flags" not in item.doc["log"]


def test_lone_surrogate_from_evtx_json_is_replaced_and_flagged() -> None:
    from logwarden.shippers.windows.stream import records

    text = json.dumps(record(1)).replace('"bob"', '"b\\udc80ob"')
    (item,) = records([text], "x.evtx")
    assert isinstance(item, Event) and item.doc["log"]["flags"] == ["lone-surrogate-replaced"]


def test_lone_surrogate_in_a_record_that_fails_is_a_dead_letter() -> None:
    from logwarden.shippers.windows.stream import records

    bad = {"Event": {"System": {"EventID": "x\ud800"}}}
    (item,) = records([bad], "x.jsonl")
    assert isinstance(item, DeadLetter) and item.reason.startswith("record not normalised")
    item.to_doc()


def test_parse_and_hunt_survive_lone_surrogates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(lines(json.dumps(record(1)).replace('"bob"', '"\\ud800"'), record(2)), encoding="utf-8")
    assert main(["parse", "--source", "windows", str(path)]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 2 and "lone-surrogate-replaced" in out
    assert main(["hunt", str(path), "--format", "jsonl"]) in (0, 1)
    err = capsys.readouterr().err
    assert "Traceback" not in err and "2 events, 0 unreadable" in err


# --- records with fields missing -----------------------------------------------------------------


def test_4688_without_new_process_name_keeps_the_command_line() -> None:
    xml = synth.security_4688(HOST, T0, 7, new_process_name="C:\\Windows\\System32\\vssadmin.exe",
                              command_line="vssadmin delete shadows /all /quiet",
                              parent_process_name="C:\\Windows\\System32\\cmd.exe")
    xml = re.sub(r'<Data Name="NewProcess(Name|Id)">[^<]*</Data>', "", xml)
    (item,) = parse(xml.encode())
    assert isinstance(item, Event), item
    assert item.doc["process"]["command_line"] == "vssadmin delete shadows /all /quiet"
    assert item.doc["process"]["parent"]["name"] == "cmd.exe" and "executable" not in item.doc["process"]


def test_sysmon_1_without_image_keeps_the_process_fields() -> None:
    xml = synth.sysmon_1(HOST, T0, 8, image="C:\\Windows\\System32\\wbem\\WMIC.exe",
                         command_line="wmic shadowcopy delete", parent_image="C:\\Windows\\System32\\cmd.exe",
                         user="TAX-PROD\\Administrator")
    xml = re.sub(r'<Data Name="(Image|ProcessId|ParentImage|ParentProcessId)">[^<]*</Data>', "", xml)
    (item,) = parse(xml.encode())
    assert isinstance(item, Event), item
    proc = item.doc["process"]
    assert proc["command_line"] == "wmic shadowcopy delete" and proc["hash"]["md5"].endswith("1")
    assert proc["pe"]["original_file_name"] == "WMIC.exe" and proc["parent"]["command_line"].endswith("cmd.exe")


# --- never silently nothing ----------------------------------------------------------------------


def test_xml_without_any_event_is_one_dead_letter() -> None:
    """The namespace and UTF-16 cases produced nothing at all: an XML input that holds elements but
    no <Event> now always says so."""
    items = parse(b'<?xml version="1.0"?>\n<Records>\n  <Record id="1"><Data>x</Data></Record>\n</Records>\n')
    assert kinds(items) == ["DeadLetter"]
    assert items[0].reason.startswith("line 2: no <Event> element in this XML (first element: '<Records>")
    assert items[0].raw.startswith(b"<Records>")


@pytest.mark.parametrize("text", ['<?xml version="1.0"?>\n<Events>\n</Events>\n', "<Events/>", "<!-- nothing -->"])
def test_empty_event_export_is_not_a_dead_letter(text: str) -> None:
    assert parse(text.encode()) == []
