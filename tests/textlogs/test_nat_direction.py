"""nat.direction (objects read directly) gives the document the rule it replaced gave: dotted
`get`s for the NAT case, then `textlog.direction_from_ips`. That rule is kept here as the
reference and both run on generated documents of every shape the fields take (missing, not an
object, no address, public, private, a direction already said); key order compared too."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from logwarden.shippers import nat
from logwarden.shippers import textlog as t


def reference_direction(doc: dict[str, Any]) -> None:
    if not t.get(doc, "network.direction") and t.is_private(t.get(doc, "source.ip")) is False \
            and t.is_private(t.get(doc, "destination.nat.ip")):
        t.put(doc, "network.direction", "inbound")
    t.direction_from_ips(doc)


_IPS = st.sampled_from(["10.0.0.1", "192.168.1.9", "8.8.8.8", "203.0.113.7", "2001:db8::1", "fe80::1",
                        "127.0.0.1", "224.0.0.1", "not-an-ip", ""])
_LEAF = st.one_of(st.none(), _IPS)  # endpoint writes .ip only as text


def _side(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.text(max_size=2), st.dictionaries(st.just("ip"), _LEAF, max_size=1),
                     inner)


_DESTINATION = _side(st.fixed_dictionaries({"ip": _LEAF}, optional={"nat": _side(st.fixed_dictionaries(
    {"ip": _LEAF}))}))
_NETWORK = st.one_of(st.none(), st.just("x"), st.fixed_dictionaries(
    {}, optional={"direction": st.sampled_from(["", "inbound", None]), "transport": st.just("tcp")}))


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for key, strategy in draw(st.permutations([("source", _side(st.fixed_dictionaries({"ip": _LEAF}))),
                                               ("destination", _DESTINATION), ("network", _NETWORK),
                                               ("event", st.just({"kind": "event"}))])):
        value = draw(strategy)
        if value is not None:
            doc[key] = value
    return doc


@settings(max_examples=2000, deadline=None)
@given(documents())
def test_direction_as_the_dotted_rule(doc: dict[str, Any]) -> None:
    expected = copy.deepcopy(doc)
    reference_direction(expected)
    nat.direction(doc)
    assert json.dumps(doc) == json.dumps(expected)


def test_port_mapping_is_inbound_and_said_direction_kept() -> None:
    doc: dict[str, Any] = {"source": {"ip": "8.8.8.8"}, "destination": {"ip": "203.0.113.7",
                                                                         "nat": {"ip": "10.0.0.1"}}}
    nat.direction(doc)
    assert doc["network"] == {"direction": "inbound"}
    doc = {"source": {"ip": "10.0.0.1"}, "destination": {"ip": "8.8.8.8"}, "network": {"direction": "egress"}}
    nat.direction(doc)
    assert doc["network"] == {"direction": "egress"}
    doc = {"source": {"ip": "10.0.0.1"}, "destination": {"ip": "8.8.8.8"}, "network": "x"}
    nat.direction(doc)
    assert list(doc) == ["source", "destination", "network"] and doc["network"] == {"direction": "outbound"}
