"""The matcher's session-20 shortcuts give the verdicts and documents the plain ways give (issue 12):

- the partial flat (`flatten_partial`: the rules' fields only) holds exactly those fields of the
  whole flat, whatever the nesting (keys with dots, a name two spellings reach, lists, empty
  keys), and `complete` makes it the whole flat, key order included;
- keywords on a partial flat (screened on the document's JSON text, decided on the whole flat's
  text) answer as the old evaluation on the whole flat (kept here as the reference), with
  escapes, case traps and values orjson cannot write;
- CASE_SAFE characters fold to themselves in Python's re and in RE2, over every code point;
- the literals `required` finds in a glob or a regex are in the lowercased text of every value
  the glob or regex matches (values made from the pattern, with case and fold traps mixed in);
- a rule's condition with its bucket's channel and event code taken as known (`assume_equal`)
  answers as the whole condition on the bucket's documents;
- every SigmaHQ rule evaluated on every sample event, the matching rules are what `match` gives
  on the partial flat (tests/detection/test_per_event_shortcuts.py covers that spread).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import re2
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from logwarden.detection.compiler import DEFAULT_RULES, load_ruleset
from logwarden.detection.engine import Detector
from logwarden.detection.evaluate import (
    LC,
    NOT_KEYWORD_SEARCHED,
    PARTIAL,
    compile_pred,
    complete,
    field_paths,
    flatten,
    flatten_partial,
    json_needle,
    json_screen,
)
from logwarden.detection.ir import assume_equal
from logwarden.detection.regex import any_literal
from logwarden.detection.required import CASE_SAFE, glob_literals, regex_literals
from tests.support.paths import need_shared

KEYS = ["a", "b", "a.b", "c", "b.c", "a.b.c", "", "event", "original", "event.original"]
NAMES = ["a.b", "a.b.c", "c", "b.c", "a", "event.original", "a.", ".c", "zz"]
# text with case traps (final sigma, dotted and dotless i, long s, Kelvin), a lone surrogate, NUL
TRICKY = st.lists(st.sampled_from(["a", "B", "Σ", "İ", "ı", "ſ", "K", "k", "s", "mimi", "KATZ", "\ud800", "\0", " ",
                                   '"', "\\", "\n", "\x1f", "\u2028", "\x7f"]), max_size=6).map("".join)
LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TRICKY
DOCS = st.recursive(st.dictionaries(st.sampled_from(KEYS), LEAVES | st.lists(LEAVES | st.lists(TRICKY), max_size=3),
                                    max_size=5),
                    lambda inner: st.dictionaries(st.sampled_from(KEYS), inner | LEAVES, max_size=5), max_leaves=25)


def _public(flat: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in flat.items() if k[:1] != "\0"}


@settings(max_examples=500, deadline=None)
@given(DOCS, st.sets(st.sampled_from(NAMES), max_size=6))
def test_partial_flat_is_the_whole_flat_restricted(doc: dict[str, Any], names: set[str]) -> None:
    lowered = frozenset(names)
    paths = field_paths(lowered)
    assert paths is not None
    whole = flatten(doc, lowered)
    partial = flatten_partial(doc, paths, lowered)
    assert _public(partial) == {k: v for k, v in _public(whole).items() if k in lowered}
    assert json.dumps(partial[LC], sort_keys=True) == json.dumps(whole[LC], sort_keys=True)
    complete(partial)
    assert PARTIAL not in partial
    assert list(partial.items()) == list(whole.items())  # the same keys, values and order


def test_too_dotted_names_flatten_in_full() -> None:
    assert field_paths(["a.b.c.d.e.f.g.h.i.j"]) is None
    assert field_paths(["a.b.c"]) == {
        "a": [None, {"b": [None, {"c": ["a.b.c", {}]}], "b.c": ["a.b.c", {}]}],
        "a.b": [None, {"c": ["a.b.c", {}]}],
        "a.b.c": ["a.b.c", {}],
    }


def _kw_reference(literals: list[str], whole: dict[str, Any]) -> bool:
    """The keyword verdict as it was evaluated before: one literal inside the lowercased text of
    a string value (or a list's string element) of the whole flat, the raw input excepted."""
    for k, v in whole.items():
        if k in NOT_KEYWORD_SEARCHED or k[:1] == "\0":
            continue
        for x in v if isinstance(v, list) else [v]:
            if isinstance(x, str) and any(lit in x.lower() for lit in literals):
                return True
    return False


KEYWORDS = st.lists(st.sampled_from(["mimi", "katz", "mimikatz", "ſ", "ı", "σ", "ς", "k", "a b", "zz", "\\mimi",
                                     'a"', "\n", "\x1fk", "\u2028", "a\\", '":', "i\u0307"]),
                    min_size=1, max_size=10, unique=True)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCS, KEYWORDS, st.sets(st.sampled_from(NAMES), max_size=4))
