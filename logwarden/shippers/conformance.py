"""Field agreement with Elastic's integrations, measured on our golden inputs.

For a source whose integration's ingest pipeline we read (elastic/integrations,
packages/<name>/data_stream/*/elasticsearch/ingest_pipeline), `elastic_view(doc)` states what that
pipeline writes for the same raw line, field by field, for the ECS fields it sets; `agreement`
compares it with our document. This is a reading of the pipeline turned into rules (the rules
are below, each with the pipeline step it restates), not a run of Elastic's pipeline: fields the
pipeline does not set are not compared (our extra fields never count against us), and a line the
pipeline's grok would refuse counts every compared field as a disagreement.

    python -m logwarden.shippers.conformance        # per source: agreeing / compared fields, and why not

docs/ecs-conformance.md quotes its output.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC
from typing import Any

from logwarden.shippers import golden, registry, textlog
from logwarden.shippers.base import Event

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


VIEWS: dict[str, Callable[[Doc], Doc | object]] = {"cisco_asa": _asa, "iptables": _iptables}


def agreement(source: str) -> tuple[int, int, Counter[str]]:
    """(agreeing fields, compared fields, disagreements by field) over the source's golden lines."""
    view_of = VIEWS[source]
    agree = total = 0
    misses: Counter[str] = Counter()
    for name, log in golden.cases([source]):
        parse = registry.source(name).stream_parser()
        with log.open("rb") as data:
            for item in parse(log.name, data):
                if not isinstance(item, Event):
                    continue
                ours = _copy(item.doc)
                theirs = view_of(item.doc)
                if theirs is REFUSED:
                    total += len(ours)
                    misses["(line refused by its grok)"] += len(ours)
                    continue
                assert isinstance(theirs, dict)
                for field, value in theirs.items():
                    total += 1
                    mine = ours.get(field)
                    same = sorted(mine) == sorted(value) if isinstance(value, list) and isinstance(mine, list) \
                        else mine == value
                    if same:
                        agree += 1
                    else:
                        misses[field] += 1
    return agree, total, misses


def main(argv: list[str] | None = None) -> int:
    textlog.CONFIG.tz, textlog.CONFIG.now = UTC, lambda: golden.REFERENCE_NOW  # as the goldens run
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
