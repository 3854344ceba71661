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
from logwarden.shippers.keyvalue import PairTemplates
from logwarden.shippers.textlog import ParseError, SyslogHeader, put

ALLOW = {"accept", "allow", "close", "timeout", "client-rst", "server-rst", "pass", "passthrough",
         "ip-conn", "dns", "permit", "monitored"}
DENY = {"deny", "block", "blocked", "dropped", "drop", "reject"}
ALLOW_OR_DENY = ALLOW | DENY
ROLE_DIR = {("wan", "lan"): "inbound", ("lan", "wan"): "outbound", ("lan", "lan"): "internal",
            ("wan", "wan"): "external", ("wan", "dmz"): "inbound", ("dmz", "wan"): "outbound"}


def _time(kv: dict[str, str]) -> str | None:
    """@timestamp: `eventtime` (epoch s/ms/us/ns) when it reads as one, else date+time in `tz` or the
    configured zone (t.parse_time, cached per zone). An epoch's reading is cached per text: lines
    of one second repeat it (bounded; the zone plays no part in it)."""
    epoch = kv.get("eventtime")
    if epoch is not None:
        stamp = _EPOCHS.get(epoch)
        if stamp is None:
            stamp = _from_epoch(epoch)
            if stamp is not None:
                if len(_EPOCHS) >= _EPOCHS_MAX:
                    _EPOCHS.clear()
                _EPOCHS[epoch] = stamp
        if stamp is not None:
            return stamp
    if "date" in kv and "time" in kv:
        stamp = f"{kv['date']} {kv['time']}"
        tz = kv.get("tz", "").replace('"', "")
        if tz and tz[0] in "+-":
            return t.parse_time(f"{stamp} {tz}", ("%Y-%m-%d %H:%M:%S %z",))
        return t.parse_time(stamp, ("%Y-%m-%d %H:%M:%S",))
    return None


def _from_epoch(text: str) -> str | None:
    """ISO UTC of an epoch in seconds, ms, us or ns (read by its size); None when it is not one."""
    et = t.to_int(text)
    if et is not None and et > 0:
        for div in (1, 1_000, 1_000_000, 1_000_000_000):
            if et / div < 10_000_000_000:
                try:
                    return t.iso(datetime.fromtimestamp(et / div, UTC))
                except (OverflowError, OSError, ValueError):
                    break
    return None


_EPOCHS: dict[str, str] = {}
_EPOCHS_MAX = 4096
# keyvalue.kv_pairs through templates of the line shapes this process has seen repeat (a FortiGate
# writes a few dozen: one per log type and firmware); bounded, exact (see PairTemplates)
_TEMPLATES = PairTemplates()
_PAIRS = _TEMPLATES.pairs


