"""Legendsec / Qi An Xin (网神) SecGate syslog: key=value pairs after a syslog header whose tag is
the producing process (`kernel:` for packet filtering, `webui:`, `newconfig:` for administration).

Kinds parsed (the layouts seen in public samples, see README.md):
- `mod=pf` packet filter: sa/sport -> source, da/dport -> destination, proto=IPPROTO_TCP or a number,
  policy=POLICY_PERMIT|POLICY_NAT_PERMIT|POLICY_DENY -> verdict, rule_name -> rule.name, and for a
  NAT policy pa/pport, the translated address: destination.nat when the original destination is
  public and pa is not (a port mapping), source.nat when the source is private and pa is public;
  pa/pport are always kept in secgate.pa/secgate.pport (a sample without NAT holds a multicast
  address there), so no side is guessed.
- attack defence: `act=<verb> sip=... dip=...` with the attack in dsp_msg -> an alert.
- administration: `mod=webui` (logins) and `mod=newconfig` (configuration changes).
Any other `mod` is a dead letter naming it. Times: `date="YYYY/MM/DD HH:MM:SS"` in the configured
zone (the device's local time), else the syslog header's.

Values are cleaned by `_null` (NULL in any case, empty, spaces around), except addresses and ports:
they go to `textlog.endpoint` as written, which already reads NULL, an empty value and spaces
around the way `_null` would (no field, no flag), so cleaning them first would only cost a call.
"""

from __future__ import annotations

import re
from typing import Any

from logwarden.shippers import nat
from logwarden.shippers import textlog as t
from logwarden.shippers.keyvalue import PairTemplates, kv_pairs
from logwarden.shippers.secgate import SOURCE
from logwarden.shippers.textlog import ParseError, SyslogHeader

PERMIT = {"POLICY_PERMIT", "POLICY_NAT_PERMIT"}
DENY = {"POLICY_DENY"}
ADMIN_MODS = {"webui": ["authentication"], "newconfig": ["configuration"]}
_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S")


def _null(value: str | None) -> str | None:
    """The value stripped; None for None, an empty value or NULL in any case."""
    if value is None:
        return None
    value = value.strip()
    if not value or value in _NULL_CASES or (not value.isascii() and value.upper() == "NULL"):
        return None
    return value


# every ASCII text whose upper() is "NULL" (a text with other characters is tested by upper())
_NULL_CASES = frozenset(a + b + c + d for a in "Nn" for b in "Uu" for c in "Ll" for d in "Ll")


def _null_seen(value: str | None) -> str | None:
    """_null(value), kept in _NULLED (bounded) for the fields whose values a device repeats line
    after line (its id and name, the log type and module, rule names, the message text): parse
    reads those with one lookup, `_NULLED.get(raw, _UNSEEN)`, instead of a call."""
    read = _null(value)
    if len(_NULLED) >= 4096:
        _NULLED.clear()
        _NULLED[None] = None
    _NULLED[value] = read
    return read


_NULLED: dict[str | None, str | None] = {None: None}  # raw value -> _null of it
_UNSEEN = object()


def _pairs(text: str) -> dict[str, str]:
    """keyvalue.kv_pairs(text), read by splitting at quotes and whitespace (a SecGate line holds ~22
    pairs, two of them quoted). Only a text in the usual shape is read so: quotes balanced, each
    quoted value right after a lone `key=` token and followed by whitespace or the end, no
    backslash, every key a key of kv_pairs' reading; any other text goes to kv_pairs
    (tests/textlogs/test_secgate_pairs.py compares the two, whitespace of every kind included).

    `str.split()` and the pattern's `\\s` know the same whitespace (both ask Py_UNICODE_ISSPACE),
    so the tokens between quoted values are the runs kv_pairs reads, without a test of the text's
    characters first and without the empty tokens that splitting at single spaces leaves."""
    if "\\" in text:
        return kv_pairs(text)
    parts = text.split('"')
    last = len(parts) - 1
    if last & 1:
        return kv_pairs(text)
    pairs: dict[str, str] = {}
    for at in range(0, last + 1, 2):
        outside = parts[at]
        if at and outside and not outside[0].isspace():  # after a closing quote: whitespace or the end
            return kv_pairs(text)
        tokens = outside.split()
        opener = ""
        if at < last:  # before an opening quote: `key=` alone in its token, right before the quote
            if not tokens or outside[-1].isspace():
                return kv_pairs(text)
            opener = tokens.pop()
            if opener.find("=") != len(opener) - 1:
                return kv_pairs(text)
        for token in tokens:
            key, eq, value = token.partition("=")
            if eq:
                pairs[key] = value
        if opener:
            pairs[opener[:-1]] = parts[at + 1]
    if not _KEYS.issuperset(pairs) and not all(_key(key) for key in pairs):
        return kv_pairs(text)  # a token whose text before `=` is not a key: kv_pairs skips it
    return pairs


