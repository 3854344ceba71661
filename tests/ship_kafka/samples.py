"""The ship-kafka tests' inputs: our own Windows events as event XML (what `ship evtx` reads) and
as the JSON document Winlogbeat 8 writes to Kafka for the same event (tests/ship_kafka/data/),
plus the messages an agent's topic may hold that are not Windows events."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
# 4625 failed RDP logon, 4624 RDP logon, 4688 vssadmin, 7045 miner service, 1102 log cleared, Sysmon 1 wevtutil
NAMES = sorted(p.name.removesuffix(".xml") for p in DATA.glob("*.xml"))


def xml_path(name: str) -> Path:
    return DATA / f"{name}.xml"


def winlogbeat(name: str, *, include_xml: bool = False) -> dict[str, Any]:
    """The Winlogbeat document; with `include_xml`, event.original holds the event XML as
    Winlogbeat's `include_xml: true` (or Elastic Agent's preserve-original) adds it."""
    doc: dict[str, Any] = json.loads((DATA / f"{name}.winlogbeat.json").read_text(encoding="utf-8"))
    if include_xml:
        doc["event"]["original"] = xml_path(name).read_text(encoding="utf-8")
    return doc


def elastic_agent(name: str) -> dict[str, Any]:
    """The same event as Elastic Agent's System integration writes it to a Kafka output: the
    beat's winlog.* document with data_stream.*, input.type and elastic_agent.* around it."""
    doc = winlogbeat(name, include_xml=True)
    doc.pop("@metadata")
    doc["agent"] = {**doc["agent"], "type": "filebeat"}
    doc["data_stream"] = {"type": "logs", "dataset": "system.security", "namespace": "default"}
    doc["input"] = {"type": "winlog"}
    doc["elastic_agent"] = {"id": doc["agent"]["id"], "snapshot": False, "version": "9.1.2"}
    return doc


def failed_logon_burst(count: int) -> list[dict[str, Any]]:
    """`count` more 4625 failed RDP logons from the sample's address, four seconds apart, ending
    before the sample 4624 (the incident's brute force), as winlog.*-only Winlogbeat documents."""
    base = winlogbeat("4625_failed_rdp_logon")
    start = datetime.fromisoformat("2020-04-13T16:19:00+00:00")
    burst = []
    for i in range(count):
        doc = copy.deepcopy(base)
        ts = (start + timedelta(seconds=4 * i)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        doc["@timestamp"] = doc["winlog"]["time_created"] = ts
        doc["winlog"]["record_id"] = 184100 + i
        doc["winlog"]["event_data"]["IpPort"] = str(50000 + i)
        burst.append(doc)
    return burst


def encoded(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# (message value, the start of the dead letter's reason): what an agent topic may hold besides
# Windows events. Every one must become exactly one dead letter.
BAD_MESSAGES: list[tuple[bytes, str]] = [
    (b"", "empty message"),
    (b"Apr 13 16:21:02 fw01 kernel: not json", "bad JSON"),
    (b"[1, 2, 3]", "JSON is neither"),
    (encoded({"@timestamp": "2020-04-13T16:21:02.481Z", "message": "a filebeat line",
              "log": {"file": {"path": "/var/log/syslog"}}, "agent": {"type": "filebeat"}}), "JSON is neither"),
    (encoded({"@timestamp": "2020-04-13T16:21:02.481Z", "winlog": {"channel": "Security", "record_id": 1,
                                                                    "computer_name": "TAX-PROD"}}),
     "record not normalised"),  # a winlog.* document without an event id
    (b"{\"winlog\": {\"channel\": \"Security\x81\xff\"}}", "not UTF-8 or GB18030"),
    (encoded({"winlog": "not an object", "@timestamp": "2020-04-13T16:21:02.481Z"}), "bad Winlogbeat document"),
    (b'{"winlog": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001, "record nested deeper than"),
]