def parse(msg: str, hdr: SyslogHeader | None) -> dict[str, Any]:
    kv = _PAIRS(msg)
    if "N/A" in msg:  # a value is part of the message: without the text, no value to drop
        for key in [key for key, value in kv.items() if value == "N/A"]:  # the rest stay as they are
            del kv[key]
    if "type" not in kv or not ("devname" in kv or "devid" in kv or "logid" in kv):
        raise ParseError("not a FortiGate key=value line (no devname/devid/logid and type)")
    g = kv.get
    # Built as literals with conditional writes, each key read once: a kv value is a non-empty
    # string or "", so "if value" skips what `put` skips (the parser's cost is per field).
    doc: dict[str, Any] = {}
    stamp = _time(kv)
    if stamp:
        doc["@timestamp"] = stamp
    observer: dict[str, Any] = {"vendor": "Fortinet", "product": "Fortigate", "type": "firewall"}  # as Elastic
    value = g("devname")
    if value:
        observer["name"] = value
    value = g("devid")
    if value:
        observer["serial_number"] = value
    src_role, dst_role = g("srcintfrole"), g("dstintfrole")
    intf = g("srcintf")  # ingress then egress, written out (no tuple of pairs to build per line)
    if intf or src_role:
        where = observer["ingress"] = {}
        if intf:
            where["interface"] = {"name": intf}
        if src_role:
            where["zone"] = src_role
    intf = g("dstintf")
    if intf or dst_role:
        where = observer["egress"] = {}
        if intf:
            where["interface"] = {"name": intf}
        if dst_role:
            where["zone"] = dst_role
    doc["observer"] = observer
    kind, subtype = kv["type"], g("subtype")
    vpn = subtype == "vpn"
    if vpn and not g("srcip"):
        t.endpoint(doc, "source", g("remip"), g("remport"))
        t.endpoint(doc, "destination", g("locip"), g("locport"))
    else:
        t.endpoint(doc, "source", g("srcip"), g("srcport"))
        t.endpoint(doc, "destination", g("dstip"), g("dstport"))
    t.nat_endpoint(doc, "source.nat", g("transip"), g("transport"))
    t.nat_endpoint(doc, "destination.nat", g("tranip"), g("tranport"))
    # source/destination/network are made where the first value needs them (the document's key order)
    src: dict[str, Any] | None = doc.get("source")
    dst: dict[str, Any] | None = doc.get("destination")
    value = g("srcmac")
    if value:
        if src is None:
            src = doc["source"] = {}
        src["mac"] = value
    value = g("srccountry")
    if value and value != "Reserved":
        if src is None:
            src = doc["source"] = {}
        src.setdefault("geo", {})["country_name"] = value
    value = g("dstcountry")
    if value and value != "Reserved":
        if dst is None:
            dst = doc["destination"] = {}
        dst.setdefault("geo", {})["country_name"] = value
    value = g("proto")
    if value:
        t.transport(doc, value)
    network: dict[str, Any] | None = doc.get("network")
    value = g("app")
    if value:
        if network is None:
            network = doc["network"] = {}
        network["application"] = value.lower()
    value = g("service")
    if value:
        if network is None:
            network = doc["network"] = {}
        network["protocol"] = value.lower()
    rule: dict[str, str] = {}  # written out, not looped over a table: no iteration per key
    value = g("policyid")
    if value:
        rule["id"] = value
    value = g("policyname")
    if value:
        rule["name"] = value
    value = g("poluuid")
    if value:
        rule["uuid"] = value
    if rule:
        doc["rule"] = rule
    ev: dict[str, Any] = {}
    doc["event"] = ev  # every log type below writes event.type
    value = g("logid")
    if value:
        ev["code"] = value
    value = g("level")
    if value:
        severity = _SEV.get(value)
        if severity:
            ev["severity"] = severity
        log = doc.get("log")  # log.flags of an invalid address may be there
        if log is None:
            doc["log"] = {"level": value}
        else:
            log["level"] = value
    sent, received = _count(g("sentbyte")), _count(g("rcvdbyte"))
    if sent is not None:
        if src is None:
            src = doc["source"] = {}
        src["bytes"] = sent
    if received is not None:
        if dst is None:
            dst = doc["destination"] = {}
        dst["bytes"] = received
    packets = _count(g("sentpkt"))
    if packets is not None:
        if src is None:
            src = doc["source"] = {}
        src["packets"] = packets
    packets = _count(g("rcvdpkt"))
    if packets is not None:
        if dst is None:
            dst = doc["destination"] = {}
        dst["packets"] = packets
    if sent is not None or received is not None:
        if network is None:
            network = doc["network"] = {}
        network["bytes"] = (sent or 0) + (received or 0)
    user = g("user") or g("srcuser") or (g("xauthuser") if vpn else None)
    if user:
        doc["user"] = {"name": user}
        if src is None:
            src = doc["source"] = {}
        src["user"] = {"name": user}
    text = g("msg")
    if text:
        doc["message"] = text
    firewall: dict[str, str] = {}  # fortinet.firewall.<the same names>, written out as `rule` is
    value = g("tunneltype")
    if value:
        firewall["tunneltype"] = value
    value = g("vpntunnel")
    if value:
        firewall["vpntunnel"] = value
    if kind:
        firewall["type"] = kind
    if subtype:
        firewall["subtype"] = subtype
    value = g("vd")
    if value:
        firewall["vd"] = value
    value = g("sessionid")
    if value:
        firewall["sessionid"] = value
    value = g("trandisp")
    if value:
        firewall["trandisp"] = value
    value = g("crscore")
    if value:
        firewall["crscore"] = value
    if firewall:
        doc["fortinet"] = {"firewall": firewall}
    action = (g("action") or "").lower()
    if kind == "traffic":
        _traffic(ev, kv, action)
    elif kind in ("utm", "dns"):
        _utm(doc, ev, kv, action)
    elif action in ALLOW_OR_DENY:
        t.verdict(doc, action or None, allowed=action in ALLOW)
    elif vpn:
        if action:
            ev["action"] = action
        ev["category"] = ["network"]
        ev["type"] = ["connection"]
        status = (g("status") or g("result") or "").lower()
        outcome = "failure" if status in ("negotiate_error", "error", "failure") \
            else "success" if status in ("success", "ok") else None
        if outcome:
            ev["outcome"] = outcome
    else:
        _event(doc, ev, kv, action)
    if kind == "event":
        text = f"{g('msg', '')} {g('logdesc', '')}".lower()
        if "login" in text or "logged in" in text:
            ev["category"] = (["network"] if vpn else []) + ["authentication"]  # as login.yml (msg only)
    value = g("qname")
    if value:  # DNS filter logs (utm.yml: qname, ipaddr "a, b" -> dns.*, related.ip)
        put(doc, "dns.question.name", value)
        resolved = [ip for ip in (t.ip_or_none(a.strip()) for a in g("ipaddr", "").split(",")) if ip]
        if resolved:
            put(doc, "dns.resolved_ip", resolved)
            put(doc, "related.ip", resolved)
    if kind == "utm" and subtype == "virus":
        ev["category"] = ["network", "malware"]
        put(doc, "rule.name", g("virus"))
        put(doc, "file.name", g("filename"))
        put(doc, "url.original", g("url"))
    direction = ROLE_DIR.get((src_role, dst_role))  # type: ignore[arg-type]
    if direction:
        if network is None:
            network = doc["network"] = {}
        network["direction"] = direction
    else:
        t.direction_from_ips(doc)
    return doc


