"""base.dumps: the bytes every shipper produces are the standard library's compact JSON, whichever
of its three encoders (orjson, orjson with non-string keys, json) took the document."""

from __future__ import annotations

import json
from typing import Any

import pytest

from logwarden.shippers.base import dumps


def _stdlib(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


@pytest.mark.parametrize("doc", [
    {"event": {"code": "4625"}, "message": "caf\u00e9 <b>\x1b[31m", "n": [1, 2.5, None, True]},
    {1: "integer key", "nested": {2: {"x": 3}}},             # orjson only with OPT_NON_STR_KEYS
    {"big": 2**70, "neg": -(2**70)},                          # beyond 64 bits: the standard library
], ids=["plain", "non-str keys", "big integers"])
def test_dumps_gives_the_standard_librarys_bytes(doc: dict[str, Any]) -> None:
    assert dumps(doc) == _stdlib(doc)
