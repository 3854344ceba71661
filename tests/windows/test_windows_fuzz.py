"""Property-based fuzzing of the three Windows entry points (event XML, JSON lines, EVTX bytes):
whatever the input, no exception escapes, positions run 1..N, and every record is accounted for
(records in = events + dead letters; for EVTX, nothing the file promised goes missing silently).

Bounded to a few seconds per run (fixed example counts, no example database written;
LOGWARDEN_FUZZ_EXAMPLES=N runs N random examples per entry point instead). Crashers
found this way are kept as explicit cases in test_windows_hostile.py / test_windows_evtx_damage.py.
"""

from __future__ import annotations

import io
import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.windows import iter_file, parse_stream, synth
from logwarden.shippers.windows.evtx_layout import CHUNK_SIZE, FILE_HEADER_SIZE
from tests.support.paths import need_shared

T0 = datetime(2020, 4, 14, 0, 22, 1)
# LOGWARDEN_FUZZ_EXAMPLES=2000 runs a longer, random (not derandomized) campaign
LONG_RUN = int(os.environ.get("LOGWARDEN_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=LONG_RUN or 60, deadline=None, database=None, derandomize=not LONG_RUN,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# text that can be encoded in every codec tried (no surrogates), and that cannot open or close an event
safe_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40).filter(lambda t: "Event" not in t)


def accounted(items: list[Event | DeadLetter]) -> tuple[int, int]:
    assert [i.position for i in items] == list(range(1, len(items) + 1))
    for item in items:
        if isinstance(item, Event):
            json.dumps(item.doc, ensure_ascii=False).encode("utf-8")  # what Kafka/Elasticsearch get
        else:
            item.to_doc()
    events = sum(isinstance(i, Event) for i in items)
    return events, len(items) - events


# --- event XML -----------------------------------------------------------------------------------

damage_kinds = st.sampled_from(["none", "none", "truncate", "garbage", "deep", "bad-id", "bad-time"])


@st.composite
def xml_event(draw: st.DrawFn, n: int) -> str:
    user, host, cmd = draw(safe_text), draw(safe_text), draw(safe_text)
    xml = synth.security_4625(host or "H", T0 + timedelta(seconds=n), n, target_user=user, ip=cmd, port="1")
    kind = draw(damage_kinds)
    body_at = xml.index("<System>")
    if kind == "truncate":  # cut, without leaving half a tag (which could read as a new "<Event")
        cut = xml[: draw(st.integers(body_at, len(xml) - len("</Event>") - 1))]
        return cut if cut.rfind("<") < cut.rfind(">") else cut[: cut.rfind("<")]
    if kind == "garbage":
        at = draw(st.integers(body_at, len(xml) - len("</Event>")))
        return xml[:at] + draw(safe_text.map(lambda t: t + "<")) + xml[at:]
    if kind == "deep":
        depth = draw(st.integers(1, 3000))
        return xml.replace("<EventData>", "<EventData>" + "<x>" * depth + "</x>" * depth)
    if kind == "bad-id":
        return xml.replace("<EventID>4625<", f"<EventID>{draw(safe_text).replace('<', '')}<".replace("&", ""))
    if kind == "bad-time":
        return xml.replace('SystemTime="', f'SystemTime="{draw(safe_text)}'.replace('"', "").replace("&", "")
                           .replace("<", "") + '"', 1).replace('""', '"', 1)
    return xml


@FUZZ
@given(data=st.data(), count=st.integers(0, 8), wrapped=st.booleans(),
       codec=st.sampled_from(["utf-8", "utf-16", "utf-16-le", "utf-16-be", "gb18030"]))
def test_fuzz_event_xml(data: st.DataObject, count: int, wrapped: bool, codec: str) -> None:
    events = [data.draw(xml_event(n)) for n in range(1, count + 1)]
    text = "\n".join(events)
    if wrapped:
        text = "<Events>\n" + text + "\n</Events>\n"
    items = list(parse_stream("fuzz.xml", io.BytesIO(text.encode(codec))))
    good, dead = accounted(items)
    assert good + dead == (count or (0 if wrapped else 1))  # no input at all is one "empty input"


# --- JSON lines ----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12)


@st.composite
def json_line(draw: st.DrawFn, n: int) -> str:
    rec = {"Event": {"System": {
        "Provider": {"#attributes": {"Name": draw(st.sampled_from(["Microsoft-Windows-Security-Auditing",
                                                                    "Microsoft-Windows-Sysmon"]))}},
        "EventID": draw(st.sampled_from([4625, 4688, 1, "4624", None]) | json_values),
        "TimeCreated": {"#attributes": {"SystemTime": draw(st.sampled_from(["2020-04-14T00:22:01Z", ""]))}},
        "EventRecordID": n, "Channel": draw(st.sampled_from(["Security", "Microsoft-Windows-Sysmon/Operational"])),
        "Computer": draw(st.text(max_size=10))},
        "EventData": draw(st.dictionaries(st.sampled_from(["Image", "CommandLine", "TargetUserName", "NewProcessName",
                                                           "ProcessId", "IpAddress", "Hashes", "ParentImage"]),
                                          json_values, max_size=6) | json_values)}}
    kind = draw(st.sampled_from(["none", "none", "winlogbeat", "surrogate", "truncate", "deep", "not-json"]))
    line = json.dumps(rec)
    if kind == "winlogbeat":
        line = json.dumps({"winlog": draw(json_values), "@timestamp": draw(json_values)})
    elif kind == "surrogate":
        line = line.replace('"Computer": "', '"Computer": "' + draw(st.sampled_from(["\\ud800", "\\udfff", "\\udc80"])))
    elif kind == "truncate":
        line = line[: draw(st.integers(1, len(line) - 1))]
    elif kind == "deep":
        depth = draw(st.integers(1, 5000))
        line = line.replace('"EventRecordID"', '"Deep": ' + "[" * depth + "]" * depth + ', "EventRecordID"')
    elif kind == "not-json":
        line = draw(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"),
                            min_size=1, max_size=30).filter(str.strip))
    return line


