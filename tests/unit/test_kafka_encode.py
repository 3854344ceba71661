"""The Kafka encoding marks values too long to be indexed as keywords (unit, no servers)."""

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
