"""Field agreement with Elastic's integrations, measured on our golden inputs.

For a source whose integration's ingest pipeline we read (elastic/integrations,
packages/<name>/data_stream/*/elasticsearch/ingest_pipeline), `VIEWS[source](doc)` states what that
pipeline writes for the same raw line, field by field, for the ECS fields it sets; `agreement`
compares it with our document. This is a reading of the pipeline turned into rules (the rules
are below, each with the pipeline step it restates), not a run of Elastic's pipeline: fields the
pipeline does not set are not compared (our extra fields never count against us), and a line the
pipeline's grok would refuse (or whose document its `ip` mapping would reject) counts every field we
emit for it as a disagreement. The cisco_asa and iptables rules adjust our document; the fortigate,
panos, pfsense, cef and symantec rules read only event.original (the integration's own reading).

    python -m logwarden.shippers.conformance             # per source: agreeing / compared fields, and why not
    python -m logwarden.shippers.conformance --diff cef  # each disagreeing field, line by line

docs/ecs-conformance.md quotes its output.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import Any

from logwarden.safe_text import printable
from logwarden.shippers import golden, keyvalue, registry, textlog
from logwarden.shippers.base import Event
from logwarden.shippers.community_id import community_id

Doc = dict[str, Any]
COMPARED = ("event.dataset", "event.module", "event.kind", "event.category", "event.type", "event.action",
            "event.outcome", "observer.vendor", "observer.product", "observer.type", "observer.name",
            "source.ip", "source.port", "destination.ip", "destination.port", "network.transport",
            "network.iana_number", "network.community_id", "related.ip", "rule.name", "rule.id",
            "observer.ingress.interface.name", "observer.egress.interface.name", "observer.ingress.zone",
            "observer.egress.zone", "source.user.name", "destination.user.name")
REFUSED = object()  # the pipeline would fail on the line (event.kind pipeline_error)


def _copy(doc: Doc) -> Doc:
    return {name: textlog.get(doc, name) for name in COMPARED if textlog.get(doc, name) is not None}


# ---------------------------------------------------------------- cisco_asa (ingest_pipeline/default.yml)

# the categorization table of the pipeline's script_ecs_categorization, for the ids we parse
_ASA_TABLE: dict[str, Doc] = {
    "302013": {"event.type": ["connection", "start"], "event.outcome": "success", "event.action": "flow-creation"},
    "302015": {"event.type": ["connection", "start"], "event.outcome": "success", "event.action": "flow-creation"},
    "302014": {"event.type": ["connection", "end"], "event.action": "flow-expiration"},
    "302016": {"event.type": ["connection", "end"], "event.outcome": "success", "event.action": "flow-expiration"},
    "305011": {"event.category": ["network", "configuration"], "event.type": ["creation"],
               "event.outcome": "success", "event.action": "nat-slot"},
    "305012": {"event.category": ["network", "configuration"], "event.type": ["deletion"],
               "event.outcome": "success", "event.action": "nat-slot"},
    "733100": {"event.type": ["info"]},
}
_ASA_DENY = {"event.type": ["connection", "denied"], "event.outcome": "failure", "event.action": "firewall-rule"}
_ASA_SWAP = (("source.ip", "destination.ip"), ("source.port", "destination.port"),
             ("observer.ingress.interface.name", "observer.egress.interface.name"))
_ASA_302_COLON = re.compile(r"(?:for|to) \S+:\S+:[0-9a-fA-F.:]+/\d+")


def _asa(doc: Doc) -> Doc | object:
    view = _copy(doc)
    code = str(textlog.get(doc, "event.code"))
    body = str(textlog.get(doc, "message") or "")
    # 302013-302016 interfaces are NOTCOLON in its grok: `v1:outside` is refused
    if code.startswith("302") and _ASA_302_COLON.search(body):
        return REFUSED
    view.pop("rule.name", None)  # it writes the access list to cisco.asa.rule_name only
    view.pop("rule.id", None)
    view["event.kind"] = "event"
    view["event.category"] = ["network"]
    for name in ("event.type", "event.outcome", "event.action"):
        view.pop(name, None)
    view.update(_ASA_DENY if code.startswith("106") and code != "106100" or code == "710003" else {})
    if code == "106100":
        allowed = textlog.get(doc, "event.outcome") == "success"
        view.update({"event.type": ["connection", "allowed" if allowed else "denied"],
                     "event.outcome": "success" if allowed else "failure", "event.action": "firewall-rule"})
    view.update(_ASA_TABLE.get(code, {}))
    # its Teardown grok takes the first end as source (no direction); we swap outbound ones
    if code in ("302014", "302016") and textlog.get(doc, "network.direction") == "outbound" and \
            _first_end(body) == textlog.get(doc, "destination.ip"):
        for a, b in _ASA_SWAP:
            view[a], view[b] = view.get(b), view.get(a)
        view = {k: v for k, v in view.items() if v is not None}
    if "icmp" in str(textlog.get(doc, "network.transport")):
        view.pop("network.community_id", None)  # its community_id reads icmp.*, which it never sets
    return view


def _first_end(body: str) -> str | None:
    m = re.search(r"for \S+?:([0-9a-fA-F.:]+?)/\d+", body)
    return m.group(1) if m else None


# ---------------------------------------------------------------- iptables (ingest_pipeline/default.yml)

_IPT_ACTION_TYPE = {"drop": "denied", "accept": "allowed", "deny": "denied", "drop_input": "denied"}
_IPT_HOST_KERNEL = re.compile(r"^\S+\s+(?:\S+\s+)?kernel:")
_IPT_WORD = re.compile(r"(\w+):")


def _iptables(doc: Doc) -> Doc | object:
    view = _copy(doc)
    original = str(textlog.get(doc, "event.original"))
    hdr, message = textlog.split_syslog(original)
    line = f"{hdr.hostname} {hdr.app}: {message}" if hdr and hdr.hostname and hdr.app else message
    for name in ("event.action", "event.outcome", "rule.name", "rule.id", "observer.ingress.interface.name",
                 "observer.egress.interface.name", "observer.ingress.zone", "observer.egress.zone"):
        view.pop(name, None)  # it writes the interfaces to iptables.input_device / output_device
    ubiquiti = textlog.get(doc, "iptables.ubiquiti.rule_set")
    action: str | None = None
    if ubiquiti is not None:
        letter = str(message.split("]")[0][-1]).lower()
        action = {"d": "drop", "a": "accept"}.get(letter, letter)
        view["rule.name"] = ubiquiti
        view["rule.id"] = textlog.get(doc, "iptables.ubiquiti.rule_number")
        for name in ("observer.ingress.zone", "observer.egress.zone"):
            if textlog.get(doc, name):
                view[name] = textlog.get(doc, name)
    elif not _IPT_HOST_KERNEL.match(line):
        head = message[: message.find("IN=")]
        m = _IPT_WORD.search(head)
        action = m.group(1).lower() if m else None
    if action:
        view["event.action"] = action
    kind = _IPT_ACTION_TYPE.get(action or "")
    view["event.type"] = ["connection", kind] if kind else ["connection"]
    view["event.kind"] = "event"
    view["event.category"] = ["network"]
    return view  # ICMP: it hashes iptables.icmp.type/code, the same numbers as our icmp.*


# ---------------------------------------------------------------- helpers for the sources read from the raw line
# The views below start from event.original, not from our document: each restates what the
# integration's pipeline writes for that line, so only its reading of the line is compared.

REJECTED = object()  # the pipeline's output would be refused by the field's `ip` mapping (document lost)


def _port(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _community(view: Doc, iana: int | None) -> None:
    """Elastic's community_id processor: source/destination ip and port and the protocol; nothing
    for ICMP (it reads icmp.type/code, which these pipelines do not set) or without ports."""
    sip, dip = view.get("source.ip"), view.get("destination.ip")
    sport, dport = view.get("source.port"), view.get("destination.port")
    if iana in (6, 17) and sip and dip and sport is not None and dport is not None:
        value = community_id(sip, dip, iana, sport, dport)
        if value:
            view["network.community_id"] = value


def _related(view: Doc, *names: str) -> None:
    ips = [view[n] for n in names if view.get(n)]
    if ips:
        view["related.ip"] = list(dict.fromkeys(ips))


def _ours_only(view: Doc, extra: Doc) -> Doc:
    return {k: v for k, v in {**view, **extra}.items() if k in COMPARED and v is not None and v != []}


def _original(doc: Doc) -> str:
    return str(textlog.get(doc, "event.original") or "")


# ---------------------------------------------------------------- fortinet_fortigate (data_stream log:
# default.yml, event.yml, login.yml, traffic.yml, utm.yml)

_FGT_PRI = re.compile(r"^<\d+>\s*")
_FGT_WORD_KEY = re.compile(r"^\w+$")
_FGT_ADMIN_LOGIN = re.compile(r"^Administrator \S+ (?:login|logged in) (\S+) from ")
_FGT_IANA = {0: "hopopt", 1: "icmp", 2: "igmp", 6: "tcp", 8: "egp", 17: "udp", 47: "gre", 50: "esp",
             58: "ipv6-icmp", 112: "vrrp", 132: "sctp"}


def _fortigate(doc: Doc) -> Doc | object:
    # default.yml: optional <PRI>, quoted-aware key=value split, N/A values and non-word keys dropped
    kv = {k: v for k, v in keyvalue.kv_pairs(_FGT_PRI.sub("", _original(doc))).items()
          if v != "N/A" and _FGT_WORD_KEY.match(k)}
    kind, sub, action = kv.get("type"), kv.get("subtype"), kv.get("action")
    view: Doc = {"event.dataset": "fortinet_fortigate.log", "event.module": "fortinet_fortigate",
                 "observer.vendor": "Fortinet", "observer.product": "Fortigate", "observer.type": "firewall",
                 "observer.name": kv.get("devname"), "observer.ingress.interface.name": kv.get("srcintf"),
                 "observer.egress.interface.name": kv.get("dstintf")}
    types: list[str] = []
    cats: list[str] = []
    if kind == "event":  # event.yml: VPN peers are remip -> destination, locip -> source
        view["event.kind"] = "event"
        if kv.get("result") == "ERROR" or kv.get("status") == "negotiate_error":
            view["event.outcome"] = "failure"
        if kv.get("result") == "OK" or action in ("FSSO-logon", "auth-logon", "FSSO-logoff", "auth-logout"):
            view["event.outcome"] = "success"
        types += ["start"] if action in ("FSSO-logon", "auth-logon") else []
        types += ["end"] if action in ("FSSO-logoff", "auth-logout") else []
        if sub == "vpn":
            types.append("connection")
            cats.append("network")
        if action == "perf-stats":
            types.append("info")
            cats.append("host")
        if sub == "update":
            types.append("info")
            cats += ["host", "malware"]
        if sub == "user":
            cats.append("authentication")
        view["destination.ip"] = kv.get("dstip") or kv.get("remip")
        view["destination.port"] = _port(kv.get("dstport") or kv.get("remport"))
        view["source.ip"] = kv.get("srcip") or kv.get("locip")
        view["source.port"] = _port(kv.get("srcport") or kv.get("locport"))
        view["source.user.name"] = kv.get("user")
        view["rule.id"] = kv.get("policyid")
    msg = (kv.get("msg") or "").lower()
    if "login" in msg or "logged in" in msg:  # login.yml
        view["event.kind"] = "event"
        view.setdefault("event.action", "login")
        cats.append("authentication")
        said = _FGT_ADMIN_LOGIN.match(kv.get("msg") or "")  # its dissects of "Administrator <u> login <o> from"
        if said:
            word = said.group(1).lower()
            view["event.outcome"] = "failure" if word.startswith("fail") else \
                "success" if word.startswith("success") else view.get("event.outcome")
    if kind == "traffic":  # traffic.yml
        view["event.kind"] = "event"
        if action:
            view["event.action"] = action
            view["event.outcome"] = "success"
        cats.append("network")
        types.append("connection")
        if action == "start":
            types.append("start")
        elif action:
            types.append("end")
        if kv.get("app") and action != "deny":
            types.append("protocol")
        if not kv.get("utmaction") and action != "deny":
            types.append("allowed")
        if kv.get("utmaction") == "block" or action == "deny":
            types.append("denied")
        view.update({"destination.ip": kv.get("dstip"), "destination.port": _port(kv.get("dstport")),
                     "source.ip": kv.get("srcip"), "source.port": _port(kv.get("srcport")),
                     "destination.user.name": kv.get("dstunauthuser"),
                     "source.user.name": kv.get("unauthuser") or kv.get("user"),
                     "rule.id": kv.get("policyid"), "rule.name": kv.get("policyname"),
                     "source.nat.ip": kv.get("transip"), "destination.nat.ip": kv.get("tranip")})
    if kind in ("utm", "dns"):  # utm.yml: locip -> source, remip -> destination
        view["event.kind"] = "event"
        types += ["denied"] if action in ("block", "blocked") else []
        types += ["info"] if sub == "dns" else []
        types += ["allowed"] if action in ("pass", "passthrough") else []
        if action:
            view["event.outcome"] = "success"
        cats.append("network")
        view.update({"destination.ip": kv.get("dstip") or kv.get("remip"),
                     "destination.port": _port(kv.get("dst_port") or kv.get("remport") or kv.get("dstport")),
                     "source.ip": kv.get("locip") or kv.get("srcip"),
                     "source.port": _port(kv.get("locport") or kv.get("src_port") or kv.get("srcport")),
                     "source.user.name": kv.get("unauthuser") or kv.get("user"),
                     "rule.id": kv.get("policy_id") or kv.get("policyid")})
    if "event.action" not in view and kv.get("eventtype"):
        view["event.action"] = kv["eventtype"]  # default.yml, after the sub-pipelines
    view["event.type"], view["event.category"] = types, cats
    iana = kv.get("proto") if kind in ("traffic", "utm", "dns", "event") else None
    if iana is not None:
        view["network.iana_number"] = iana
        view["network.transport"] = _FGT_IANA.get(int(iana)) if iana.isdigit() else None
    for name in ("source.ip", "destination.ip", "source.nat.ip", "destination.nat.ip"):
        if view.get(name) is not None and textlog.ip_or_none(view[name]) is None:
            return REJECTED
    for extra in ("ip", "assignip", "tunnelip"):  # related.ip (an ip field) also takes these
        if kv.get(extra) is not None and textlog.ip_or_none(kv[extra]) is None:
            return REJECTED
    _related(view, "source.ip", "destination.ip", "source.nat.ip", "destination.nat.ip")
    resolved = [a.strip() for a in kv.get("ipaddr", "").split(", ")] if kind in ("utm", "dns") else []
    view["related.ip"] = list(dict.fromkeys(view.get("related.ip", []) + [kv[n] for n in ("ip", "assignip", "tunnelip")
                                                                          if kv.get(n)] + [a for a in resolved if a]))
    return _ours_only(view, {})


# ---------------------------------------------------------------- panw (data_stream panos: default.yml,
# traffic.yml, threat.yml)

_PAN_ALLOWED = ("alert", "allow", "continue")
_PAN_DENIED = ("deny", "drop", "reset-client", "reset-server", "reset-both", "block-url", "block-ip",
               "random-drop", "sinkhole", "block")
_PAN_ACTION = {"start": "flow_started", "end": "flow_terminated", "drop": "flow_dropped", "deny": "flow_denied",
               "data": "data_match", "file": "file_match", "flood": "flood_detected", "packet": "packet_attack",
               "scan": "scan_detected", "spyware": "spyware_detected", "url": "url_filtering",
               "virus": "virus_detected", "vulnerability": "exploit_detected", "wildfire": "wildfire_verdict",
               "wildfire-virus": "wildfire_virus_detected"}
_PAN_HEAD = re.compile(r"^.*?,(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d),([^,]*),([^,]*),([^,]*),([^,]*),"
                       r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d),(.*)$")


def _panos(doc: Doc) -> Doc | object:
    m = _PAN_HEAD.match(_original(doc))
    if not m:
        return REFUSED
    kind, sub = m.group(3), m.group(4)
    f = next(csv.reader([m.group(7)]))  # the csv processor over the rest, field 7 of the log onwards

    def at(i: int) -> str | None:
        return f[i - 7] if i - 7 < len(f) and f[i - 7] != "" else None  # empty columns are skipped

    view: Doc = {"event.dataset": "panw.panos", "event.module": "panw", "observer.vendor": "Palo Alto Networks",
                 "observer.product": "PAN-OS", "observer.type": "firewall",
                 "source.ip": at(7), "destination.ip": at(8), "source.nat.ip": at(9), "destination.nat.ip": at(10),
                 "rule.name": at(11), "observer.ingress.zone": at(16), "observer.egress.zone": at(17),
                 "observer.ingress.interface.name": at(18), "observer.egress.interface.name": at(19),
                 "source.port": _port(at(24)), "destination.port": _port(at(25)),
                 "network.transport": (at(29) or "").lower() or None}
    nat_ports = {"source.nat.ip": at(26), "destination.nat.ip": at(27)}
    for side, port in nat_ports.items():  # NAT fields removed when not translated (0.0.0.0 and port 0)
        if view.get(side) == "0.0.0.0" and port == "0":
            view[side] = None
    action = (at(30) or "").lower()
    types: list[str] = []
    if kind == "TRAFFIC":
        view.update({"event.kind": "event", "event.category": ["network_traffic", "network"],
                     "source.user.name": at(12), "destination.user.name": at(13)})
    elif kind == "THREAT":
        view.update({"event.kind": "alert", "event.category": ["intrusion_detection", "threat", "network"],
                     "event.outcome": "success" if action in _PAN_ALLOWED else "failure",
                     "source.user.name": _pan_user(at(12)), "destination.user.name": _pan_user(at(13))})
    else:
        return {"event.dataset": "panw.panos", "event.module": "panw"}
    types += ["allowed"] if action in _PAN_ALLOWED else []
    types += ["denied"] if action in _PAN_DENIED else []
    view["event.action"] = _PAN_ACTION.get(sub)
    extra = {"start": ["start", "connection"], "end": ["end", "connection"], "drop": ["denied", "connection"],
             "deny": ["denied", "connection"]}.get(sub, [])
    types += [name for name in extra if name not in types]
    view["event.type"] = types
    for name in ("source.ip", "destination.ip", "source.nat.ip", "destination.nat.ip"):
        if view.get(name) is not None and textlog.ip_or_none(view[name]) is None:
            view[name] = None  # convert to ip, on failure removed
    sport, dport = view.get("source.port"), view.get("destination.port")
    iana = {"tcp": 6, "udp": 17}.get(view.get("network.transport") or "")
    if sport and dport:  # community_id only when both ports are non-zero
        _community(view, iana)
    translated: Doc = {"source.ip": view.get("source.nat.ip"), "destination.ip": view.get("destination.nat.ip"),
           "source.port": _port(at(26)), "destination.port": _port(at(27))}
    if translated["source.port"] and translated["destination.port"] and view.get("network.community_id"):
        _community(translated, iana)  # the translated flow's id is appended when it differs
        if translated.get("network.community_id") not in (None, view["network.community_id"]):
            view["network.community_id"] = [view["network.community_id"], translated["network.community_id"]]
    _related(view, "source.ip", "destination.ip", "source.nat.ip", "destination.nat.ip")
    return _ours_only(view, {})


def _pan_user(value: str | None) -> str | None:
    """threat.yml's srcuser grok: `domain\\user` and `user@domain` give the user part."""
    if not value:
        return None
    if "\\" in value:
        return value.rsplit("\\", 1)[1]
    return value.split("@", 1)[0] if "@" in value else value


