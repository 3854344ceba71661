"""Shared helpers for the text-log parsers (firewall and antivirus sources).

Every text parser module defines `parse(msg, hdr) -> dict`, which turns one message (syslog
header already stripped) into a partial ECS document or raises `ParseError`. `line_parser`
wraps it into the per-line contract `parse_line(raw, source, position) -> Event | DeadLetter`
(decoding, syslog header, event.original/dataset/module, deterministic id, and a guard so that
no exception ever escapes), and `stream_parser` into `parse_stream(path, data)`.

Decoding: UTF-8, then GB18030 (a superset of GBK/GB2312, what Chinese appliances send); a line
that decodes as neither becomes a dead letter that keeps its raw bytes.

Names (docs/ecs-conformance.md): `event.dataset` and `event.module` are what Elastic's integration
for the source writes (`cisco_asa.log`, `panw.panos`, ...; `<module>.log` for a source with no
integration); the family a document is routed by (its Kafka topic and index, the Sigma
`category: firewall|antivirus` gate) is `logwarden.family` (firewall | av), set here.
`finish` also adds what every integration's pipeline adds at its end: `network.community_id`
(logwarden/shippers/community_id.py) and `related.ip/user/hosts/hash`.

Time: a timestamp without a zone is read in `CONFIG.tz` (UTC unless LOGWARDEN_LOG_TZ says e.g.
"+08:00" or "Asia/Shanghai"); a syslog date without a year takes the year that puts it closest
before `CONFIG.now()` (at most one day in the future, for clock skew).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from hashlib import blake2b
from typing import Any, BinaryIO

from logwarden import timezones
from logwarden.shippers import addresses
from logwarden.shippers.addresses import ECS, PRIVATE, ecs_text, private_address
from logwarden.shippers.addresses import learn as learn_address
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.community_id import community_id

MAX_REASON = 300


class ParseError(ValueError):
    """The message is not in the parser's format (becomes a dead letter's reason)."""


def utc_now() -> datetime:
    """The wall clock in UTC (CONFIG.now's default; the date caches know it changes only with time.time())."""
    return datetime.now(UTC)


class Config:
    """Settings of the text parsers: `tz` (read from LOGWARDEN_LOG_TZ on first use, see
    logwarden/timezones.py; commands read it before parsing so a bad value is exit 2, not a dead
    letter per line), `now` (for years of syslog dates) and `hostname`."""

    def __init__(self) -> None:
        self._tz: tzinfo | None = None
        self.now: Callable[[], datetime] = utc_now
        self.hostname: str | None = os.environ.get("LOGWARDEN_HOSTNAME") or None

    @property
    def tz(self) -> tzinfo:
        """Raises ConfigError when LOGWARDEN_LOG_TZ is not a zone."""
        if self._tz is None:
            self._tz = timezones.log_tz()
        return self._tz

    @tz.setter
    def tz(self, value: tzinfo) -> None:
        self._tz = value


CONFIG = Config()


# ---------------------------------------------------------------- decoding and small helpers


def decode(raw: bytes) -> str | None:
    """UTF-8, else GB18030; None when neither decodes (the caller keeps the bytes)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return None


def put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    """Set a dotted ECS path in a nested dict; None and "" are skipped (absent, not empty)."""
    if value is None or (not value and (value == "" or value == [])):
        return
    path = _PATHS.get(dotted)
    if path is None:
        path = _path(dotted)
    parent, leaf = path
    if parent.__class__ is str:  # the common case, one level: "source.ip"
        node = doc.get(parent)  # type: ignore[arg-type]
        if node.__class__ is not dict:
            node = doc[parent] = {}  # type: ignore[index]
        node[leaf] = value
        return
    node = doc
    for p in parent:
        nxt = node.get(p)
        if nxt.__class__ is not dict:
            nxt = node[p] = {}
        node = nxt
    node[leaf] = value


def _path(dotted: str) -> tuple[str | tuple[str, ...], str]:
    *parents, leaf = dotted.split(".")
    path = _PATHS[dotted] = (parents[0] if len(parents) == 1 else tuple(parents), leaf)
    return path


_PATHS: dict[str, tuple[str | tuple[str, ...], str]] = {}


def node(doc: dict[str, Any], dotted: str) -> dict[str, Any]:
    """The object at a dotted path, made (and any parent that is not an object replaced) when missing."""
    current = doc
    for p in _SPLIT.get(dotted) or _split(dotted):
        nxt = current.get(p)
        if nxt.__class__ is not dict:
            nxt = current[p] = {}
        current = nxt
    return current


def _split(dotted: str) -> tuple[str, ...]:
    parts = _SPLIT[dotted] = tuple(dotted.split("."))
    return parts


def get(doc: dict[str, Any], dotted: str) -> Any:
    """The value at a dotted ECS path, None when a part is missing (or the path crosses a value
    that is not an object)."""
    value: Any = doc
    for p in _SPLIT.get(dotted) or _split(dotted):
        if not isinstance(value, dict):
            return None
        value = value.get(p)
        if value is None:
            return None
    return value


_SPLIT: dict[str, tuple[str, ...]] = {}


def to_int(value: Any) -> int | None:
    """The integer a value spells (surrounding spaces allowed), None when it spells none."""
    if value is None:
        return None
    if value.__class__ is str and value.isdigit() and value.isascii():  # the usual case, without str()/strip()
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        return None


IANA = {"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51, "ipv6-icmp": 58,
        "icmpv6": 58, "sctp": 132, "ospf": 89, "pim": 103}
IANA_NAMES = {v: k for k, v in IANA.items()}
IANA_NAMES[58] = "ipv6-icmp"


def transport(doc: dict[str, Any], proto: Any) -> None:
    """network.transport (lowercase name) and network.iana_number from a name or a number; a number
    outside 0-255 is not kept there (event.original shows it) and the document is flagged.
    The fields a protocol text gives are worked out once per distinct text (a log repeats a few)."""
    if proto is None:
        return
    fields = _TRANSPORTS.get(proto) if proto.__class__ is str else None
    if fields is None:
        fields = _transport_fields(proto)
        if proto.__class__ is str:
            if len(_TRANSPORTS) >= _CACHE_MAX:
                _TRANSPORTS.clear()
            _TRANSPORTS[proto] = fields
    if fields is _PROTOCOL_INVALID:
        flag(doc, FLAG_PROTOCOL)
        return
    if not fields:
        return
    network = doc.get("network")
    if network.__class__ is not dict:
        network = doc["network"] = {}
    for key, value in fields:
        network[key] = value


def _transport_fields(proto: Any) -> tuple[tuple[str, str], ...]:
    """The (network.<key>, value) pairs `transport` writes for a protocol, in the order it writes
    them; _PROTOCOL_INVALID for a number outside 0-255."""
    text = str(proto).strip().lower()
    if not text:
        return ()
    if text.isdigit():
        num = int(text)
        if num > 255:
            return _PROTOCOL_INVALID
        name = IANA_NAMES.get(num)
        return (("iana_number", str(num)), ("transport", name)) if name else (("iana_number", str(num)),)
    if text in ("icmp6", "icmpv6"):
        text = "ipv6-icmp"
    if text in IANA:
        return ("transport", text), ("iana_number", str(IANA[text]))
    return (("transport", text),)


_PROTOCOL_INVALID: tuple[tuple[str, str], ...] = (("", ""),)
_TRANSPORTS: dict[str, tuple[tuple[str, str], ...]] = {}


# log.flags values for a value that looks like a number or an address but is not a valid one (the
# raw text stays visible: <side>.address, event.original); see docs/reliability.md.
FLAG_PROTOCOL = "network.iana_number-invalid"
NO_VALUE = frozenset(("", "-", "n/a", "none", "null"))


def flag_ip(side: str) -> str:
    return f"{side}.ip-invalid"


def flag_port(side: str) -> str:
    return f"{side}.port-invalid"


def flag(doc: dict[str, Any], name: str) -> None:
    """Add `name` to the document's log.flags (once)."""
    log = doc.get("log")
    if log.__class__ is not dict:
        log = doc["log"] = {}
    flags = log.get("flags")
    if not isinstance(flags, list):
        flags = log["flags"] = []
    if name not in flags:
        flags.append(name)




def ip_or_none(value: Any) -> str | None:
    """The value if it looks like an IP address (keeps documents indexable: ES `ip` type): the ECS
    text of addresses.ecs_text, read from the address's cached facts for a text."""
    if value is None:
        return None
    if value.__class__ is str:
        known = _FACTS.get(value)
        return (known if known is not None else learn_address(value))[ECS]
    return ecs_text(value)


_MISS = object()
_CACHE_MAX = 8192
_FACTS = addresses.FACTS  # the one cache of address facts, read here without a call on a hit
_ip_or_none = ecs_text  # the uncached reading, by its former name


def put_ip(doc: dict[str, Any], dotted: str, value: Any, *, as_list: bool = False) -> None:
    """An `ip` field (host.ip, observer.ip) from a value; a value that is not an IP is left out
    (event.original shows it) and flags the document `<dotted>-invalid`."""
    addr = ip_or_none(value)
    if addr:
        put(doc, dotted, [addr] if as_list else addr)
    elif value is not None and str(value).strip().lower() not in NO_VALUE:
        flag(doc, f"{dotted}-invalid")


def nat_endpoint(doc: dict[str, Any], side: str, ip: Any, port: Any) -> None:
    """`endpoint` for a NAT side a log may leave out: with neither an ip nor a port nothing is
    written (not even an empty `source.nat`)."""
    if ip is not None or port is not None:
        endpoint(doc, side, ip, port)


def endpoint(doc: dict[str, Any], side: str, ip: Any, port: Any = None) -> None:
    """source/destination .ip and .port (and .address). A value that is not an IP keeps its text in
    .address (no .ip) and a port outside 0-65535 or not a number is left out; both flag the
    document (log.flags), so nothing invalid reaches an `ip`/`long` field."""
    if ip.__class__ is str:  # ip_or_none written out: the address's facts, cached
        known = _FACTS.get(ip)
        addr = (known if known is not None else learn_address(ip))[ECS]
    else:
        addr = ip_or_none(ip)
    if addr:
        where: Any
        if "." in side:
            where = node(doc, side)
        else:
            where = doc.get(side)
            if where.__class__ is not dict:
                where = doc[side] = {}
        where["ip"] = addr
        where["address"] = addr
    elif ip is not None and str(ip).strip().lower() not in NO_VALUE:
        put(doc, f"{side}.address", str(ip).strip())
        flag(doc, flag_ip(side))
    if port is None:
        return
    if port.__class__ is str and port.isdigit() and port.isascii():
        p: int | None = int(port)
    else:
        p = to_int(port)
    if p is not None and 0 <= p <= 65535:
        if "." in side:
            node(doc, side)["port"] = p
        else:
            where = doc.get(side)  # type: ignore[assignment]
            if where.__class__ is not dict:
                where = doc[side] = {}
            where["port"] = p
    elif p is not None or str(port).strip().lower() not in NO_VALUE:
        flag(doc, flag_port(side))


def icmp(doc: dict[str, Any], icmp_type: str | None, icmp_code: str | None) -> None:
    """icmp.type and icmp.code as the device wrote them (text), each only when not empty; flow_id
    reads them for the Community ID of an ICMP flow."""
    if icmp_type or icmp_code:
        fields = doc["icmp"] = {}
        if icmp_type:
            fields["type"] = icmp_type
        if icmp_code:
            fields["code"] = icmp_code


def iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=CONFIG.tz)
    u = dt.astimezone(UTC)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}." \
           f"{u.microsecond // 1000:03d}Z"


MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}


