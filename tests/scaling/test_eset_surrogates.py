"""An ESET JSON line with a lone surrogate escape is an event Kafka can carry: the character is
replaced by U+FFFD and the document flagged (found by the `ship file --workers` reconciliation,
where such a line stopped the run)."""

from __future__ import annotations

from logwarden.shippers.base import Event, dumps
from logwarden.shippers.eset.parser import parse_line


def test_lone_surrogate_is_replaced_and_flagged() -> None:
    raw = (rb'{"event_type":"FirewallAggregated_Event","hostname":"srv\ud800","occured":"14-Apr-2020 00:20:00",'
           rb'"source_address":"203.0.113.4\udfff x"}')
    item = parse_line(raw, "test", 0)
    assert isinstance(item, Event)
    assert item.doc["host"]["name"] == "srv\ufffd"
    assert item.doc["log"]["flags"] == ["lone-surrogate-replaced", "source.ip-invalid"]
    assert dumps(item.doc)  # encodable


def test_surrogate_pair_is_one_character_and_not_flagged() -> None:
    item = parse_line(rb'{"event_type":"Audit_Event","hostname":"h\ud83d\ude00","occured":"14-Apr-2020 00:20:00"}',
                      "test", 0)
    assert isinstance(item, Event)
    assert item.doc["host"]["name"] == "h\U0001f600"
    assert "flags" not in item.doc.get("log", {})


def test_fast_json_reads_as_json_does_or_leaves_it() -> None:
    import json

    from logwarden.shippers.eset.parser import _fast_json

    for text in ('{"a": 1, "a": 2, "b": [1.5, -0.0, 1e308, "\\u00e9\\ud83d\\ude00"], "c": null, "d": true}',
                 '{"port": 123456789012345678901234567890}', '{"x": NaN}', '{"s": "\\ud800"}', '{"big": 1e400}',
                 "[" * 2000 + "]" * 2000, '{"k": "v"} trailing'):
        fast = _fast_json(text)
        if fast is not None:
            assert fast == json.loads(text) and repr(fast) == repr(json.loads(text))
    assert _fast_json('{"port": 123456789012345678901234567890}') is None  # json keeps the integer
