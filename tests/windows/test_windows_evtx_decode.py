"""Reading pyevtx-rs's JSON text with orjson (stream.decode_evtx_json): the same records as the
standard library gave, and what orjson refuses still read, repaired or dead-lettered as before."""

from __future__ import annotations

import json
import warnings

import pytest
from evtx import PyEvtxParser

from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.windows import iter_paths
from logwarden.shippers.windows.stream import decode_evtx_json, records
from logwarden.shippers.windows.untrusted import FLAG_SURROGATES, TooDeep
from tests.support.paths import need_shared


def record_text(user: object = "bob") -> str:
    rec = {"Event": {"System": {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}}, "EventID": 4625,
        "TimeCreated": {"#attributes": {"SystemTime": "2020-04-14T00:22:01.0000000Z"}},
        "EventRecordID": 7, "Channel": "Security", "Computer": "TAX-PROD"},
        "EventData": {"TargetUserName": user, "IpAddress": "203.0.113.7"}}}
    return json.dumps(rec, ensure_ascii=False)


@pytest.mark.shared
def test_every_shared_record_decodes_as_the_standard_library_reads_it() -> None:
    compared = 0
    for path in iter_paths([need_shared("evtx")]):
        if path.suffix.lower() != ".evtx":
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for raw in PyEvtxParser(str(path), skip_errors=True).records_json():
                assert raw is not None
                text = raw["data"]
                rec, flags = decode_evtx_json(text)
                expected = json.loads(text)
                assert rec == expected and flags is None
                # equal values of other types would differ in the document (1 == 1.0 == True)
                assert json.dumps(rec, sort_keys=True) == json.dumps(expected, sort_keys=True)
                compared += 1
    assert compared > 30_000


def test_plain_record_is_read_without_flags() -> None:
    rec, flags = decode_evtx_json(record_text())
    assert rec == json.loads(record_text()) and flags is None


@pytest.mark.parametrize("escape", ["\\ud800", "\\udc80"])
def test_lone_surrogate_escape_falls_back_and_is_flagged(escape: str) -> None:
    text = record_text().replace('"bob"', f'"b{escape}ob"')  # orjson refuses it
    rec, flags = decode_evtx_json(text)
    assert rec["Event"]["EventData"]["TargetUserName"] == "b\ufffdob" and flags == [FLAG_SURROGATES]


def test_lone_surrogate_character_falls_back_and_is_flagged() -> None:
    rec, flags = decode_evtx_json(record_text("b\udc80ob"))  # a str orjson cannot even take as UTF-8
    assert rec["Event"]["EventData"]["TargetUserName"] == "b\ufffdob" and flags == [FLAG_SURROGATES]


@pytest.mark.parametrize("depth", [65, 2_000])  # within orjson's own limit (1024), and beyond it
def test_too_deep_record_is_refused_either_way(depth: int) -> None:
    text = record_text().replace('"bob"', '{"a":' * depth + "1" + "}" * depth)
    with pytest.raises((TooDeep, RecursionError)):
        decode_evtx_json(text)
    good, deep = records([record_text(), text], "x.evtx")
    assert isinstance(good, Event) and isinstance(deep, DeadLetter)
    assert deep.reason.startswith("record not normalised") and deep.raw == text.encode()


def test_what_only_the_standard_library_reads_is_still_read() -> None:
    text = record_text().replace('"bob"', "NaN")  # not JSON, but json.loads took it before
    rec, flags = decode_evtx_json(text)
    value = rec["Event"]["EventData"]["TargetUserName"]
    assert value != value and flags is None  # NaN
