"""silence: a source that stops sending is an alert (issue 13, the incident's cleared logs and
uncollected AV alerts).

Each `detect` pass asks Elasticsearch, per source family (windows, firewall, av), one composite
aggregation (paged, so thousands of sources work) keyed by host, observer, Windows channel and
syslog sender (`log.source.address`, set by `ship syslog`),
with the last and first `event.ingested` (set by the indexer), the last `@timestamp` and the
count inside the baseline window. "Heard" is measured on ingest time, so replaying old events
counts as hearing from the source now, and an event dated in the past does not look silent.

Four conditions, each an episode with its own rule id:

    silence-source    host/observer of a family quiet for longer than the gap
    silence-channel   a Windows channel quiet for longer than the gap while the host still sends
                      others (only channels whose baseline rate promises an event per gap)
    silence-av-never  a host that sent Windows events for longer than the av gap, whose AV never
                      reported (no av document and no Defender channel under its name)
    silence-sender    a syslog sender (the ip of log.source.address, every port and family
                      together: TCP reconnects from new ports) quiet for longer than the gap of
                      the families it sent; it names the sender even when another device sends
                      under the same host name, or a device sends none

An episode's alert id derives from the source and its last ingest time, so every pass while the
source stays quiet computes the same id: written with op_type create, it exists once, across
passes and restarts. When the source is heard again, a `resumed` document (its own id, derived
from the alert's) closes the episode; the alert itself is never rewritten, so the index and the
Kafka alerts topic stay append-only. The open episodes are read back from the alert index each
pass, so detect keeps no state of its own. `evaluate` holds the decisions, free of any server.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kafka.errors import KafkaError

from logwarden.config import Config
from logwarden.kafka_io import DeliveryError
from logwarden.safe_text import printable
from logwarden.shippers.base import event_id
from logwarden.silence_settings import FAMILIES, Settings, parse_settings

from .alerts import _parse_time, iso

log = logging.getLogger(__name__)

RULESET = "silence"
PAGE = 1000  # composite buckets per request
OPEN_EPISODES_MAX = 10_000  # silence documents read back per pass
DEFENDER_CHANNEL = "microsoft-windows-windows defender/operational"
HOST_FIELDS = ("host.name", "host.hostname", "observer.name", "observer.hostname", "observer.ip")
SENDER_FIELD = "log.source.address"  # "ip:port" of the syslog sender (logwarden/shippers/syslog.py)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    level: str
    severity: int


RULES = {
    "source": Rule("silence-source", "Log source went silent", "high", 73),
    "channel": Rule("silence-channel", "Windows event log channel stopped while the host still sends", "high", 73),
    "av-never": Rule("silence-av-never", "Host sends Windows events but its antivirus never reported",
                     "medium", 47),
    "sender": Rule("silence-sender", "Syslog sender went silent", "high", 73),
}
SENDER_FAMILY = "syslog"  # the family an episode of kind `sender` carries (a sender may send several)


def settings_of(cfg: Config) -> Settings:
    return parse_settings(cfg.silence, cfg.silence_gap, cfg.silence_baseline)


# ---------------------------------------------------------------- what Elasticsearch reports
@dataclass(frozen=True)
class Seen:
    """One source as the aggregation reports it (a family, a host, a channel or none)."""

    family: str
    host: str
    channel: str  # winlog.channel, "" for other families
    dataset: str  # event.dataset
    last: float  # newest event.ingested (epoch seconds)
    first: float  # oldest event.ingested
    last_event: float  # newest @timestamp
    recent: int  # events ingested in the baseline window
    recent_first: float | None  # oldest event.ingested in the baseline window
    sender: str = ""  # the syslog sender's ip (log.source.address without its port), "" if none


def host_key(host: str) -> str:
    """The name AV and Windows documents share: lowercase, without the DNS domain (an address
    stays whole)."""
    h = host.strip().lower()
    return h if re.fullmatch(r"[0-9.]+|.*:.*", h) else h.split(".", 1)[0]


def sender_ip(address: str) -> str:
    """The ip of a `log.source.address` ("ip:port", "[v6]:port"; a bare address stays whole)."""
    a = address.strip()
    if a.startswith("["):
        return a[1:a.find("]")] if "]" in a else a
    host, sep, port = a.rpartition(":")
    return host if sep and port.isdigit() and ":" not in host else a


def rate_per_hour(recent: int, recent_first: float | None, now: float, baseline: float) -> float:
    """Events per hour over the baseline window, counted from the first event inside it."""
    if not recent or recent_first is None:
        return 0.0
    span = max(now - max(recent_first, now - baseline), 60.0)
    return recent * 3600.0 / span


# ---------------------------------------------------------------- the decisions
@dataclass(frozen=True)
class Silence:
    """One source that is quiet now (or an AV that never reported)."""

    kind: str  # source | channel | av-never
    family: str
    host: str
    channel: str
    dataset: str
    last: float  # last ingest (0.0 for av-never)
    last_event: float
    rate: float  # events per hour in the baseline window
    gap: float  # seconds since `last` (since the host was first heard for av-never)
    threshold: float

    @property
    def alert_id(self) -> str:
        return event_id(RULESET, self.kind, self.family, self.host, self.channel, round(self.last * 1000))


@dataclass(frozen=True)
class Episode:
    """An open silence alert, as read back from the alert index."""

    alert_id: str
    kind: str
    family: str
    host: str
    channel: str
    last: float


def _merge(seen: Iterable[Seen], key: Any) -> dict[Any, Seen]:
    out: dict[Any, Seen] = {}
    for s in seen:
        k = key(s)
        o = out.get(k)
        if o is None:
            out[k] = s
            continue
        firsts = [x for x in (o.recent_first, s.recent_first) if x is not None]
        out[k] = Seen(o.family if o.last >= s.last else s.family, s.host, s.channel if o.channel == s.channel else "",
                      o.dataset if o.last >= s.last else s.dataset,
                      max(o.last, s.last), min(o.first, s.first), max(o.last_event, s.last_event),
                      o.recent + s.recent, min(firsts) if firsts else None, s.sender)
    return out


def current(seen: list[Seen], now: float, settings: Settings) -> tuple[list[Silence], dict[tuple[str, ...], float]]:
    """What is silent now, and the last ingest time of every source key (for closing episodes).

    Keys: ("source", family, host, ""), ("channel", "windows", host, channel),
    ("av-never", "windows", host, "") whose "last" is the first AV report (absent: none yet),
    ("sender", "syslog", sender ip, "")."""
    silences: list[Silence] = []
    lasts: dict[tuple[str, ...], float] = {}
    sources = _merge(seen, lambda s: (s.family, s.host))
    for (family, host), s in sources.items():
        lasts[("source", family, host, "")] = s.last
        threshold = settings.gap_for(family)
        if now - s.last > threshold:
            silences.append(Silence("source", family, host, "", s.dataset, s.last, s.last_event,
                                    rate_per_hour(s.recent, s.recent_first, now, settings.baseline),
                                    now - s.last, threshold))
    sender_families: dict[str, set[str]] = {}
    for s in seen:
        if s.sender:
            sender_families.setdefault(s.sender, set()).add(s.family)
    for sender, s in _merge((s for s in seen if s.sender), lambda s: s.sender).items():
        lasts[("sender", SENDER_FAMILY, sender, "")] = s.last
        threshold = max(settings.gap_for(f) for f in sender_families[sender])
        if now - s.last > threshold:
            silences.append(Silence("sender", SENDER_FAMILY, sender, "", s.dataset, s.last, s.last_event,
                                    rate_per_hour(s.recent, s.recent_first, now, settings.baseline),
                                    now - s.last, threshold))
    win_gap = settings.gap_for("windows")
    channels = _merge((s for s in seen if s.family == "windows" and s.channel), lambda s: (s.host, s.channel))
    for s in channels.values():  # one per host and channel, whatever else told the buckets apart
        lasts[("channel", "windows", s.host, s.channel)] = s.last
        host_last = sources[("windows", s.host)].last
        rate = rate_per_hour(s.recent, s.recent_first, now, settings.baseline)
        expected = rate * win_gap / 3600.0 >= 1.0  # a sparse channel is not missed after one gap
        if now - s.last > win_gap and now - host_last <= win_gap and expected:
            silences.append(Silence("channel", "windows", s.host, s.channel, s.dataset, s.last, s.last_event,
                                    rate, now - s.last, win_gap))
    av_hosts = {host_key(s.host) for s in seen if s.family == "av"}
    av_first: dict[str, float] = {}
    for s in seen:
        if s.family == "av" or s.channel.lower() == DEFENDER_CHANNEL:
            k = host_key(s.host)
            av_first[k] = min(av_first.get(k, s.first), s.first)
            av_hosts.add(k)
    av_gap = settings.gap_for("av")
    for (family, host), s in sources.items():
        if family != "windows" or not host:
            continue
        k = host_key(host)
        if k in av_hosts:
            lasts[("av-never", "windows", host, "")] = av_first[k]
            continue
        if now - s.first > av_gap:
            silences.append(Silence("av-never", "windows", host, "", "", 0.0, s.last_event, 0.0,
                                    now - s.first, av_gap))
    return silences, lasts


def evaluate(seen: list[Seen], open_episodes: list[Episode], now: float,
             settings: Settings) -> tuple[list[Silence], list[tuple[Episode, float]]]:
    """(silences to alert on: not yet open, episodes to close with the ingest time that closes them).

    An episode closes when its source was heard after the episode's last ingest (for av-never:
    when the host's AV reported at all); a source that is quiet again after a short return gets a
    new episode, because its last ingest, hence its alert id, changed."""
    silences, lasts = current(seen, now, settings)
    open_ids = {e.alert_id for e in open_episodes}
    to_open = [s for s in silences if s.alert_id not in open_ids]
    to_close: list[tuple[Episode, float]] = []
    for e in open_episodes:
        last = lasts.get((e.kind, e.family, e.host, e.channel))
        if last is None:
            continue
        if e.kind == "av-never" or last > e.last:
            to_close.append((e, last))
    return to_open, to_close


# ---------------------------------------------------------------- documents
def alert_doc(s: Silence, now: float) -> dict[str, Any]:
    """The alert document: the Sigma alerts' shape (logwarden.detection.alerts), rule of its own."""
    rule = RULES[s.kind]
    where = " ".join(p for p in (s.family, s.host or "(no host)", s.channel) if p)
    if s.kind == "av-never":
        reason = f"{rule.name}: {s.host} (Windows events for {_span(s.gap)}, no AV report)"
    else:
        reason = f"{rule.name}: {where}, last event ingested {iso(s.last)}, quiet for {_span(s.gap)}"
    doc: dict[str, Any] = {
        "@timestamp": iso(now),
        "event": {"kind": "alert", "id": s.alert_id, "dataset": "alerts", "severity": rule.severity,
                  "reason": reason, "start": iso(s.last) if s.last else iso(now - s.gap)},
        "rule": {"id": rule.id, "uuid": rule.id, "name": rule.name,
                 "description": "logwarden silence detection (logwarden/detection/silence.py)",
                 "ruleset": RULESET},
        "sigma": {"level": rule.level, "type": RULESET, "name": rule.id, "events": [], "count": 0},
        "tags": ["attack.defense-evasion", "attack.t1562.002"] if s.kind == "channel" else [],
        "silence": {"phase": "silent", "kind": s.kind, "family": s.family, "source": s.host,
                    "rate_per_hour": round(s.rate, 3), "gap_seconds": round(s.gap, 3),
                    "threshold_seconds": s.threshold},
    }
    _name_source(doc, s.kind, s.host)
    if s.channel:
        doc["silence"]["channel"] = s.channel
    if s.dataset:
        doc["silence"]["dataset"] = s.dataset
    if s.last:
        doc["silence"]["last_ingested"] = iso(s.last)
    if s.last_event:
        doc["silence"]["last_event"] = iso(s.last_event)
    return doc