def infer_year(month: int, day: int) -> int:
    now = CONFIG.now()
    year = now.year
    try:
        if datetime(year, month, day, tzinfo=UTC) > now + timedelta(days=1):
            year -= 1
    except ValueError:
        pass
    return year


# Timestamps repeat (many lines per second): results are cached. A cached value depends on the
# zone and, for syslog dates without a year, on "now" to the hour (infer_year only changes its
# answer at a UTC day boundary), so the caches are dropped when those change, or when full.
_TZ_CACHE: dict[Any, str | None] = {}
_TZ_STATE: list[Any] = [None]
_NOW_CACHE: dict[Any, str | None] = {}
_NOW_STATE: list[Any] = [None, None, 0.0]  # (tz, date, hour) of the cache; zone and end of hour checked cheaply


def _tz_cache() -> dict[Any, str | None]:
    tz = CONFIG.tz
    if _TZ_STATE[0] is not tz or len(_TZ_CACHE) >= _CACHE_MAX:
        _TZ_CACHE.clear()
        _TZ_STATE[0] = tz
    return _TZ_CACHE


def _now_cache() -> dict[Any, str | None]:
    # With the default clock the hour cannot have changed before _NOW_UNTIL (an epoch second):
    # one time.time() per line instead of building a datetime (most of a header's cost).
    if CONFIG.now is utc_now and CONFIG._tz is _NOW_STATE[1] and time.time() < _NOW_STATE[2] \
            and len(_NOW_CACHE) < _CACHE_MAX:
        return _NOW_CACHE
    now = CONFIG.now()
    state = (CONFIG.tz, now.year, now.month, now.day, now.hour)
    if _NOW_STATE[0] != state or len(_NOW_CACHE) >= _CACHE_MAX:
        _NOW_CACHE.clear()
        _NOW_STATE[0] = state
    if CONFIG.now is utc_now:
        _NOW_STATE[1] = CONFIG._tz
        _NOW_STATE[2] = now.replace(minute=0, second=0, microsecond=0).timestamp() + 3600
    else:
        _NOW_STATE[1], _NOW_STATE[2] = None, 0.0
    return _NOW_CACHE