@FUZZ
@given(data=st.data(), count=st.integers(0, 8), codec=st.sampled_from(["utf-8", "utf-16", "utf-16-le", "gb18030"]))
def test_fuzz_json_lines(data: st.DataObject, count: int, codec: str) -> None:
    lines = [data.draw(json_line(n)) for n in range(1, count + 1)]
    raw = "".join(line + "\n" for line in lines).encode(codec)
    items = list(parse_stream("fuzz.jsonl", io.BytesIO(raw)))
    good, dead = accounted(items)
    if not lines or not lines[0].lstrip().startswith("{"):  # empty or not JSON: the input is one dead letter
        assert (good, dead) == (0, 1)
    else:
        assert good + dead == count


# --- EVTX bytes ----------------------------------------------------------------------------------

EVTX_SAMPLE = "evtx/evtx-rs-samples/samples/Security_with_size_t.evtx"
EVTX_RECORDS = 636
EVTX_USED = FILE_HEADER_SIZE + 6 * CHUNK_SIZE  # chunks 0-5 hold the records, 6-16 are zeros


@st.composite
def evtx_damage(draw: st.DrawFn) -> list[tuple[str, int, int]]:
    steps = st.one_of(
        st.tuples(st.just("byte"), st.integers(8, EVTX_USED - 1), st.integers(0, 255)),  # past the file magic
        st.tuples(st.just("zero-chunk"), st.integers(0, 5), st.just(0)),
        st.tuples(st.just("truncate"), st.integers(FILE_HEADER_SIZE, EVTX_USED), st.just(0)),
    )
    return draw(st.lists(steps, min_size=1, max_size=12))


@pytest.mark.shared
@settings(FUZZ, max_examples=LONG_RUN or 25)
@given(damage=evtx_damage())
def test_fuzz_evtx_bytes(damage: list[tuple[str, int, int]], tmp_path_factory: pytest.TempPathFactory) -> None:
    data = bytearray(need_shared(EVTX_SAMPLE).read_bytes())
    for kind, where, value in damage:
        if kind == "byte" and where < len(data):
            data[where] = value
        elif kind == "zero-chunk":
            at = FILE_HEADER_SIZE + where * CHUNK_SIZE
            data[at: at + CHUNK_SIZE] = bytes(len(data[at: at + CHUNK_SIZE]))
        elif kind == "truncate":
            del data[where:]
    path: Path = tmp_path_factory.mktemp("evtx") / "fuzzed.evtx"
    path.write_bytes(bytes(data))
    items = list(iter_file(path))
    good, dead = accounted(items)
    reasons = sorted({d.reason for d in items if isinstance(d, DeadLetter)})
    # a damaged record id can add an event (the wrong id) and a dead letter (the id it should have had);
    # where no header bounds the loss (e.g. chunk 0 zeroed), one dead letter says so
    assert good + dead >= EVTX_RECORDS or any("how many is unknown" in r or "not an EVTX file" in r
                                              for r in reasons), reasons
