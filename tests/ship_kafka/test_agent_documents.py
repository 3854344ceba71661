"""Agent documents (Winlogbeat 8/9, Elastic Agent) -> logwarden events, without servers: the same
document and id as `ship evtx` makes from the event's XML, one dead letter per message that is
not a Windows event, and the rules firing on what comes out."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from logwarden.consume import Outage, StopFlag
from logwarden.detection.compiler import load_ruleset
from logwarden.detection.engine import Detector, run_batch
from logwarden.shippers.agent_documents import ADAPTERS, message_source, windows_document
from logwarden.shippers.agent_relay import AgentRelay
from logwarden.shippers.base import DeadLetter, Event, ListSink
from logwarden.shippers.windows import iter_file
from tests.ship_kafka.samples import (
    BAD_MESSAGES,
    NAMES,
    elastic_agent,
    encoded,
    failed_logon_burst,
    winlogbeat,
    xml_path,
)

SOURCE = message_source("soc.winlogbeat", 1, 42)


def from_xml_file(name: str) -> Event:
    """What `ship evtx` makes of the event's XML export (without the file path it adds)."""
    [event] = list(iter_file(xml_path(name)))
    assert isinstance(event, Event)
    event.doc["log"].pop("file")
    return event


def converted(doc: dict[str, Any] | bytes) -> Event:
    result = windows_document(doc if isinstance(doc, bytes) else encoded(doc), SOURCE)
    assert isinstance(result.item, Event), getattr(result.item, "reason", "")
    return result.item


def test_the_six_sample_events_exist() -> None:
    assert len(NAMES) == 6
    codes = {from_xml_file(n).doc["event"]["code"] for n in NAMES}
    assert codes == {"4624", "4625", "4688", "7045", "1102", "1"}


@pytest.mark.parametrize("name", NAMES)
def test_winlogbeat_with_event_original_is_the_xml_routes_document_and_id(name: str) -> None:
    expected = from_xml_file(name)
    result = windows_document(encoded(winlogbeat(name, include_xml=True)), SOURCE)
    assert result.from_xml
    assert isinstance(result.item, Event)
    assert result.item.id == expected.id
    assert result.item.doc == expected.doc
    assert result.item.key == expected.key == "TAX-PROD"
    assert result.item.dataset == "windows"


@pytest.mark.parametrize("name", NAMES)
def test_elastic_agent_document_is_the_xml_routes_document_and_id(name: str) -> None:
    expected = from_xml_file(name)
    event = converted(elastic_agent(name))
    assert (event.id, event.doc) == (expected.id, expected.doc)


@pytest.mark.parametrize("name", NAMES)
def test_winlogbeat_without_xml_is_the_same_event_with_millisecond_time(name: str) -> None:
    """Winlogbeat's JSON codec writes times as yyyy-MM-ddTHH:mm:ss.SSSZ: the rest of the document
    is the XML route's and only the @timestamp loses its sub-millisecond digits; the id hashes the
    time cut to milliseconds (normalise.id_time), so both routes give one id: indexed once."""
    expected = from_xml_file(name)
    event = converted(winlogbeat(name))
    full = expected.doc["@timestamp"]
    assert event.doc["@timestamp"] == full[:23] + "0000Z" != full
    agent = copy.deepcopy({**event.doc, "@timestamp": full})
    xml = copy.deepcopy(expected.doc)
    # the agent resolved the SID on the host (winlog.user.name/domain/type); the XML holds the SID only
    assert agent["winlog"].pop("user", {}).items() >= xml["winlog"].pop("user", {}).items()
    assert agent == xml
    assert event.id == expected.id