def _key(text: str) -> bool:
    """`text` is a whole key of kv_pairs' reading (`[\\w.-]+`); a key found so is kept in _KEYS
    (a log repeats a few keys; bounded)."""
    if _KEY.fullmatch(text) is None:
        return False
    if len(_KEYS) >= 4096:
        _KEYS.clear()
    _KEYS.add(text)
    return True


_KEY = re.compile(r"[\w.-]+")
_KEYS: set[str] = set()

def _proto(value: str | None) -> str | None:
    """The protocol as transport reads it: `IPPROTO_TCP` -> `TCP`, a number as is, None for no
    value. A text seen is kept in _PROTOCOLS (bounded): a device writes a few protocols."""
    read = _null(value)
    if read and read.upper().startswith("IPPROTO_"):
        read = read[len("IPPROTO_"):]
    if value is not None:
        if len(_PROTOCOLS) >= 1024:
            _PROTOCOLS.clear()
        _PROTOCOLS[value] = read
    return read


_PROTOCOLS: dict[str, str | None] = {}
# raw values _null makes None without stripping them first (the others are tested by _null)
_NO_VALUE = frozenset((None, "", *_NULL_CASES))


def _nat(doc: dict[str, Any], kv: dict[str, str]) -> None:
    pa = t.ip_or_none(kv.get("pa"))
    if pa is None:
        return
    source, destination = doc.get("source"), doc.get("destination")
    src_private = t.is_private(source.get("ip") if source.__class__ is dict else None)
    dst_private = t.is_private(destination.get("ip") if destination.__class__ is dict else None)
    pa_private = t.is_private(pa)
    mapped = None
    if dst_private is False and pa_private:
        mapped = "destination.nat"
    elif src_private and pa_private is False:
        mapped = "source.nat"
    if mapped:
        t.endpoint(doc, mapped, pa, _null(kv.get("pport")))