def resumed_doc(e: Episode, heard: float, now: float) -> dict[str, Any]:
    """The document that closes an episode: same rule, phase `resumed`, event.end."""
    rule = RULES[e.kind]
    where = " ".join(p for p in (e.family, e.host or "(no host)", e.channel) if p)
    doc: dict[str, Any] = {
        "@timestamp": iso(now),
        "event": {"kind": "event", "type": ["end"], "id": event_id(RULESET, "resumed", e.alert_id),
                  "dataset": "alerts", "severity": 21, "reason": f"{rule.name}, resumed: {where}",
                  "end": iso(heard)},
        "rule": {"id": rule.id, "uuid": rule.id, "name": rule.name,
                 "description": "logwarden silence detection (logwarden/detection/silence.py)",
                 "ruleset": RULESET},
        "silence": {"phase": "resumed", "kind": e.kind, "family": e.family, "source": e.host,
                    "alert_id": e.alert_id, "last_ingested": iso(heard)},
    }
    _name_source(doc, e.kind, e.host)
    if e.channel:
        doc["silence"]["channel"] = e.channel
    if e.last:
        doc["event"]["start"] = iso(e.last)
        doc["event"]["duration"] = int((heard - e.last) * 1e9)
    return doc


def _name_source(doc: dict[str, Any], kind: str, source: str) -> None:
    """The silent source on the document: a sender as silence.sender, a host as host.name."""
    if kind == "sender":
        doc["silence"]["sender"] = source
    elif source:
        doc["host"] = {"name": source}