def _ts3164(key: tuple[str, ...]) -> str | None:
    """ISO UTC for an RFC 3164 date's groups (month, day, year or None, h, m, s)."""
    cache = _now_cache()
    ts = cache.get(key, _MISS)
    if ts is _MISS:
        mon, day = MONTHS[key[0].lower()], int(key[1])
        try:
            year = int(key[2]) if key[2] else infer_year(mon, day)
            ts = iso(datetime(year, mon, day, int(key[3]), int(key[4]), int(key[5])))
        except ValueError:
            ts = None
        cache[key] = ts
    return ts  # type: ignore[return-value]


_FAST_TS = re.compile(r"(\d{4})[-/](\d{2})[-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


def parse_time(text: str, fmts: tuple[str, ...]) -> str | None:
    """First format that parses; naive times are read in CONFIG.tz. Returns ISO UTC or None."""
    # _tz_cache's test written out (a call and the zone's property less per line): the cache as it
    # is while the zone it was filled in is still the one set and it has room
    if CONFIG._tz is _TZ_STATE[0] is not None and len(_TZ_CACHE) < _CACHE_MAX:
        cache = _TZ_CACHE
    else:
        cache = _tz_cache()
    key = (text, fmts)
    ts = cache.get(key, _MISS)
    if ts is _MISS:
        ts = cache[key] = _parse_time(text, fmts)
    return ts  # type: ignore[return-value]


def _parse_time(text: str, fmts: tuple[str, ...]) -> str | None:
    text = text.strip()
    if fmts[0] in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S"):
        m = _FAST_TS.fullmatch(text)
        if m:
            try:
                year, month, day, hour, minute, second = map(int, m.groups())
                return iso(datetime(year, month, day, hour, minute, second))
            except ValueError:
                return None
    for fmt in fmts:
        try:
            return iso(datetime.strptime(text, fmt))
        except ValueError:
            continue
    return None


def parse_iso(text: str) -> str | None:
    cache = _tz_cache()
    ts = cache.get(text, _MISS)
    if ts is _MISS:
        ts = cache[text] = _parse_iso(text)
    return ts  # type: ignore[return-value]


def _parse_iso(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    try:
        return iso(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


# ---------------------------------------------------------------- syslog header


@dataclass(slots=True)
class SyslogHeader:
    timestamp: str | None = None  # ISO UTC
    hostname: str | None = None
    app: str | None = None  # tag / APP-NAME
    pid: str | None = None
    priority: int | None = None
    msgid: str | None = None
    sd: str | None = None  # RFC 5424 structured data, raw


_PRI = re.compile(r"<(\d{1,3})>")
_R5424 = re.compile(
    r"(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) "  # version ts host app procid msgid
    r"(-|(?:\[(?:[^\]\\]|\\.)*\])+) ?(.*)", re.S)
_R3164_TS = re.compile(r"([A-Z][a-z]{2}) {1,2}(\d{1,2}) (?:(\d{4}) )?(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?:? ")
_ISO_TS = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?) ")
_TAG = re.compile(r"([\w./-]{1,48})(?:\[(\d{1,10})\])?:(?: |(?=\[))")  # `kernel:[WAN_IN-1-D]IN=` too
_HOST = re.compile(r"([\w.:-]{1,255}) ")
# The common RFC 3164 header in one match, the same reading as the steps of split_syslog below:
# [<PRI>] date [host ] [tag[pid]: ], where a host is read only when the tag does not start there
# (and the text there is not "%"). A month name that is not a month, and anything this does not
# match, goes the long way. Its runs are possessive (`{m,n}+`, Python 3.11): each is followed by a
# character it cannot hold (the host's run by " ", the tag's by "[" or ":", digits by ">", " ",
# "]" or ":"), so giving a character back could never lead to a match; not offering to saves the
# engine its backtracking (0.1-0.3 us a header). The date (month to seconds) is also captured whole:
# the key of the date cache, one string cheaper to hash than its groups.
_TAG_AHEAD = r"[\w./-]{1,48}+(?:\[\d{1,10}+\])?:(?: |(?=\[))"
_FAST3164 = re.compile(
    r"(?:<(\d{1,3}+)>)?"
    + r"(([A-Z][a-z]{2}) {1,2}+(\d{1,2}+) (?:(\d{4}) )?(\d{2}):(\d{2}):(\d{2}))(?:\.\d++)?:? "  # _R3164_TS
    + r"(?:(?!" + _TAG_AHEAD + r"|%)([\w.:-]{1,255}+) )?"
    + r"(?:([\w./-]{1,48}+)(?:\[(\d{1,10}+)\])?:(?: |(?=\[)))?")  # _TAG


def split_syslog(text: str) -> tuple[SyslogHeader | None, str]:
    """Strip an RFC 5424 or RFC 3164 header if there is one; returns (header or None, message)."""
    fast = _FAST3164.match(text)
    if fast is not None:
        pri, date, mon, day, year, hh, mm, ss, host, app, pid = fast.groups()
        if mon.lower() in MONTHS:
            # _now_cache's quick test written out (one call less per line); the rest the long way
            if CONFIG.now is utc_now and CONFIG._tz is _NOW_STATE[1] and time.time() < _NOW_STATE[2] \
                    and len(_NOW_CACHE) < _CACHE_MAX:
                cache = _NOW_CACHE
            else:
                cache = _now_cache()
            ts = cache.get(date, _MISS)
            if ts is _MISS:
                ts = cache[date] = _ts3164((mon, day, year, hh, mm, ss))
            return SyslogHeader(ts, host, app, pid,  # type: ignore[arg-type]
                                None if pri is None else int(pri)), text[fast.end():]
    return _split_syslog(text)


def _split_syslog(text: str) -> tuple[SyslogHeader | None, str]:
    """split_syslog the long way (no RFC 3164 header as _FAST3164 reads one). Where no date can
    start (RFC 3164's month starts with [A-Z]; _ISO_TS's date has its `T` 10 characters in) and
    there is no `<` (or, after a PRI, no RFC 5424 version `1 `), there is no header to read: said
    without trying the patterns (a FortiGate disk log line, `date=...`: ~0.3 us; a Huawei
    `<190>2020-04-14 00:25:00 ...`). tests/textlogs/test_split_syslog.py keeps the steps without
    these shortcuts as the reference."""
    if not text.startswith("<") and not "A" <= text[:1] <= "Z" and text[10:11] != "T":
        return None, text
    pos = 0
    hdr = SyslogHeader()
    seen = False
    m = _PRI.match(text)
    if m:
        hdr.priority = int(m.group(1))
        pos = m.end()
        if not "A" <= text[pos:pos + 1] <= "Z" and text[pos + 10:pos + 11] != "T" and not text.startswith("1 ", pos):
            return hdr, text[pos:]
        m5 = _R5424.match(text, pos) if text.startswith("1 ", pos) else None  # only version 1 is read
        if m5 and m5.group(1) == "1":
            ts, host, app, pid, msgid, sd, msg = m5.groups()[1:]
            hdr.timestamp = parse_iso(ts) if ts != "-" else None
            hdr.hostname = None if host == "-" else host
            hdr.app = None if app == "-" else app
            hdr.pid = None if pid == "-" else pid
            hdr.msgid = None if msgid == "-" else msgid
            hdr.sd = None if sd == "-" else sd
            if msg.startswith("\ufeff"):
                msg = msg[1:]
            return hdr, msg
    m = _R3164_TS.match(text, pos)
    if m and m.group(1).lower() in MONTHS:
        hdr.timestamp = _ts3164(m.group(1, 2, 3, 4, 5, 6))
        pos = m.end()
        seen = True
    else:
        mi = _ISO_TS.match(text, pos)
        if mi:
            hdr.timestamp = parse_iso(mi.group(1))
            pos = mi.end()
            seen = True
    if seen:
        # hostname unless the next token is already the tag ("kernel:", "%ASA-...")
        mt = _TAG.match(text, pos)
        if not mt and not text.startswith("%", pos):
            mh = _HOST.match(text, pos)
            if mh:
                hdr.hostname = mh.group(1)
                pos = mh.end()
                mt = _TAG.match(text, pos)
        if mt:
            hdr.app, hdr.pid = mt.group(1), mt.group(2)
            pos = mt.end()
        return hdr, text[pos:]
    if hdr.priority is not None:
        return hdr, text[pos:]
    return None, text


# ---------------------------------------------------------------- building events

ParseFn = Callable[[str, "SyslogHeader | None"], dict[str, Any]]
LineFn = Callable[[bytes, str, int], "Event | DeadLetter"]


def _reason(module: str, exc: BaseException) -> str:
    text = f"{module}: {type(exc).__name__}: {exc}" if not isinstance(exc, ParseError) else f"{module}: {exc}"
    return text[:MAX_REASON]


def finish(doc: dict[str, Any], *, raw_text: str, hdr: SyslogHeader | None, module: str, dataset: str,
           source: str, position: int, raw: bytes, ecs_dataset: str | None = None) -> Event:
    """Common fields every document carries, then the Event with its deterministic id.

    `dataset` is the family (firewall | av: topic, index, `logwarden.family`); `ecs_dataset` the
    `event.dataset` Elastic's integration writes (default `<module>.log`), whose first part is
    `event.module`.
    """
    ecs_name = ecs_dataset or f"{module}.log"
    return _finish(doc, raw_text, hdr, ecs_name.partition(".")[0], ecs_name, dataset, source, position, raw)


def _finish(doc: dict[str, Any], raw_text: str, hdr: SyslogHeader | None, ev_module: str, ev_dataset: str,
            dataset: str, source: str, position: int, raw: bytes) -> Event:
    """`finish` with the names that are constant per source already worked out (line_parser does it
    once). The nodes that the Community ID, related.* and the Kafka key read (source, destination,
    host, observer) are looked up once here and handed to each."""
    ev: Any = doc.get("event")  # doc.setdefault("event", {}) without an empty dict made per line
    if ev is None and "event" not in doc:
        ev = doc["event"] = {}
    ev["original"] = raw_text
    ev["module"] = ev_module
    ev["dataset"] = ev_dataset
    family = doc.get("logwarden")  # logwarden.family: what topics, indices and the Sigma pipelines gate on
    if family.__class__ is dict:
        family["family"] = dataset
    else:
        doc["logwarden"] = {"family": dataset}
    firewall = dataset == "firewall"
    if "kind" not in ev:
        ev["kind"] = "event" if firewall else "alert"
    if "category" not in ev:
        ev["category"] = ["network"] if firewall else ["malware"]
    stamp = doc.get("@timestamp")
    if hdr is not None:
        if hdr.timestamp and not stamp:
            doc["@timestamp"] = stamp = hdr.timestamp
        if hdr.hostname:  # put(doc, "observer.hostname" | "host.hostname", ...) written out
            side = "observer" if firewall else "host"
            names = doc.get(side)
            if names.__class__ is not dict:
                names = doc[side] = {}
            names["hostname"] = hdr.hostname
        pri = hdr.priority
        if (pri is not None and pri < 192) or hdr.app:
            log = doc.get("log")
            if log.__class__ is not dict:
                log = doc["log"] = {}
            syslog = log.get("syslog")
            if syslog.__class__ is not dict:
                syslog = log["syslog"] = {}
            if pri is not None and pri < 192:
                syslog["priority"] = pri
                syslog["facility"] = {"code": pri >> 3}
                syslog["severity"] = {"code": pri & 7}
            if hdr.app:
                syslog["appname"] = hdr.app
    if not stamp:
        doc["@timestamp"] = iso(CONFIG.now())
        flag(doc, "timestamp-missing")
    src, dst, network = doc.get("source"), doc.get("destination"), doc.get("network")
    if src.__class__ is not dict:
        src = _NO_NODE
    if dst.__class__ is not dict:
        dst = _NO_NODE
    sip, dip = src.get("ip"), dst.get("ip")  # read once for the Community ID and related.ip
    if sip and dip and network.__class__ is dict and not network.get("community_id"):
        _flow_id(doc, network, src, dst, sip, dip)
    obs, host = doc.get("observer"), doc.get("host")
    if obs.__class__ is not dict:
        obs = _NO_NODE
    if host.__class__ is not dict:
        host = _NO_NODE
    _related(doc, src, dst, host, obs, sip, dip)
    key = (obs.get("name") or host.get("name") or obs.get("hostname") or host.get("hostname") or "unknown")
    eid = ev["id"] = line_id(source, position, raw)
    return Event(eid, dataset, key if key.__class__ is str else str(key), doc, position)


_NO_NODE: dict[str, Any] = {}


def line_id(source: str, position: int, raw: bytes) -> str:
    """`base.event_id(source, position, raw)` (the same string), hashed without building its parts
    twice: the parts as event_id feeds them (each as text, each followed by the 0x1f separator).
    The source's part is hashed once per source (a blake2b state copied per line, _ID_STATES);
    the rest is added per line. The text of `raw` is its repr; for a line without a control
    character, DEL or a single quote (most lines) that is b'<the bytes, each backslash doubled, each
    byte from 0x80 written \\xhh>', added as bytes without building the repr: the ASCII bytes as
    they are, the others by the `backslashreplace` encoder (which writes a character below 0x100 as
    repr writes a byte, lowercase hex) over the bytes read as Latin-1. That way's checks are a fixed
    cost and repr's grows with the line (CPU time of the whole call on this 2-core box: 0.9 vs 0.6 us
    at 40 bytes, 1.2 each at 200, 1.4 vs 1.5 at 300), so shorter lines take repr. A line is checked
    by one `translate` through _REPR_MARKS, which changes exactly the bytes repr escapes: CPython
    hands back the bytes object itself when nothing changed (any other answer only means repr)."""
    state = _ID_STATES.get(source)
    if state is None:
        state = _id_state(source)
    h = state.copy()
    if len(raw) >= _BYTES_JOIN_FROM and position.__class__ is int and raw.__class__ is bytes \
            and raw.translate(_REPR_MARKS) is raw:
        if b"\\" in raw:
            raw = raw.replace(b"\\", b"\\\\")
        if not raw.isascii():
            raw = raw.decode("latin-1").encode("ascii", "backslashreplace")
        h.update(b"%d\x1fb'%b'\x1f" % (position, raw))
    else:
        h.update(f"{position}\x1f{raw!r}\x1f".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _id_state(source: str) -> Any:
    """The blake2b state after `source` and its separator (line_id copies it per line); cached per
    source text, the cache emptied when full."""
    if len(_ID_STATES) >= _CACHE_MAX:
        _ID_STATES.clear()
    state = _ID_STATES[source] = blake2b(f"{source}\x1f".encode("utf-8", "surrogateescape"), digest_size=16)
    return state


_ID_STATES: dict[str, Any] = {}
# the bytes repr() escapes inside b'...' but for the backslash (doubled) and those from 0x80 (\xhh):
# controls, DEL and the single quote (with one, repr may choose double quotes)
_REPR_ESCAPES = bytes(range(0x20)) + b"'\x7f"
# a translation table that changes exactly those bytes (each to the next byte value, DEL to NUL)
_REPR_MARKS = bytes((b + 1) % 256 if b in _REPR_ESCAPES else b for b in range(256))
_BYTES_JOIN_FROM = 200  # line length (bytes) from which line_id adds bytes instead of building repr

_RELATED = (
    ("related.ip", ("source.ip", "source.nat.ip", "destination.ip", "destination.nat.ip", "host.ip")),
    ("related.user", ("user.name", "source.user.name", "destination.user.name")),
    ("related.hosts", ("host.hostname", "observer.hostname", "source.domain", "destination.domain")),
    ("related.hash", ("file.hash.md5", "file.hash.sha1", "file.hash.sha256")),
)  # what `related` collects (tests/scaling/test_textlog_fastpath.py checks it against this table)


def related(doc: dict[str, Any]) -> None:
    """related.ip / user / hosts / hash: the values of the fields Elastic's pipelines collect there
    (_RELATED), each once, in field order (kept when the parser already set some)."""
    src, dst = _obj(doc.get("source")), _obj(doc.get("destination"))
    _related(doc, src, dst, _obj(doc.get("host")), _obj(doc.get("observer")), src.get("ip"), dst.get("ip"))


def _related(doc: dict[str, Any], src: dict[str, Any], dst: dict[str, Any], host: dict[str, Any],
             obs: dict[str, Any], sip: Any, dip: Any) -> None:
    """`related` on the document's source, destination, host and observer objects (_NO_NODE for
    one that is missing) and the source and destination ip (read by the caller). Written out field
    by field: it runs for every line. A document without
    related.* yet (every parser but a few) gets its lists built directly; one with values the
    parser set goes through _collect, which keeps them first."""
    preset = doc.get("related")
    snat, dnat, hip = src.get("nat"), dst.get("nat"), host.get("ip")
    if preset is None and snat is None and dnat is None and hip is None \
            and sip.__class__ is str and dip.__class__ is str:
        # source and destination addresses only (most firewall lines): at most two, in that order
        if sip:
            doc["related"] = {"ip": [sip, dip] if dip and dip != sip else [sip]}
        elif dip:
            doc["related"] = {"ip": [dip]}
    else:
        found = (sip, snat.get("ip") if snat.__class__ is dict else None, dip,
                 dnat.get("ip") if dnat.__class__ is dict else None, hip)
        if found != _NOTHING[5]:
            _collect(doc, "ip", found)
    g = doc.get
    user, suser, duser = g("user"), src.get("user"), dst.get("user")
    if user is not None or suser is not None or duser is not None:
        _collect(doc, "user", (_obj(user).get("name"), _obj(suser).get("name"), _obj(duser).get("name")))
    hostname, observer_name, src_domain, dst_domain = (host.get("hostname"), obs.get("hostname"),
                                                       src.get("domain"), dst.get("domain"))
    if preset is None and src_domain is None and dst_domain is None and (hostname is None or observer_name is None):
        # one name at most (the syslog header's host, as observer.hostname or host.hostname)
        only = observer_name if hostname is None else hostname
        if only.__class__ is str:
            if only:
                rel = doc.get("related")  # made above if at all: an object without "hosts"
                if rel is None:
                    doc["related"] = {"hosts": [only]}
                else:
                    rel["hosts"] = [only]
        elif only is not None:
            _collect(doc, "hosts", (hostname, observer_name, src_domain, dst_domain))
    elif (hostname, observer_name, src_domain, dst_domain) != _NOTHING[4]:
        _collect(doc, "hosts", (hostname, observer_name, src_domain, dst_domain))
    file = g("file")
    if file.__class__ is dict:
        hashes = _obj(file.get("hash"))
        _collect(doc, "hash", (hashes.get("md5"), hashes.get("sha1"), hashes.get("sha256")))


_NOTHING = {n: (None,) * n for n in (4, 5)}  # no value found: values set by the parser stay as they are


def _obj(value: Any) -> dict[str, Any]:
    return value if value.__class__ is dict else _NO_NODE


def _collect(doc: dict[str, Any], leaf: str, found: tuple[Any, ...]) -> None:
    rel = doc.get("related")
    existing = rel.get(leaf) if rel.__class__ is dict else None
    values: list[str] | None = (list(existing) if isinstance(existing, list) else [existing]) if existing else None
    for value in found:
        if value.__class__ is str:
            if not value:
                continue
            if values is None:
                values = [value]
            elif value not in values:
                values.append(value)
        elif isinstance(value, list):
            for item in value:
                if item.__class__ is str and item:
                    if values is None:
                        values = [item]
                    elif item not in values:
                        values.append(item)
    if values:
        if rel.__class__ is not dict:
            rel = doc["related"] = {}
        rel[leaf] = values


def flow_id(doc: dict[str, Any]) -> None:
    """network.community_id from source/destination ip and port (ICMP: icmp.type / icmp.code) and
    network.iana_number, when all that the protocol needs is there and valid."""
    network = doc.get("network")
    src, dst = _obj(doc.get("source")), _obj(doc.get("destination"))
    sip, dip = src.get("ip"), dst.get("ip")
    if sip and dip and network.__class__ is dict and not network.get("community_id"):
        _flow_id(doc, network, src, dst, sip, dip)


def _flow_id(doc: dict[str, Any], network: dict[str, Any], src: dict[str, Any], dst: dict[str, Any],
             sip: Any, dip: Any) -> None:
    """`flow_id` on the document's network, source and destination objects (_NO_NODE for a missing
    end) and the two addresses (the caller read them, and calls only when both are there)."""
    iana = network.get("iana_number")
    if iana is None:
        return
    proto = _SMALL_INTS.get(iana) if iana.__class__ is str else None
    if proto is None:
        proto = to_int(iana)
        if proto is None:
            return
    if proto == 1 or proto == 58:
        icmp = doc.get("icmp")
        if icmp.__class__ is not dict:
            icmp = _NO_NODE
        sport, dport = _small_int(icmp.get("type")), _small_int(icmp.get("code"))
    else:
        sport, dport = src.get("port"), dst.get("port")
    flow = community_id(sip, dip, proto, sport, dport)
    if flow:
        network["community_id"] = flow


def _small_int(value: Any) -> int | None:
    """to_int, by lookup for the texts 0-255 (ICMP type and code as parsers write them)."""
    if value.__class__ is str:
        known = _SMALL_INTS.get(value)
        if known is not None:
            return known
    return to_int(value)


_SMALL_INTS = {str(n): n for n in range(256)}  # to_int of an iana_number as parsers write it, by lookup


def line_parser(module: str, dataset: str, parse: ParseFn, *, ecs_dataset: str | None = None) -> LineFn:
    """The per-line contract around a module's `parse`: never raises. `dataset` is the family
    (firewall | av), `ecs_dataset` the integration's `event.dataset` (see `finish`)."""

    ecs_name = ecs_dataset or f"{module}.log"
    ev_module = ecs_name.partition(".")[0]

    def parse_line(raw: bytes, source: str, position: int) -> Event | DeadLetter:
        try:
            try:
                text = raw.decode("utf-8")  # `decode`'s first step, without its call
            except UnicodeDecodeError:
                fallback = decode(raw)
                if fallback is None:
                    return DeadLetter(source, raw, f"{module}: not UTF-8 or GB18030", dataset, position)
                text = fallback
            text = text.rstrip("\r\n")
            if not text or text.isspace():
                return DeadLetter(source, raw, f"{module}: empty message", dataset, position)
            hdr, msg = split_syslog(text)
            doc = parse(msg, hdr)
            return _finish(doc, text, hdr, ev_module, ecs_name, dataset, source, position, raw)
        except Exception as exc:  # noqa: BLE001 - the contract: every line is an event or a dead letter
            return DeadLetter(source, raw, _reason(module, exc), dataset, position)

    def after_split(raw: bytes, text: str, hdr: SyslogHeader | None, msg: str, source: str,
                    position: int) -> Event | DeadLetter:
        """parse_line for a caller that already decoded the line (`text`, line end stripped) and
        split its syslog header (autodetect does both to pick the parser): the same result."""
        try:
            if not text or text.isspace():  # `not text.strip()` without copying the line
                return DeadLetter(source, raw, f"{module}: empty message", dataset, position)
            doc = parse(msg, hdr)
            return _finish(doc, text, hdr, ev_module, ecs_name, dataset, source, position, raw)
        except Exception as exc:  # noqa: BLE001 - the contract: every line is an event or a dead letter
            return DeadLetter(source, raw, _reason(module, exc), dataset, position)

    parse_line.__name__ = f"parse_line_{module}"
    setattr(parse_line, AFTER_SPLIT, after_split)  # the public shape stays parse_line(raw, source, position)
    return parse_line


AFTER_SPLIT = "after_split"  # attribute of a line_parser's parse_line: see line_parser.after_split


def iter_lines(data: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(byte offset of the line start, line without its newline); blank lines are not records."""
    offset = 0
    try:
        offset = data.tell()
    except (OSError, AttributeError, ValueError):
        offset = 0
    for line in data:
        start = offset
        offset += len(line)
        body = line.rstrip(b"\r\n")
        if body.strip():
            yield start, body


def stream_parser(parse_line: LineFn) -> Callable[[str, BinaryIO], Iterator[Event | DeadLetter]]:
    """parse_stream(path, data): one result per non-blank line; position = the line's byte offset."""

    def parse_stream(path: str, data: BinaryIO) -> Iterator[Event | DeadLetter]:
        for offset, raw in iter_lines(data):
            yield parse_line(raw, path, offset)

    return parse_stream


def verdict(doc: dict[str, Any], action: str | None, *, allowed: bool | None, phase: str | None = None) -> None:
    """event.action (the vendor's verb), event.type [connection, start|end, allowed|denied], outcome."""
    ev = doc.get("event")  # node(doc, "event") for the one-part path, without its loop
    if ev.__class__ is not dict:
        ev = doc["event"] = {}
    if action:
        ev["action"] = action.lower()
    types = ["connection"]
    if phase:
        types.append(phase)
    if allowed is True:
        types.append("allowed")
        ev["outcome"] = "success"
    elif allowed is False:
        types.append("denied")
        ev["outcome"] = "failure"
    ev["type"] = types
    ev["category"] = ["network"]


def is_private(ip: str | None) -> bool | None:
    """Not a public address (logwarden.networks.NOT_PUBLIC); None when there is no valid address.
    Read from the address's cached facts (addresses repeat; the ranges are constants)."""
    if ip.__class__ is str:
        known = _FACTS.get(ip)  # type: ignore[arg-type]
        return (known if known is not None else learn_address(ip))[PRIVATE]  # type: ignore[arg-type]
    return private_address(ip)


def direction_from_ips(doc: dict[str, Any]) -> None:
    """network.direction from logwarden.networks (public or not), when the device did not say."""
    network = _obj(doc.get("network"))
    if network.get("direction"):
        return
    s = is_private(_obj(doc.get("source")).get("ip"))
    if s is None:
        return
    d = is_private(_obj(doc.get("destination")).get("ip"))
    if d is None:
        return
    put(doc, "network.direction",
        "internal" if s and d else "outbound" if s else "inbound" if d else "external")


def av_action(text: str | None) -> str:
    """ECS-style event.action for an antivirus verdict, from the vendor's action words (en/zh)."""
    low = (text or "").lower()
    for words, action in _AV_ACTIONS:
        if any(w in low for w in words):
            return action
    return "malware-detected"


_AV_ACTIONS = (
    (("quarantin", "隔离", "moved to"), "malware-quarantined"),
    (("delet", "删除", "removed", "remove"), "malware-deleted"),
    (("clean", "清除", "repair", "修复"), "malware-cleaned"),
    (("block", "deny", "denied", "阻止", "拦截", "terminat"), "malware-blocked"),
    (("left alone", "ignore", "忽略", "信任", "allow", "no action", "none"), "malware-detected"),
)
