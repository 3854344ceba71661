"""Sangfor AF / NGAF (and AC, same layout) syslog: `fwlog: 日志类型:<type>, 源IP:..., 源端口:...,
目的IP:..., 目的端口:..., ..., 系统动作:<action>` -> ECS firewall documents.

The body is a list of `key:value` pairs separated by commas (ASCII or full-width) or by line
breaks (the same record as the device's own log view shows it); keys are Chinese, a colon may be
full-width. Only the log types whose layout was seen in public samples are parsed (LOG_TYPES);
any other 日志类型 is a dead letter naming the type, so no field is guessed. A record without its
addresses (源IP/目的IP; 用户名/主机 for traffic audit) is a dead letter too: that is what the first
line of a one-key-per-line record becomes when a receiver splits a datagram at line breaks, and
half a record must not pass as an event. Text arrives as UTF-8
or GBK (textlog.decode reads GB18030, a superset of GBK). Times: the syslog header's (the body
has none), read in the configured zone.
"""

from __future__ import annotations

import re
from typing import Any

from logwarden.shippers import textlog as t
from logwarden.shippers.sangfor import SOURCE
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

# 日志类型 -> (event.category, whether the record is a connection with a verdict)
LOG_TYPES: dict[str, tuple[list[str], bool]] = {
    "服务控制或应用控制": (["network"], True),   # service / application control
    "网站访问": (["network", "web"], True),      # web access
    "WAF应用防护日志": (["network", "intrusion_detection"], False),  # WAF protection
    "流量审计": (["network"], False),            # traffic audit (volumes per user)
}
ALLOWED = {"允许", "放行", "通过"}
DENIED = {"拒绝", "阻断", "阻止", "拦截", "丢弃"}
RECORDED = {"被记录", "记录"}
NULL_VALUES = {"(null)", "null", "-", ""}
_SPLIT = re.compile(r"\s*(?:[,，]|\r?\n|\t)\s*")
_KEY_MAX = 40
_KB = 1024


def pairs(body: str) -> dict[str, str]:
    """The key:value pairs of a Sangfor body, in order; the first value of a repeated key wins.
    Raises ParseError when a part has no colon (not this layout)."""
    out: dict[str, str] = {}
    any_wide = "：" in body  # most bodies have ASCII colons only: one scan instead of one per part
    for part in _separated(body):
        if not part:
            continue
        # the key: 1-40 characters before the first colon, ASCII or full-width (str.find, not a regex)
        colon = part.find(":", 0, _KEY_MAX + 1)
        if any_wide:
            wide = part.find("：", 0, colon if colon >= 0 else _KEY_MAX + 1)
            if wide >= 0:
                colon = wide
        if not 1 <= colon <= _KEY_MAX:
            if out:  # a comma inside the last value (a URL): keep it with that value
                last = next(reversed(out))
                out[last] = f"{out[last]},{part}"
                continue
            raise ParseError("not a Sangfor key:value body")
        key, value = part[:colon].strip(), part[colon + 1:].strip()
        if key not in out:
            out[key] = value
    return out


def _separated(body: str) -> list[str]:
    """_SPLIT.split(body.strip()) less its empty parts' exact count: cut at every separator
    character (comma, full-width comma, line feed, tab) with str methods and strip each part. A
    part the pattern returns is the text between two separators with the whitespace around them
    taken off; where the pattern takes a tab or a line feed as whitespace beside a separator,
    this gives an empty part more, which `pairs` skips like the pattern's own empty parts."""
    return [part.strip() for part in
            body.replace("\uff0c", ",").replace("\n", ",").replace("\t", ",").split(",")]


def _said(kv: dict[str, str]) -> dict[str, str]:
    """The pairs whose value says something (not one of NULL_VALUES). `pairs` strips every value,
    so a value here is what the device wrote, and never empty."""
    return {key: value for key, value in kv.items() if value not in NULL_VALUES}


def _kb(value: str | None) -> int | None:
    number = t.to_int(value)
    return None if number is None or number < 0 else number * _KB


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    start, wide = msg.find("日志类型:"), msg.find("日志类型：")  # the first of the two
    if wide >= 0 and (start < 0 or wide < start):
        start = wide
    if start < 0:
        raise ParseError("not a Sangfor line (no 日志类型)")
    kv = pairs(msg[start:])
    log_type = kv.get("日志类型", "")
    known = LOG_TYPES.get(log_type)
    if known is None:
        raise ParseError(f"Sangfor log type not confirmed, not parsed: {log_type[:60]!r}")
    category, connection = known
    anchors = ("用户名/主机",) if log_type == "流量审计" else ("源IP", "目的IP")
    if not any(key in kv for key in anchors):
        raise ParseError(f"Sangfor record incomplete (no {' or '.join(anchors)}): split across lines?")
    # built as literals with conditional writes (a `put` per field was most of this parser's cost);
    # `said` never gives "", so "if value" skips what `put` skips
    said = _said(kv).get
    doc: dict[str, Any] = {"observer": {"vendor": "Sangfor", "product": "NGAF", "type": "firewall"}}
    t.endpoint(doc, "source", said("源IP"), said("源端口"))
    t.endpoint(doc, "destination", said("目的IP"), said("目的端口"))
    t.transport(doc, said("协议"))
    user = (said("用户") or said("用户名"))
    if user:
        doc["user"] = {"name": user}
    put(doc, "network.application", (said("应用名称") or "").lower() or None)
    url = (said("URL") or said("url"))
    if url:
        doc["url"] = {"original": url}
    action = said("系统动作") or ""
    sangfor: dict[str, Any] = {"log_type": log_type}  # a key of LOG_TYPES: never empty
    for leaf, value in (("app_category", said("应用类型")), ("action", action),
                        ("severity", said("严重级别"))):
        if value:
            sangfor[leaf] = value
    doc["sangfor"] = sangfor
    rule = said("攻击类型")
    if rule:
        doc["rule"] = {"name": rule}
    if log_type == "流量审计":
        put(doc, "sangfor.user_or_host", said("用户名/主机"))
        put(doc, "source.bytes", _kb(said("上行流量(KB)")))
        put(doc, "destination.bytes", _kb(said("下行流量(KB)")))
        put(doc, "network.bytes", _kb(said("总流量(KB)")))
    if connection:
        allowed = True if action in ALLOWED else False if action in DENIED else None
        verb = "allow" if allowed is True else "deny" if allowed is False else \
            "recorded" if action in RECORDED else action or None
        t.verdict(doc, verb, allowed=allowed)
    else:
        put(doc, "event.action", "recorded" if action in RECORDED else
            "deny" if action in DENIED else "allow" if action in ALLOWED else action or None)
        put(doc, "event.type", ["info"])
        if "intrusion_detection" in category:
            put(doc, "event.kind", "alert")
    put(doc, "event.category", category)
    t.direction_from_ips(doc)
    return doc


parse_line = t.line_parser(SOURCE.name, SOURCE.dataset, parse)
parse_stream = t.stream_parser(parse_line)