def _span(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


# ---------------------------------------------------------------- Elasticsearch
def _ms(value: Any) -> float | None:
    return None if value is None else float(value) / 1000.0


def aggregate(es: Any, cfg: Config, family: str, now: float, baseline: float) -> list[Seen]:
    """Every source of one family, from one composite aggregation (paged by `after`)."""
    sources = [{"channel": {"terms": {"field": "winlog.channel", "missing_bucket": True}}},
               {"dataset": {"terms": {"field": "event.dataset", "missing_bucket": True}}}]
    sources += [{f: {"terms": {"field": f, "missing_bucket": True}}} for f in (*HOST_FIELDS, SENDER_FIELD)]
    sub = {"last": {"max": {"field": "event.ingested"}}, "first": {"min": {"field": "event.ingested"}},
           "last_event": {"max": {"field": "@timestamp"}},
           "recent": {"filter": {"range": {"event.ingested": {"gte": int((now - baseline) * 1000),
                                                               "format": "epoch_millis"}}},
                      "aggs": {"first": {"min": {"field": "event.ingested"}}}}}
    out: list[Seen] = []
    after: dict[str, Any] | None = None
    while True:
        comp: dict[str, Any] = {"size": PAGE, "sources": sources}
        if after:
            comp["after"] = after
        resp = es.search(index=cfg.index_pattern(family), size=0, ignore_unavailable=True, allow_no_indices=True,
                         query={"exists": {"field": "event.ingested"}},
                         aggs={"src": {"composite": comp, "aggs": sub}})
        agg = (resp.get("aggregations") or {}).get("src") or {}
        for b in agg.get("buckets", []):
            key = b["key"]
            host = next((str(key[f]) for f in HOST_FIELDS if key.get(f) not in (None, "")), "")
            last, first = _ms(b["last"]["value"]), _ms(b["first"]["value"])
            if last is None or first is None:
                continue
            out.append(Seen(family, host, str(key.get("channel") or "") if family == "windows" else "",
                            str(key.get("dataset") or ""), last, first, _ms(b["last_event"]["value"]) or 0.0,
                            int(b["recent"]["doc_count"]), _ms(b["recent"]["first"]["value"]),
                            sender_ip(str(key.get(SENDER_FIELD) or ""))))
        after = agg.get("after_key")
        if not after or len(agg.get("buckets", [])) < PAGE:
            return out


def open_episodes(es: Any, cfg: Config) -> list[Episode]:
    """The silence alerts not yet closed by a `resumed` document (the newest OPEN_EPISODES_MAX
    silence documents are read: beyond that, older episodes are neither re-raised nor closed)."""
    resp = es.search(index=f"{cfg.index_prefix}alerts-*", size=OPEN_EPISODES_MAX, ignore_unavailable=True,
                     allow_no_indices=True, query={"term": {"rule.ruleset": RULESET}},
                     sort=[{"@timestamp": "desc"}], source=["event.id", "silence", "host.name"])
    alerts: dict[str, Episode] = {}
    closed: set[str] = set()
    for h in resp["hits"]["hits"]:
        src = h.get("_source") or {}
        sil = src.get("silence") or {}
        if sil.get("phase") == "resumed":
            closed.add(str(sil.get("alert_id") or ""))
        elif sil.get("phase") == "silent":
            aid = str((src.get("event") or {}).get("id") or h["_id"])
            alerts[aid] = Episode(aid, str(sil.get("kind") or ""), str(sil.get("family") or ""),
                                  str(sil.get("source") or ""), str(sil.get("channel") or ""),
                                  _parse_time(sil.get("last_ingested")))
    return [e for aid, e in alerts.items() if aid not in closed]


@dataclass
class SilenceStats:
    sources: int = 0
    silent: int = 0
    opened: int = 0
    closed: int = 0
    queries: int = 0


class SilenceWatch:
    """One silence pass per `detect` pass: aggregate, decide, write to the alert index and (when a
    sink is given) the alerts topic. Only documents Elasticsearch created (201) go to Kafka, so a
    pass repeated after a crash does not repeat them on the topic."""

    def __init__(self, cfg: Config, es: Any, settings: Settings, sink: Any = None) -> None:
        self.cfg, self.es, self.settings, self.sink = cfg, es, settings, sink
        self.stats = SilenceStats()

    def run_once(self, now: float, write: bool = True) -> list[dict[str, Any]]:
        """One pass; returns the documents written (new alerts and resumed documents), or with
        `write=False` the ones it would write."""
        seen: list[Seen] = []
        for family in FAMILIES:
            seen.extend(aggregate(self.es, self.cfg, family, now, self.settings.baseline))
        episodes = open_episodes(self.es, self.cfg)
        to_open, to_close = evaluate(seen, episodes, now, self.settings)
        docs = [alert_doc(s, now) for s in to_open] + [resumed_doc(e, heard, now) for e, heard in to_close]
        self.stats.sources = len({(s.family, s.host) for s in seen}) + len({s.sender for s in seen if s.sender})
        self.stats.silent = len(current(seen, now, self.settings)[0])
        if not write:
            return docs
        created = self.write(docs)
        self.stats.opened += sum(1 for d in created if d["silence"]["phase"] == "silent")
        self.stats.closed += sum(1 for d in created if d["silence"]["phase"] == "resumed")
        for d in created:
            log.log(logging.WARNING if d["silence"]["phase"] == "silent" else logging.INFO, "%s",
                    printable(d["event"]["reason"]))
        return created

    def write(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create `docs` in the alert index (op_type create); return those that were new."""
        if not docs:
            return []
        from logwarden.shippers.base import Event, dumps

        body = b""
        for d in docs:
            index = f"{self.cfg.index_prefix}alerts-{d['@timestamp'][:10].replace('-', '.')}"
            body += dumps({"create": {"_index": index, "_id": d["event"]["id"]}}) + b"\n" + dumps(d) + b"\n"
        resp = self.es.bulk(body=body, refresh="wait_for")
        created = []
        for d, item in zip(docs, resp["items"], strict=True):
            status = item["create"]["status"]
            if status in (200, 201):
                created.append(d)
            elif status != 409:
                raise RuntimeError(f"silence document not written: {item['create'].get('error')}")
        if self.sink is not None and created:
            try:
                for d in created:
                    self.sink.send(Event(d["event"]["id"], "alerts", str((d.get("host") or {}).get("name") or ""), d))
                self.sink.flush()
            except (DeliveryError, KafkaError) as exc:  # Kafka down: the alert index holds them; said once per pass
                log.warning("silence documents not produced to the alerts topic (they are in Elasticsearch): %s", exc)
        return created
