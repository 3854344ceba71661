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
    doc: dict[str, Any] = {}
    put(doc, "@timestamp", _time(kv))
    put(doc, "observer.vendor", "Fortinet")
    put(doc, "observer.product", "Fortigate")  # as Elastic's integration writes it
    put(doc, "observer.type", "firewall")
    put(doc, "observer.name", kv.get("devname"))
    put(doc, "observer.serial_number", kv.get("devid"))
    put(doc, "observer.ingress.interface.name", kv.get("srcintf"))
    put(doc, "observer.egress.interface.name", kv.get("dstintf"))
    put(doc, "observer.ingress.zone", kv.get("srcintfrole"))
    put(doc, "observer.egress.zone", kv.get("dstintfrole"))
    vpn = kv.get("subtype") == "vpn"
    if vpn and not kv.get("srcip"):
        t.endpoint(doc, "source", kv.get("remip"), kv.get("remport"))
        t.endpoint(doc, "destination", kv.get("locip"), kv.get("locport"))
    else:
        t.endpoint(doc, "source", kv.get("srcip"), kv.get("srcport"))
        t.endpoint(doc, "destination", kv.get("dstip"), kv.get("dstport"))
    t.endpoint(doc, "source.nat", kv.get("transip"), kv.get("transport"))
    t.endpoint(doc, "destination.nat", kv.get("tranip"), kv.get("tranport"))
    put(doc, "source.mac", kv.get("srcmac"))
    put(doc, "source.geo.country_name", _country(kv.get("srccountry")))
    put(doc, "destination.geo.country_name", _country(kv.get("dstcountry")))
    t.transport(doc, kv.get("proto"))
    put(doc, "network.application", (kv.get("app") or "").lower() or None)
    put(doc, "network.protocol", (kv.get("service") or "").lower() or None)
    put(doc, "rule.id", kv.get("policyid"))
    put(doc, "rule.name", kv.get("policyname"))
    put(doc, "rule.uuid", kv.get("poluuid"))
    put(doc, "event.code", kv.get("logid"))
    put(doc, "event.severity", _SEV.get(kv.get("level", "")))
    put(doc, "log.level", kv.get("level"))
    put(doc, "source.bytes", t.to_int(kv.get("sentbyte")))
    put(doc, "destination.bytes", t.to_int(kv.get("rcvdbyte")))
    put(doc, "source.packets", t.to_int(kv.get("sentpkt")))
    put(doc, "destination.packets", t.to_int(kv.get("rcvdpkt")))
    sb, db = t.get(doc, "source.bytes"), t.get(doc, "destination.bytes")
    if sb is not None or db is not None:
        put(doc, "network.bytes", (sb or 0) + (db or 0))
    user = kv.get("user") or kv.get("srcuser") or (kv.get("xauthuser") if vpn else None)
    put(doc, "user.name", user)
    put(doc, "source.user.name", user)
    put(doc, "fortinet.firewall.tunneltype", kv.get("tunneltype"))
    put(doc, "fortinet.firewall.vpntunnel", kv.get("vpntunnel"))
    put(doc, "message", kv.get("msg"))
    put(doc, "fortinet.firewall.type", kv.get("type"))
    put(doc, "fortinet.firewall.subtype", kv.get("subtype"))
    put(doc, "fortinet.firewall.vd", kv.get("vd"))
    put(doc, "fortinet.firewall.sessionid", kv.get("sessionid"))
    put(doc, "fortinet.firewall.trandisp", kv.get("trandisp"))
    put(doc, "fortinet.firewall.crscore", kv.get("crscore"))
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