def test_keywords_on_a_partial_flat_answer_as_before(doc: dict[str, Any], literals: list[str],
                                                     names: set[str]) -> None:
    lowered = frozenset(names)
    paths = field_paths(lowered)
    assert paths is not None
    want = _kw_reference(literals, flatten(doc))
    group = compile_pred(["or", [["kw", "contains", lit] for lit in literals]])
    single = compile_pred(["kw", "contains", literals[0]])
    glob = compile_pred(["kw", "glob", ".*" + re.escape(literals[0]) + ".*"])
    assert group(flatten_partial(doc, paths, lowered)) == want
    assert group(flatten(doc, lowered)) == want
    assert single(flatten_partial(doc, paths, lowered)) == _kw_reference(literals[:1], flatten(doc))
    assert glob(flatten_partial(doc, paths, lowered)) == glob(flatten(doc))


def _every_code_point() -> str:
    return "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)


def test_case_safe_characters_fold_to_themselves() -> None:
    """Every code point Python's re or RE2 matches case-insensitively for a CASE_SAFE character
    lowercases to that character's lowercase (what the prefilter finds in the lowercased text)."""
    text = _every_code_point()
    options = re2.Options()
    options.log_errors = False
    for ch in sorted(CASE_SAFE):
        found = set(re.findall(re.escape(ch), text, re.IGNORECASE | re.DOTALL))
        found |= set(re2.compile("(?is)" + re2.escape(ch), options).findall(text))  # type: ignore[attr-defined]
        assert {x.lower() for x in found} == {ch.lower()}, ch
    for unsafe in "iIsS":
        assert unsafe not in CASE_SAFE
        assert any(x.lower() != unsafe.lower() for x in re.findall(unsafe, text, re.IGNORECASE))


def test_literals_of_globs_and_regexes() -> None:
    assert glob_literals(r".*ipconfig.*\|.*find.*") == ["pconf", "g", "|", "f", "nd"]
    assert glob_literals(r"c:\\windows\\.*\.exe") == ["c:\\w", "ndow", "\\", ".exe"]
    assert regex_literals(r"ipconfig\s+/all", "") == ["ipconfig", "/all"]
    assert regex_literals(r"IPCONFIG\s+/all", "i") == ["pconf", "g", "/all"]
    assert regex_literals(r"(?i)Nets(?:h)?\s", "") == ["net"]
    assert regex_literals(r"abc|abd", "") == ["ab"]  # the branches' common start
    assert regex_literals(r"x|yz", "") == []
    assert regex_literals(r"caf\xe9 bar", "") == ["caf", " bar"]  # ASCII runs only
    assert regex_literals(r"(unclosed", "") == []


def _sigmahq_leaves() -> list[list[Any]]:
    rs = load_ruleset([DEFAULT_RULES, need_shared("sigmahq/rules/windows")])
    out: dict[str, list[Any]] = {}

    def walk(node: list[Any]) -> None:
        if node[0] in ("and", "or"):
            for kid in node[1]:
                walk(kid)
        elif node[0] == "not":
            walk(node[1])
        elif node[0] == "m" and node[2] in ("glob", "re"):
            out[json.dumps(node)] = node

    for rule in rs.rules:
        walk(rule.ir)
    return list(out.values())


FOLDS = {"i": ["ı", "İ", "I"], "s": ["ſ", "S"], "k": ["K", "K"], "σ": ["Σ", "ς"]}