# ---------------------------------------------------------------- pfsense (data_stream log: default.yml,
# firewall.yml)

def _pfsense(doc: Doc) -> Doc | object:
    hdr, message = textlog.split_syslog(_original(doc))
    if not hdr or hdr.app != "filterlog":
        return REFUSED
    f = message.strip().split(",")
    if len(f) < 9 or f[8] not in ("4", "6"):
        return REFUSED
    if f[8] == "4":
        if len(f) < 20:
            return REFUSED
        iana, transport, src, dst, rest = f[15], f[16], f[18], f[19], f[20:]
    else:
        if len(f) < 17:
            return REFUSED
        transport, iana, src, dst, rest = f[12], f[13], f[15], f[16], f[17:]
    if textlog.ip_or_none(src) is None or textlog.ip_or_none(dst) is None or not iana.isdigit():
        return REFUSED  # PF_IP_DATA's IP patterns
    action = f[6]
    view: Doc = {"event.dataset": "pfsense.log", "event.module": "pfsense", "observer.vendor": "netgate",
                 "observer.type": "firewall", "observer.name": hdr.hostname, "event.kind": "event",
                 "event.category": ["network"], "rule.id": f[3] or None,
                 "observer.ingress.interface.name": f[4] or None,  # whatever the direction
                 "event.action": action, "network.iana_number": iana, "network.transport": transport.lower(),
                 "source.ip": src, "destination.ip": dst,
                 "event.type": ["connection"] + {"block": ["denied"], "pass": ["allowed"]}.get(action, [])}
    if transport.lower() in ("tcp", "udp") and len(rest) >= 2:
        view["source.port"], view["destination.port"] = _port(rest[0]), _port(rest[1])
    _community(view, int(iana))
    _related(view, "destination.ip", "source.ip")
    return _ours_only(view, {})


