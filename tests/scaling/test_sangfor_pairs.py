"""Sangfor `pairs` finds each key with str.find (issue 12); it must split every part exactly as
the definition it replaced: the key is 1-40 characters before the first ASCII or full-width
colon, else the part continues the previous value (or the body is not Sangfor's)."""

from __future__ import annotations

import random
import re

import pytest

from logwarden.shippers.sangfor.parser import _SPLIT, pairs
from logwarden.shippers.textlog import ParseError

_DEFINITION = re.compile(r"^([^:：]{1,40})[:：](.*)$", re.S)


def _by_definition(body: str) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for part in _SPLIT.split(body.strip()):
        if not part:
            continue
        m = _DEFINITION.match(part)
        if m is None:
            if not out:
                return None
            last = next(reversed(out))
            out[last] = f"{out[last]},{part}"
            continue
        out.setdefault(m.group(1).strip(), m.group(2).strip())
    return out


def _answer(body: str) -> dict[str, str] | None:
    try:
        return pairs(body)
    except ParseError:
        return None


@pytest.mark.parametrize("body", [
    "日志类型:网站访问, 源IP:10.0.0.1, URL:http://a/b,c:d", "日志类型：流量审计，用户名/主机：x", ":x, a:b",
    " :x", "a" * 40 + ":v", "a" * 41 + ":v, b:c", "k:v\n", "k：v:w, x：", "no colon", "a:b, no colon, c:d",
    "\ufeffk:\u202ev", "k:v\tl:w", "",
])
def test_pairs_is_the_definition(body: str) -> None:
    assert _answer(body) == _by_definition(body)


def test_pairs_is_the_definition_on_random_bodies() -> None:
    rng = random.Random(12)
    alphabet = "ab :：,，\t\n日志" + "x" * 5
    for _ in range(5000):
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 70)))
        assert _answer(body) == _by_definition(body), repr(body)
