"""FortiGate key=value log lines (syslog or disk log export).

Mapping follows Elastic's fortinet_fortigate integration: srcip/dstip -> source/destination,
transip/transport -> source.nat.*, tranip/tranport -> destination.nat.*, srcintf/dstintf ->
observer.ingress/egress.interface.name, policyid -> rule.id, devname -> observer.name; event.type,
event.action and event.category per log type as its traffic.yml, utm.yml, event.yml and login.yml
set them (docs/ecs-conformance.md lists where we differ).
Time: `eventtime` (epoch s/ms/us/ns) when present, else date+time read in the `tz` field
(e.g. "+0800"), else in the configured default zone.

`N/A` (FortiOS's "no value", e.g. `user="N/A"`, `remip=N/A`) is absent, never a value. VPN events
(`subtype=vpn`) name their ends `remip`/`remport` (the remote peer: the client, who initiates)
and `locip`/`locport` (this FortiGate): remote -> source (the peer or client that connects), local ->
destination, and the VPN user (`user`, `xauthuser`) -> source.user.name; event.category network,
event.type connection. Elastic's event.yml puts locip in source and remip in destination: a kept
difference (docs/ecs-conformance.md).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from logwarden.shippers import textlog as t
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

ALLOW = {"accept", "allow", "close", "timeout", "client-rst", "server-rst", "pass", "passthrough",
         "ip-conn", "dns", "permit", "monitored"}
DENY = {"deny", "block", "blocked", "dropped", "drop", "reject"}
ALLOW_OR_DENY = ALLOW | DENY
ROLE_DIR = {("wan", "lan"): "inbound", ("lan", "wan"): "outbound", ("lan", "lan"): "internal",
            ("wan", "wan"): "external", ("wan", "dmz"): "inbound", ("dmz", "wan"): "outbound"}


def _time(kv: dict[str, str]) -> str | None:
    et = t.to_int(kv.get("eventtime"))
    if et is not None and et > 0:
        for div in (1, 1_000, 1_000_000, 1_000_000_000):
            if et / div < 10_000_000_000:
                try:
                    return t.iso(datetime.fromtimestamp(et / div, UTC))
                except (OverflowError, OSError, ValueError):
                    break
    if "date" in kv and "time" in kv:
        stamp = f"{kv['date']} {kv['time']}"
        tz = kv.get("tz", "").replace('"', "")
        if tz and tz[0] in "+-":
            return t.parse_time(f"{stamp} {tz}", ("%Y-%m-%d %H:%M:%S %z",))
        return t.parse_time(stamp, ("%Y-%m-%d %H:%M:%S",))
    return None


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    kv = {key: value for key, value in t.kv_pairs(msg).items() if value != "N/A"}
    if not ({"devname", "devid", "logid"} & kv.keys()) or "type" not in kv:
        raise ParseError("not a FortiGate key=value line (no devname/devid/logid and type)")
    g = kv.get
    # the fixed fields are built as literals with conditional writes (a `put` per field was most
    # of this parser's cost); a kv value is a string, so "if value" skips what `put` skips
    doc: dict[str, Any] = {}
    stamp = _time(kv)
    if stamp:
        doc["@timestamp"] = stamp
    observer: dict[str, Any] = {"vendor": "Fortinet", "product": "Fortigate"}  # as Elastic writes it
    observer["type"] = "firewall"
    for leaf, key in (("name", "devname"), ("serial_number", "devid")):
        value = g(key)
        if value:
            observer[leaf] = value
    for side, intf, zone in (("ingress", g("srcintf"), g("srcintfrole")), ("egress", g("dstintf"), g("dstintfrole"))):
        if intf or zone:
            where = observer[side] = {}
            if intf:
                where["interface"] = {"name": intf}
            if zone:
                where["zone"] = zone
    doc["observer"] = observer
    vpn = g("subtype") == "vpn"
    if vpn and not g("srcip"):
        t.endpoint(doc, "source", g("remip"), g("remport"))
        t.endpoint(doc, "destination", g("locip"), g("locport"))
    else:
        t.endpoint(doc, "source", g("srcip"), g("srcport"))
        t.endpoint(doc, "destination", g("dstip"), g("dstport"))
    if g("transip") is not None or g("transport") is not None:
        t.endpoint(doc, "source.nat", g("transip"), g("transport"))
    if g("tranip") is not None or g("tranport") is not None:
        t.endpoint(doc, "destination.nat", g("tranip"), g("tranport"))
    if g("srcmac"):
        t.node(doc, "source")["mac"] = kv["srcmac"]
    put(doc, "source.geo.country_name", _country(g("srccountry")))
    put(doc, "destination.geo.country_name", _country(g("dstcountry")))
    t.transport(doc, g("proto"))
    put(doc, "network.application", (g("app") or "").lower() or None)
    put(doc, "network.protocol", (g("service") or "").lower() or None)
    rule = {leaf: value for leaf, key in _RULE if (value := g(key))}
    if rule:
        doc["rule"] = rule
    put(doc, "event.code", g("logid"))
    put(doc, "event.severity", _SEV.get(g("level", "")))
    put(doc, "log.level", g("level"))
    sb, db = t.to_int(g("sentbyte")), t.to_int(g("rcvdbyte"))
    put(doc, "source.bytes", sb)
    put(doc, "destination.bytes", db)
    put(doc, "source.packets", t.to_int(g("sentpkt")))
    put(doc, "destination.packets", t.to_int(g("rcvdpkt")))
    if sb is not None or db is not None:
        put(doc, "network.bytes", (sb or 0) + (db or 0))
    user = g("user") or g("srcuser") or (g("xauthuser") if vpn else None)
    if user:
        doc["user"] = {"name": user}
        t.node(doc, "source")["user"] = {"name": user}
    if g("msg"):
        doc["message"] = kv["msg"]
    firewall = {leaf: value for leaf, value in ((leaf, g(leaf)) for leaf in _FIREWALL) if value}
    if firewall:
        doc["fortinet"] = {"firewall": firewall}
    action = (kv.get("action") or "").lower()
    if kv.get("type") == "traffic":
        _traffic(doc, kv, action)
    elif kv.get("type") in ("utm", "dns"):
        _utm(doc, kv, action)
    elif action in ALLOW_OR_DENY:
        allowed = True if action in ALLOW else False if action in DENY else None
        t.verdict(doc, action or None, allowed=allowed)
    elif vpn:
        put(doc, "event.action", action or None)
        put(doc, "event.category", ["network"])
        put(doc, "event.type", ["connection"])
        status = (kv.get("status") or kv.get("result") or "").lower()
        put(doc, "event.outcome", "failure" if status in ("negotiate_error", "error", "failure")
            else "success" if status in ("success", "ok") else None)
    else:
        _event(doc, kv, action)
    text = f"{kv.get('msg', '')} {kv.get('logdesc', '')}".lower()
    if kv.get("type") == "event" and ("login" in text or "logged in" in text):
        cats = ["network"] if vpn else []  # Elastic's login.yml appends it (and reads msg only)
        put(doc, "event.category", cats + ["authentication"])
    if kv.get("qname"):  # DNS filter logs (utm.yml: qname, ipaddr "a, b" -> dns.*, related.ip)
        put(doc, "dns.question.name", kv["qname"])
        resolved = [ip for ip in (t.ip_or_none(a.strip()) for a in kv.get("ipaddr", "").split(",")) if ip]
        put(doc, "dns.resolved_ip", resolved or None)
        put(doc, "related.ip", resolved or None)
    if kv.get("type") == "utm" and kv.get("subtype") == "virus":
        put(doc, "event.category", ["network", "malware"])
        put(doc, "rule.name", kv.get("virus"))
        put(doc, "file.name", kv.get("filename"))
        put(doc, "url.original", kv.get("url"))
    role = (kv.get("srcintfrole"), kv.get("dstintfrole"))
    put(doc, "network.direction", ROLE_DIR.get(role))  # type: ignore[arg-type]
    t.direction_from_ips(doc)
    return doc


def _traffic(doc: dict[str, Any], kv: dict[str, str], action: str) -> None:
    """Traffic logs as Elastic's traffic.yml types them: connection, start (action `start`) or end
    (any other action: FortiOS writes traffic logs when a session ends), protocol when an application
    was identified, allowed unless denied (`deny`, or a UTM profile's `utmaction=block`). Outcome
    success, failure for a denial (Elastic: success for every line with an action)."""
    denied = action == "deny" or kv.get("utmaction") == "block"
    types = ["connection"]
    if action:
        types.append("start" if action == "start" else "end")
    if kv.get("app") and action != "deny":
        types.append("protocol")
    if not kv.get("utmaction") and action != "deny":
        types.append("allowed")
    if denied:
        types.append("denied")
    put(doc, "event.action", action or None)
    put(doc, "event.type", types)
    put(doc, "event.category", ["network"])
    put(doc, "event.outcome", ("failure" if denied else "success") if action else None)


def _utm(doc: dict[str, Any], kv: dict[str, str], action: str) -> None:
    """UTM/DNS logs as utm.yml: event.action the event type (`infected`, `signature`, ...),
    event.type denied (block/blocked) / allowed (pass/passthrough) / info (DNS), no `connection`."""
    types = (["denied"] if action in ("block", "blocked") else []) + (["info"] if kv.get("subtype") == "dns" else []) \
        + (["allowed"] if action in ("pass", "passthrough") else [])
    put(doc, "event.action", (kv.get("eventtype") or "").lower() or action or None)
    put(doc, "fortinet.firewall.action", action or None)
    put(doc, "event.type", types or ["info"])
    put(doc, "event.category", ["network"])
    blocked = action in DENY
    put(doc, "event.outcome", ("failure" if blocked else "success") if action else None)


_RULE = (("id", "policyid"), ("name", "policyname"), ("uuid", "poluuid"))
_FIREWALL = ("tunneltype", "vpntunnel", "type", "subtype", "vd", "sessionid", "trandisp", "crscore")  # same names
_LOGON = {"fsso-logon", "auth-logon"}
_LOGOFF = {"fsso-logoff", "auth-logout"}
_UI_ADDRESS = re.compile(r"^\w+\(([0-9A-Fa-f.:]+)\)$")  # ui="ssh(203.0.113.45)", "https(10.0.0.5)"


def _event(doc: dict[str, Any], kv: dict[str, str], action: str) -> None:
    """System and user events (event.yml, login.yml): user logons start, logoffs end, the rest info;
    outcome from `result` (OK/ERROR), a logon or logoff action, or an admin login's `status`;
    an admin session's client address (`ui="ssh(ip)"`) is the source, as login.yml reads it."""
    put(doc, "event.action", action or kv.get("subtype"))
    put(doc, "event.type", ["start"] if action in _LOGON else ["end"] if action in _LOGOFF else ["info"])
    result, status = (kv.get("result") or "").upper(), (kv.get("status") or "").lower()
    outcome = "success" if result == "OK" or action in _LOGON | _LOGOFF or status == "success" else \
        "failure" if result == "ERROR" or status in ("failed", "failure") else None
    put(doc, "event.outcome", outcome)
    if kv.get("subtype") == "user":
        put(doc, "event.category", ["authentication"])
    ui = _UI_ADDRESS.match(kv.get("ui", ""))
    if ui and not t.get(doc, "source.ip"):
        t.endpoint(doc, "source", ui.group(1))


def _country(value: str | None) -> str | None:
    return None if not value or value == "Reserved" else value


_SEV = {"emergency": 1, "alert": 2, "critical": 3, "error": 4, "warning": 5, "notice": 6,
        "information": 7, "debug": 8}

parse_line = t.line_parser("fortigate", "firewall", parse, ecs_dataset="fortinet_fortigate.log")
parse_stream = t.stream_parser(parse_line)