# ---------------------------------------------------------------- cef (the Agent's decode_cef, beats
# x-pack/filebeat/processors/decode_cef/keys.ecs.go, then data_stream log default.yml / cp-pipeline.yml)

_CEF_FULL = {"src": "sourceAddress", "dst": "destinationAddress", "spt": "sourcePort", "dpt": "destinationPort",
             "proto": "transportProtocol", "act": "deviceAction", "suser": "sourceUserName",
             "duser": "destinationUserName", "outcome": "eventOutcome"}
_CEF_ECS = {"sourceAddress": "source.ip", "destinationAddress": "destination.ip", "sourcePort": "source.port",
            "destinationPort": "destination.port", "deviceAction": "event.action",
            "sourceUserName": "source.user.name", "destinationUserName": "destination.user.name",
            "deviceInboundInterface": "observer.ingress.interface.name",
            "deviceOutboundInterface": "observer.egress.interface.name", "eventOutcome": "event.outcome",
            "sourceTranslatedAddress": "source.nat.ip", "destinationTranslatedAddress": "destination.nat.ip"}


def _cef(doc: Doc) -> Doc | object:
    from logwarden.shippers.cef.parser import split_cef  # the CEF grammar, not our field mapping

    try:
        header, ext = split_cef(_original(doc))
    except textlog.ParseError:
        return REFUSED
    view: Doc = {"event.dataset": "cef.log", "event.module": "cef",
                 "observer.vendor": header[1], "observer.product": header[2]}
    for key, value in ext.items():
        target = _CEF_ECS.get(_CEF_FULL.get(key, key))
        if target and value != "":
            view[target] = _port(value) if target.endswith(".port") else value
    for name in ("source.ip", "destination.ip", "source.nat.ip", "destination.nat.ip"):
        if view.get(name) is not None:
            view[name] = textlog.ip_or_none(view[name])  # decode_cef's IP type: an invalid address is dropped
    proto = ext.get("proto") or ext.get("transportProtocol")
    if proto:
        view["network.transport"] = proto.lower()
    if header[1] == "Check Point":  # cp-pipeline.yml: kind event, category network with both addresses
        view["event.kind"] = "event"
        if view.get("source.ip") and view.get("destination.ip"):
            view["event.category"] = ["network"]
    _community(view, {"tcp": 6, "udp": 17}.get(str(view.get("network.transport"))))
    _related(view, "destination.ip", "destination.nat.ip", "source.ip", "source.nat.ip")
    return _ours_only(view, {})


