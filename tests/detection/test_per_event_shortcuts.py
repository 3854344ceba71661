"""The per-event shortcuts of the shared matcher and of `stream` give the verdicts and documents
the plain ways give (issue 12, "less work per event"):

- stream's `_decode` (orjson, json for what orjson would read differently) returns exactly what
  json.loads returns, integer types and key order included, or None for the same inputs;
- the prefilter's per-value n-gram lookup (and its memo) never drops a rule that matches: every
  rule evaluated on every sample event agrees with `Detector.match`, on a cold and a warm memo;
- a rule regex asked through RE2's compiled object answers as `re2.search` does;
- `Detector.flatten` (the lowercased text of the rules' fields only) gives `match` the answer the
  full flatten gives; the keyword text lowercased once after joining is the values' lowercased
  text joined; a keyword group searched in one RE2 pass answers as one `in` per keyword.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from logwarden.detection.compiler import DEFAULT_RULES, load_ruleset
from logwarden.detection.engine import Detector
from logwarden.detection.evaluate import NOT_KEYWORD_SEARCHED, complete, flatten, kw_text
from logwarden.detection.hunt import HuntStats, iter_docs
from logwarden.detection.prefilter import GRAM_MEMO_VALUES
from logwarden.detection.regex import LITERALS_PER_PASS, any_literal, compile_search
from logwarden.detection.stream import _decode
from tests.support.paths import need_shared


def _typed(value: Any) -> str:
    """A text that differs when the values, their types (1 vs 1.0) or the key order differ."""
    return json.dumps(value, allow_nan=True)


def _json_or_none(raw: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


EDGES = [
    b'{"a": 18446744073709551616}', b'{"a": -9223372036854775809}', b'{"a": 18446744073709551615}',
    b'{"a": [1, {"b": 123456789012345678901234567890}]}', b'{"a": "1234567890123456789012"}',
    b'{"a": 1e400}', b'{"a": NaN, "b": -Infinity}', b'{"a": "\\ud800"}', b'{"a": "\xed\xa0\x80"}',
    b'\xef\xbb\xbf{"a": 1}', b'{"a": 1, "b": 2, "a": 3}', b'{"a": "\xff"}', b"[1, 2]", b'"text"', b"",
    b"not json", b'{"a": 1} trailing', b'{"a": 0.1, "b": -0.0, "c": 2.2250738585072011e-308}',
    b'{"a":' * 1100 + b"1" + b"}" * 1100, b'{"a":' * 20000 + b"1" + b"}" * 20000,
    # a run of 19 digits inside a string is orjson's; one in a number (after any separator,
    # whitespace, sign, point or exponent) is json's
    b'{"bandwidthLimit": "18446744073709551615", "n": 18446744073709551616}', b'{"a":\n\t-18446744073709551616}',
    b'{"a": [0,18446744073709551616]}', b'{"a": 1.123456789012345678901234567}', b'{"a": 1e-0000000000000000000001}',
    b'{"a": 1E+1234567890123456789}', b'{"h": "E0031003000000000700000", "x": "a:1234567890123456789"}',
]


@pytest.mark.parametrize("raw", EDGES, ids=range(len(EDGES)))
def test_decode_reads_what_json_reads(raw: bytes) -> None:
    assert _typed(_decode(raw)) == _typed(_json_or_none(raw))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=6))
def test_decode_generated_objects(doc: dict[str, Any]) -> None:
    raw = json.dumps(doc).encode()
    assert _typed(_decode(raw)) == _typed(json.loads(raw))


@pytest.fixture(scope="module")
def sigmahq_detector() -> Detector:
    return Detector(load_ruleset([DEFAULT_RULES, need_shared("sigmahq/rules/windows")]))


def test_prefilter_drops_no_matching_rule(sigmahq_detector: Detector) -> None:
    """Every compiled rule evaluated on every event of a sample spread (each 20th document of
    the shared EVTX samples): the rules that match are exactly what `match` returns, twice (the
    second time the n-gram memo remembers the values)."""
    docs = [d for _, d in iter_docs([need_shared("evtx/EVTX-ATTACK-SAMPLES")], HuntStats())][::20]
    compiled = {c.rule.id: c for per in sigmahq_detector.by_channel.values() for b in per.values() for c in b.all()}
    compiled.update({c.rule.id: c for cs in sigmahq_detector.by_dataset.values() for c in cs})
    compiled.update({c.rule.id: c for cs in sigmahq_detector.by_field.values() for c in cs})
    compiled.update({c.rule.id: c for c in sigmahq_detector.always})
    assert len(docs) > 300 and len(compiled) > 2000
    expected = []
    for doc in docs:
        flat = flatten(doc)
        expected.append(sorted(c.rule.id for c in compiled.values() if c.pred(flat)))
    assert sum(map(len, expected)) > 50  # the spread holds matches to lose
    for _ in ("cold", "warm"):
        got = [sorted(r.id for r in sigmahq_detector.match(flatten(doc))) for doc in docs]
        assert got == expected
        got = [sorted(r.id for r in sigmahq_detector.match(sigmahq_detector.flatten(doc))) for doc in docs]
        assert got == expected


def test_detector_flatten_lowercases_fewer_fields(sigmahq_detector: Detector) -> None:
    """`Detector.flatten` holds the rules' fields only; completed, it is the whole flat with the
    lowercased text of those fields only."""
    doc = next(d for _, d in iter_docs([need_shared("evtx/EVTX-ATTACK-SAMPLES")], HuntStats()))
    full, some = flatten(doc), sigmahq_detector.flatten(doc)
    lowered = sigmahq_detector.lowered
    assert {k: v for k, v in some.items() if k[:1] != "\0"} == {k: v for k, v in full.items() if k in lowered}
    complete(some)
    assert {k: v for k, v in full.items() if k[:1] != "\0"} == {k: v for k, v in some.items() if k[:1] != "\0"}
    assert set(some["\0lc"]) == set(full["\0lc"]) & lowered
    assert len(some["\0lc"]) < len(full["\0lc"])


def test_prefilter_memo_is_bounded(sigmahq_detector: Detector) -> None:
    process = sigmahq_detector.by_channel["microsoft-windows-sysmon/operational"]["1"]
    for i in range(GRAM_MEMO_VALUES + 10):
        list(process.candidates({"process.executable": f"c:\\tools\\mimikatz{i}.exe"}))
    assert 0 < len(process._memo) <= GRAM_MEMO_VALUES


# text with case traps (final sigma, dotted I, sharp s, a combining iota), escapes and a lone surrogate
TRICKY = st.text(alphabet=["a", "Σ", "σ", "İ", "ẞ", ":", "\\", ".", " ", "é", "\u0345", "\ud800", "K", "1"], max_size=8)
PATTERNS = ["a+b", "^foo$", r"\bcmd\.exe", "é+", "", r"[a-z]{3}\d", "(?:x|y)z"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PATTERNS), st.sampled_from(["", "i", "m", "s", "ims"]), st.text(max_size=30) | TRICKY)
def test_regex_answers_as_re2_search(pattern: str, flags: str, value: str) -> None:
    options = re2.Options()
    options.log_errors = False
    reference = re2.compile("".join(f"(?{ch})" for ch in sorted(flags)) + pattern, options)
    try:
        want = reference.search(value) is not None
    except UnicodeEncodeError:  # a lone surrogate: matched as U+FFFD, never raised
        want = reference.search(value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")) is not None
    assert compile_search(pattern, flags)(value) == want


def test_lone_surrogate_is_data_for_regex_rules(sigmahq_detector: Detector) -> None:
    """A value holding a lone surrogate (JSON `"\\ud800"`) in a field regex rules read is
    matched, not raised on (it stopped hunt and a stream member on one message)."""
    doc = {"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational"}, "event": {"code": "1"},
           "process": {"command_line": "powershell \ud800 -enc abc", "executable": "C:\\x\\powershell.exe"}}
    assert isinstance(sigmahq_detector.match(sigmahq_detector.flatten(doc)), list)



@settings(max_examples=400, deadline=None)
@given(st.lists(TRICKY.filter(bool), min_size=1, max_size=LITERALS_PER_PASS + 4), TRICKY)
def test_any_literal_answers_as_in(literals: list[str], text: str) -> None:
    wanted = tuple(dict.fromkeys(literals))
    assert any_literal(wanted)(text * 3) == any(a in text * 3 for a in wanted)


def _kw_text_reference(flat: dict[str, Any]) -> str:
    """The keyword text as it was built before: each value lowercased, then joined."""
    vals: list[str] = []
    for k, v in flat.items():
        if k in NOT_KEYWORD_SEARCHED or k[:1] == "\0":
            continue
        if isinstance(v, str):
            vals.append(v.lower())
        elif isinstance(v, list):
            vals.extend(x.lower() for x in v if isinstance(x, str))
    return "\0".join(vals)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "event"]),
                       TRICKY | st.lists(TRICKY | st.integers(), max_size=3)
                       | st.dictionaries(st.sampled_from(["original", "c"]), TRICKY, max_size=2), max_size=3))
def test_kw_text_lowercased_once_is_each_value_lowercased(doc: dict[str, Any]) -> None:
    flat = flatten(doc)
    assert kw_text(flat) == _kw_text_reference(flat)