@pytest.fixture(scope="module")
def sigmahq_leaves() -> list[list[Any]]:
    leaves = _sigmahq_leaves()
    assert len(leaves) > 250
    return leaves


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(st.data())
def test_required_literals_are_in_every_match(sigmahq_leaves: list[list[Any]], data: st.DataObject) -> None:
    """A value made to match a SigmaHQ glob or regex (with characters swapped for their case and
    fold variants, kept when it still matches) holds each literal `required` finds."""
    leaf = data.draw(st.sampled_from(sigmahq_leaves))
    fld, op, arg = leaf[1], leaf[2], leaf[3]
    flags: int
    if op == "glob":
        source, flags, literals = arg, re.IGNORECASE | re.DOTALL, glob_literals(arg)
        made = data.draw(st.from_regex(re.compile(source, flags), fullmatch=True))
    else:
        pattern, letters = arg
        flags = sum(int(f) for ch, f in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)) if ch in letters)
        source, literals = pattern, regex_literals(pattern, letters)
        try:
            made = data.draw(st.from_regex(re.compile(source, flags)))
        except Exception:  # a construct hypothesis cannot write values for
            assume(False)
    swaps = data.draw(st.lists(st.integers(0, max(len(made) - 1, 0)), max_size=4))
    for at in swaps:
        variants = FOLDS.get(made[at:at + 1].lower()) if made else None
        if variants:
            made = made[:at] + data.draw(st.sampled_from(variants)) + made[at + 1:]
    pred = compile_pred(leaf)
    if not pred(flatten({fld: made})):
        return
    for literal in literals:
        assert literal in made.lower(), (leaf, made, literal)


def test_anchored_sigmahq_rules_still_match(sigmahq_leaves: list[list[Any]]) -> None:
    """The rules anchored by a glob's or a regex's literal are found by the prefilter on a
    process-creation event that holds what they look for (one spelled in upper case)."""
    detector = Detector(load_ruleset([DEFAULT_RULES, need_shared("sigmahq/rules/windows")]))
    doc = {"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational"}, "event": {"code": "1"},
           "process": {"command_line": "cmd /c IPCONFIG /ALL | find \"x\"", "executable": "C:\\Windows\\cmd.exe"}}
    full = {r.id for r in detector.match(flatten(doc))}
    everything = [c for per in detector.by_channel.values() for b in per.values() for c in b.all()]
    assert full == {c.rule.id for c in everything if c.pred(flatten(doc))}
    titles = {r.title for r in detector.match(detector.flatten(doc))}
    assert "Recon Command Output Piped To Findstr.EXE" in titles or "Suspicious Network Command" in titles


def test_keyword_group_screen_is_one_pass() -> None:
    """The screen and the decision use the same literal search (regex.any_literal)."""
    literals = tuple(f"kw{i}::" for i in range(10))
    assert any_literal(literals)("x\0KW3::".lower())


@settings(max_examples=1000, deadline=None)
@given(TRICKY, TRICKY, st.sampled_from(KEYS))
def test_json_screen_holds_every_keyword_a_value_holds(before: str, after: str, key: str) -> None:
    """A keyword inside a value's lowercased text is, escaped, inside the document's lowercased
    JSON text (or the screen stands aside: "" or no needle)."""
    for literal in {before.lower()[-3:] + after.lower()[:3], (before + after).lower(), after.lower()} - {""}:
        doc = {key: [before + after], "x": {key: before + literal.upper() + after}}
        flat = flatten_partial(doc, {}, frozenset())
        needle, screen = json_needle(literal), json_screen(flat)
        if needle is not None and screen and literal in (before + literal.upper() + after).lower():
            assert needle in screen, (doc, literal)


LEAF_NODES = st.sampled_from([
    ["m", "winlog.channel", "eq", "security"], ["m", "winlog.channel", "eq", "system"],
    ["m", "event.code", "eq", "4688"], ["m", "event.code", "eq", "1"], ["m", "event.code", "num", 4688],
    ["m", "winlog.channel", "contains", "sec"], ["m", "x", "eq", "a"], ["m", "x", "contains", "b"],
    ["m", "x", "null", None], ["const", True], ["const", False], ["kw", "contains", "a"]])
TREES = st.recursive(LEAF_NODES, lambda inner: st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, max_size=4))
                     .map(lambda t: [t[0], t[1]]) | inner.map(lambda n: ["not", n]), max_leaves=12)


@settings(max_examples=1000, deadline=None)
@given(TREES, st.sampled_from(["security", "system"]), st.sampled_from(["4688", "1", None]),
       st.sampled_from([None, "a", "ab", "b"]))
def test_assume_equal_keeps_the_verdict(tree: list[Any], channel: str, code: str | None, x: str | None) -> None:
    """The tree with the bucket's channel and event code taken as known answers as the whole tree
    on every document of that bucket (the old evaluation kept here: `compile_pred(tree)`)."""
    doc: dict[str, Any] = {"winlog": {"channel": channel.upper()}}
    known = {"winlog.channel": channel}
    if code is not None:
        doc["event"] = {"code": code}
        known["event.code"] = code
    if x is not None:
        doc["x"] = x
    flat = flatten(doc)
    assert compile_pred(assume_equal(tree, known))(flatten(doc)) == compile_pred(tree)(flat)