def _count(value: str | None) -> int | None:
    """A counter's value (t.to_int: a number, else None), digits read without a try."""
    if value is None:
        return None
    return int(value) if value.isdecimal() else t.to_int(value)


def _traffic(ev: dict[str, Any], kv: dict[str, str], action: str) -> None:
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
    if action:
        ev["action"] = action
    ev["type"] = types
    ev["category"] = ["network"]
    if action:
        ev["outcome"] = "failure" if denied else "success"


def _utm(doc: dict[str, Any], ev: dict[str, Any], kv: dict[str, str], action: str) -> None:
    """UTM/DNS logs as utm.yml: event.action the event type (`infected`, `signature`, ...),
    event.type denied (block/blocked) / allowed (pass/passthrough) / info (DNS), no `connection`."""
    types = (["denied"] if action in ("block", "blocked") else []) + (["info"] if kv.get("subtype") == "dns" else []) \
        + (["allowed"] if action in ("pass", "passthrough") else [])
    named = (kv.get("eventtype") or "").lower() or action
    if named:
        ev["action"] = named
    if action:
        put(doc, "fortinet.firewall.action", action)
    ev["type"] = types or ["info"]
    ev["category"] = ["network"]
    if action:
        ev["outcome"] = "failure" if action in DENY else "success"


_LOGON = {"fsso-logon", "auth-logon"}
_LOGOFF = {"fsso-logoff", "auth-logout"}
_UI_ADDRESS = re.compile(r"^\w+\(([0-9A-Fa-f.:]+)\)$")  # ui="ssh(203.0.113.45)", "https(10.0.0.5)"


def _event(doc: dict[str, Any], ev: dict[str, Any], kv: dict[str, str], action: str) -> None:
    """System and user events (event.yml, login.yml): user logons start, logoffs end, the rest info;
    outcome from `result` (OK/ERROR), a logon or logoff action, or an admin login's `status`;
    an admin session's client address (`ui="ssh(ip)"`) is the source, as login.yml reads it."""
    named = action or kv.get("subtype")
    if named:
        ev["action"] = named
    ev["type"] = ["start"] if action in _LOGON else ["end"] if action in _LOGOFF else ["info"]
    result, status = (kv.get("result") or "").upper(), (kv.get("status") or "").lower()
    outcome = "success" if result == "OK" or action in _LOGON or action in _LOGOFF or status == "success" else \
        "failure" if result == "ERROR" or status in ("failed", "failure") else None
    if outcome:
        ev["outcome"] = outcome
    if kv.get("subtype") == "user":
        ev["category"] = ["authentication"]
    ui = _UI_ADDRESS.match(kv.get("ui", ""))
    if ui and not t.get(doc, "source.ip"):
        t.endpoint(doc, "source", ui.group(1))


_SEV = {"emergency": 1, "alert": 2, "critical": 3, "error": 4, "warning": 5, "notice": 6,
        "information": 7, "debug": 8}

parse_line = t.line_parser("fortigate", "firewall", parse, ecs_dataset="fortinet_fortigate.log")
parse_stream = t.stream_parser(parse_line)
