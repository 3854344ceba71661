"""The Kafka encoding: values too long to be indexed as keywords are marked, dead letters too big
for the broker are cut (unit, no servers)."""

from __future__ import annotations

import json

from logwarden.kafka_io import KEYWORD_LIMIT, encode


def test_short_documents_are_not_marked() -> None:
    doc = {"winlog": {"event_data": {"ScriptBlockText": "x" * KEYWORD_LIMIT}}}
    assert "logwarden" not in json.loads(encode(doc))


def test_long_values_are_listed_by_path() -> None:
    doc = {"winlog": {"event_data": {"ScriptBlockText": "<script>" + "y" * KEYWORD_LIMIT, "Path": "c:\\a"}},
           "tags": ["z" * (KEYWORD_LIMIT + 1)]}
    out = json.loads(encode(doc))
    assert out["logwarden"]["long_fields"] == ["tags", "winlog.event_data.ScriptBlockText"]
    assert out["winlog"]["event_data"]["ScriptBlockText"].startswith("<script>")  # data, unchanged


def test_a_dead_letter_too_big_for_the_broker_is_cut_and_says_so() -> None:
    import base64
    import hashlib

    from logwarden.kafka_io import DEADLETTER_RAW_LIMIT, deadletter_value
    from logwarden.shippers.base import DeadLetter

    raw = b"\xff" * (DEADLETTER_RAW_LIMIT * 64)
    letter = DeadLetter("kafka:t/0", raw, "message is not JSON", "windows", position=3)
    doc = json.loads(deadletter_value(letter))
    assert len(deadletter_value(letter)) < 1_000_000  # under a default broker's message limit
    assert base64.b64decode(doc["event"]["original_base64"]) == raw[:DEADLETTER_RAW_LIMIT]
    assert doc["event"]["reason"] == (f"message is not JSON [input of {len(raw)} bytes truncated to its first "
                                      f"{DEADLETTER_RAW_LIMIT}; sha256 {hashlib.sha256(raw).hexdigest()}]")
    assert doc["event"]["id"] == letter.id  # the id of the whole input, as before the cut


def test_a_small_dead_letter_is_kept_whole() -> None:
    from logwarden.kafka_io import deadletter_value
    from logwarden.shippers.base import DeadLetter

    letter = DeadLetter("file.log", b"garbage\x1b[31m", "unrecognised format")
    assert json.loads(deadletter_value(letter)) == letter.to_doc()