# ---------------------------------------------------------------- symantec_endpoint (data_stream log default.yml)

_SEP_KEY = re.compile(r"^([a-zA-Z][a-zA-Z0-9 ()-]{0,28}):(?:\s(.+)|\s)?$", re.S)


def _symantec(doc: Doc) -> Doc | object:
    hdr, message = textlog.split_syslog(_original(doc))
    items: dict[str, str] = {}
    for column in next(csv.reader([message])) if message else []:
        m = _SEP_KEY.match(column)
        if m and m.group(2) and m.group(2).strip():
            key = re.sub(r"[()]+", "", m.group(1).lower().replace(" ", "_"))
            items[{"user": "user_name", "computer": "computer_name"}.get(key, key)] = m.group(2).strip()
    view: Doc = {"event.dataset": "symantec_endpoint.log", "event.module": "symantec_endpoint",
                 "event.kind": "event"}
    # our lines match none of its fingerprints (no event.provider, category or type from the table),
    # so event.action is the lower-cased `action` item or else `Actual action` as written
    view["event.action"] = (items.get("action") or "").lower() or items.get("actual_action")
    if view["event.action"] == "blocked":
        view["event.type"] = ["denied"]
    return _ours_only(view, {})


VIEWS: dict[str, Callable[[Doc], Doc | object]] = {
    "cisco_asa": _asa, "iptables": _iptables, "fortigate": _fortigate, "panos": _panos, "pfsense": _pfsense,
    "cef": _cef, "symantec": _symantec}