def test_dotted_and_pretty_printed_documents_are_read_too() -> None:
    doc = winlogbeat("4688_vssadmin_delete_shadows")
    dotted = {f"winlog.{k}": v for k, v in doc.pop("winlog").items()} | doc
    assert converted(dotted).doc == converted(winlogbeat("4688_vssadmin_delete_shadows")).doc
    pretty = json.dumps(winlogbeat("4688_vssadmin_delete_shadows", include_xml=True), indent=2).encode()
    assert b"\n" in pretty
    assert converted(pretty).id == from_xml_file("4688_vssadmin_delete_shadows").id


def test_unusable_event_original_falls_back_to_the_winlog_fields() -> None:
    for original in ("<Event><System><EventID>4688", "<Event/><Event/>", "not xml at all"):
        doc = winlogbeat("4688_vssadmin_delete_shadows")
        doc["event"]["original"] = original
        result = windows_document(encoded(doc), SOURCE)
        assert not result.from_xml
        assert isinstance(result.item, Event)
        assert result.item.doc == converted(winlogbeat("4688_vssadmin_delete_shadows")).doc


@pytest.mark.parametrize(("value", "reason"), BAD_MESSAGES, ids=[r for _, r in BAD_MESSAGES])
def test_a_message_that_is_not_a_windows_event_is_one_dead_letter(value: bytes, reason: str) -> None:
    dead = windows_document(value, SOURCE).item
    assert isinstance(dead, DeadLetter)
    assert dead.reason.startswith(reason), dead.reason
    assert (dead.source, dead.raw, dead.dataset) == (SOURCE, value, "windows")
    # read again (a redelivery), it is the same dead letter; another offset is another one
    assert windows_document(value, SOURCE).item.id == dead.id
    assert windows_document(value, message_source("soc.winlogbeat", 1, 43)).item.id != dead.id


def test_ship_kafka_knows_windows_only() -> None:
    assert set(ADAPTERS) == {"windows"}


class _Message:
    def __init__(self, value: bytes, offset: int) -> None:
        self.topic, self.partition, self.offset, self.value = "soc.winlogbeat", 0, offset, value


def test_relay_counts_every_message_once_delivered() -> None:
    values = [encoded(winlogbeat(n, include_xml=True)) for n in NAMES]
    values += [encoded(d) for d in failed_logon_burst(3)] + [v for v, _ in BAD_MESSAGES]
    sink = ListSink()
    relay = AgentRelay(windows_document, sink, Outage("Kafka", StopFlag()))
    relay.handle([_Message(v, i) for i, v in enumerate(values)])
    assert (len(sink.events), len(sink.dead)) == (len(NAMES) + 3, len(BAD_MESSAGES))
    stats = relay.stats.as_dict()
    assert (stats["produced"], stats["dead_letters"], stats["from_original_xml"]) == (9, len(BAD_MESSAGES), 6)
    assert sum(stats["reasons"].values()) == len(BAD_MESSAGES)
    assert [d.source for d in sink.dead] == [f"kafka:soc.winlogbeat/0@{i}" for i in range(9, len(values))]


def test_the_rules_fire_on_what_ship_kafka_produces() -> None:
    """The incident's steps, as they arrive from Winlogbeat: a brute force then an RDP logon from
    an internet address, shadow copies and the Security log destroyed, the miner service."""
    docs = [winlogbeat(n, include_xml=True) for n in NAMES] + failed_logon_burst(24)
    events = [converted(d) for d in docs]
    alerts = run_batch(Detector(load_ruleset()), sorted(((e.id, e.doc) for e in events),
                                                        key=lambda pair: (pair[1]["@timestamp"], pair[0])))
    fired = {a["rule"]["name"] for a in alerts}
    assert fired >= EXPECTED_RULES, EXPECTED_RULES - fired


EXPECTED_RULES = {
    "Logon Brute Force From One Source",
    "Brute Force Followed By A Successful Logon",
    "RDP Logon From A Public Address",
    "Shadow Copy Or Backup Destruction",
    "Cryptominer Service Installed (System 7045)",
    "Security Event Log Cleared",
    "Event Log Clearing Command",
}