# kv_pairs through templates of the line shapes that repeat (a SecGate writes ~22 pairs per line in a
# few shapes: a matched template reads them ~1.5 us faster than _pairs), _pairs for any other text
_TEMPLATES = PairTemplates(general=_pairs)
_PAIRS = _TEMPLATES.pairs


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    kv = _PAIRS(msg)
    if "devid" not in kv or "dname" not in kv or "logtype" not in kv:
        raise ParseError("not a SecGate line (no devid/dname/logtype)")
    g = kv.get
    nulled = _NULLED
    # built as literals with conditional writes (a `put` per field was most of this parser's cost);
    # _null never returns "", so "if value" skips what `put` skips; numbers are tested against None
    doc: dict[str, Any] = {}
    stamp = t.parse_time(kv["date"], _TIME_FORMATS) if g("date") else None
    if stamp:
        doc["@timestamp"] = stamp
    observer: dict[str, Any] = {"vendor": "Legendsec", "product": "SecGate", "type": "firewall"}
    name = nulled.get(raw := g("dname"), _UNSEEN)
    if name is _UNSEEN:
        name = _null_seen(raw)
    if name:
        observer["name"] = name
    doc["observer"] = observer
    secgate: dict[str, Any] = {}  # devid, logtype, mod, written in parse's frame (no comprehension's)
    value = nulled.get(raw := g("devid"), _UNSEEN)
    if value is _UNSEEN:
        value = _null_seen(raw)
    if value:
        secgate["devid"] = value
    value = nulled.get(raw := g("logtype"), _UNSEEN)
    if value is _UNSEEN:
        value = _null_seen(raw)
    if value:
        secgate["logtype"] = value
    value = nulled.get(raw := g("mod"), _UNSEEN)
    if value is _UNSEEN:
        value = _null_seen(raw)
    if value:
        secgate["mod"] = value
    if secgate:
        doc["secgate"] = secgate
    # numbers: to_int's usual case (ASCII digits) written out, the call for any other text
    number = g("pri")
    severity = int(number) if number is not None and number.isdigit() and number.isascii() else t.to_int(number)
    if severity is not None:
        doc["event"] = {"severity": severity}
    text = nulled.get(raw := g("dsp_msg"), _UNSEEN)
    if text is _UNSEEN:
        text = _null_seen(raw)
    if text:
        doc["message"] = text
    mod = (g("mod") or "").lower()
    if mod == "pf":
        policy = (g("policy") or "").upper()
        if policy not in PERMIT and policy not in DENY:
            raise ParseError(f"SecGate packet filter policy not confirmed: {policy[:40]!r}")
        # addresses and ports as written: endpoint reads NULL as _null would (module docstring); a
        # port that is plainly no value is not handed on (endpoint would try it as a number)
        sport, dport = g("sport"), g("dport")
        t.endpoint(doc, "source", g("sa"), None if sport in _NO_VALUE else sport)
        t.endpoint(doc, "destination", g("da"), None if dport in _NO_VALUE else dport)
        proto = g("proto")
        t.transport(doc, _PROTOCOLS[proto] if proto in _PROTOCOLS else _proto(proto))
        icmp_type, icmp_code = g("type"), g("code")
        if icmp_type not in _NO_VALUE or icmp_code not in _NO_VALUE:  # else icmp writes nothing
            t.icmp(doc, _null(icmp_type), _null(icmp_code))
        rule = nulled.get(raw := g("rule_name"), _UNSEEN)
        if rule is _UNSEEN:
            rule = _null_seen(raw)
        if rule:
            doc["rule"] = {"name": rule}
        secgate["policy"] = policy  # one of PERMIT | DENY: never empty
        doc["secgate"] = secgate
        number = g("sent")
        sent = int(number) if number is not None and number.isdigit() and number.isascii() else t.to_int(number)
        number = g("rcvd")
        rcvd = int(number) if number is not None and number.isdigit() and number.isascii() else t.to_int(number)
        if sent is not None:
            secgate["sent"] = sent
        if rcvd is not None:
            secgate["rcvd"] = rcvd
        number = g("duration")
        duration = (int(number) * 1_000_000_000 if number is not None and number.isdigit() and number.isascii()
                    else _seconds_ns(number))
        if duration is not None:
            _event(doc)["duration"] = duration
        pa = _null(g("pa"))
        if pa:
            secgate["pa"] = pa
        number = g("pport")
        pport = int(number) if number is not None and number.isdigit() and number.isascii() else t.to_int(number)
        if pport is not None:
            secgate["pport"] = pport
        if "NAT" in policy:
            _nat(doc, kv)
        t.verdict(doc, "permit" if policy in PERMIT else "deny", allowed=policy in PERMIT)
        nat.direction(doc)
        return doc
    if "sip" in kv and "act" in kv:
        t.endpoint(doc, "source", kv.get("sip"))
        t.endpoint(doc, "destination", kv.get("dip"))
        event = _event(doc)
        event["kind"] = "alert"
        event["category"] = ["network", "intrusion_detection"]
        verb = kv["act"].lower()
        event["type"] = ["info", "denied"] if verb in ("drop", "deny", "block") else ["info"]
        if verb:
            event["action"] = verb
        nat.direction(doc)
        return doc
    if mod in ADMIN_MODS:
        event = _event(doc)
        event["category"] = ADMIN_MODS[mod]
        event["type"] = ["info"]
        action = _null(kv.get("act"))
        if action is not None:
            event["action"] = action
        user = _null(kv.get("admin")) or _null(kv.get("user"))
        if user is not None:
            doc["user"] = {"name": user}
        t.endpoint(doc, "source", kv.get("from"))
        result = _null(kv.get("result"))
        if result is not None:
            event["outcome"] = "success" if result == "0" else "failure"
        return doc
    raise ParseError(f"SecGate log kind not confirmed, not parsed: mod={mod[:40]!r}")


def _event(doc: dict[str, Any]) -> dict[str, Any]:
    """doc["event"], made when missing (parse writes it as an object or not at all)."""
    event = doc.get("event")
    if event is None:
        event = doc["event"] = {}
    return event  # type: ignore[no-any-return]


def _seconds_ns(value: str | None) -> int | None:
    seconds = t.to_int(value)
    return None if seconds is None or seconds < 0 else seconds * 1_000_000_000


parse_line = t.line_parser(SOURCE.name, SOURCE.dataset, parse)
parse_stream = t.stream_parser(parse_line)
