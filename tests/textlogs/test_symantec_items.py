"""symantec._items (one re.split whose group is the item name) gives the items of the reading it
replaced (split before `,Name: `, then partition each item), kept here as the reference."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logwarden.shippers.symantec.parser import _items

from .sources import golden_lines

_REFERENCE_ITEM = re.compile(r",(?=[A-Z][A-Za-z0-9 ()/._-]{0,40}: )")


def reference_items(text: str) -> tuple[str, dict[str, str]]:
    """The item reading before the change, as it was written."""
    parts = _REFERENCE_ITEM.split(text)
    head = parts[0].strip()
    kv: dict[str, str] = {}
    for p in parts[1:]:
        key, _, value = p.partition(": ")
        kv[key.strip()] = value.strip()
    if ": " in head and not kv:
        key, _, value = head.partition(": ")
        kv[key.strip()] = value.strip()
        head = ""
    return head, kv


PIECES = st.sampled_from([",", ": ", ":", " ", "  ", "\t", "A", "Risk name", "Name ", "x" * 41, "y" * 40, "é", "\u3000",
                          ",Occurrences: 1", ",File path: C:\\a,b.exe", "(bytes)", "a: b", ",,", ": :"])


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.lists(PIECES, max_size=25).map("".join).map(str.strip))
@example("Virus found,IP Address: 10.0.0.1,Computer name: PC ,User Name:  bob  ,User Name: eve")
@example("Scan,Name : value")
@example("Head,A" + "x" * 40 + ": v,B: w")  # the longest name that splits
@example("Head,A" + "x" * 41 + ": v,B: w")  # one character more: part of the value before it
@example("Event time: 2020-04-14 00:57:00")
def test_items_equal_the_reference(text: str) -> None:
    head, items = _items(text)
    assert (head, list(items.items())) == (lambda r: (r[0], list(r[1].items())))(reference_items(text))


def test_symantec_golden_lines_split_the_same() -> None:
    lines = golden_lines("symantec")
    assert lines
    for raw in lines:
        text = raw.decode("utf-8", "replace").split(": ", 1)[-1].strip()
        assert _items(text) == reference_items(text)