def agreement(source: str) -> tuple[int, int, Counter[str]]:
    """(agreeing fields, compared fields, disagreements by field) over the source's golden lines."""
    view_of = VIEWS[source]
    agree = total = 0
    misses: Counter[str] = Counter()
    for event in _golden_events(source):
        ours = _copy(event.doc)
        theirs = view_of(event.doc)
        if theirs is REFUSED or theirs is REJECTED:
            total += len(ours)
            misses["(line refused by its grok)" if theirs is REFUSED
                   else "(document its ip mapping rejects)"] += len(ours)
            continue
        assert isinstance(theirs, dict)
        for field, value in theirs.items():
            total += 1
            mine = ours.get(field)
            if isinstance(value, list) or isinstance(mine, list):  # "a" and ["a"] index alike
                same = sorted(_as_list(mine)) == sorted(_as_list(value))
            else:
                same = mine == value
            if same:
                agree += 1
            else:
                misses[field] += 1
    return agree, total, misses


def _golden_events(source: str) -> Iterator[Event]:
    """The events our parser makes of the source's golden lines (dead letters left out: the
    pipelines are compared on what we index)."""
    for name, log in golden.cases([source]):
        parse = registry.source(name).stream_parser()
        with log.open("rb") as data:
            for item in parse(log.name, data):
                if isinstance(item, Event):
                    yield item


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def differences(source: str) -> Iterator[tuple[str, str, Any, Any]]:
    """(line, field, ours, the pipeline's) for every disagreeing field of the source's golden lines."""
    for event in _golden_events(source):
        ours, theirs = _copy(event.doc), VIEWS[source](event.doc)
        line = str(textlog.get(event.doc, "event.original"))[:90]
        if not isinstance(theirs, dict):
            yield line, "(whole line)", "parsed", "refused" if theirs is REFUSED else "rejected"
            continue
        for field, value in theirs.items():
            if sorted(map(str, _as_list(ours.get(field)))) != sorted(map(str, _as_list(value))):
                yield line, field, ours.get(field), value


def main(argv: list[str] | None = None) -> int:
    """Print the per-source agreement as JSON (`--diff SOURCE`: each disagreeing field, per line)."""
    args = sys.argv[1:] if argv is None else argv
    textlog.CONFIG.tz, textlog.CONFIG.now = UTC, lambda: golden.REFERENCE_NOW  # as the goldens run
    if args[:1] == ["--diff"] and len(args) == 2:
        for line, field, ours, theirs in differences(args[1]):
            sys.stdout.write(f"{printable(line)}\n    {field}: ours {ours!r}, theirs {theirs!r}\n")
        return 0
    report = {}
    for source in VIEWS:
        agree, total, misses = agreement(source)
        report[source] = {"agree": agree, "compared": total, "percent": round(100 * agree / total, 1),
                          "disagreements": dict(misses.most_common())}
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
