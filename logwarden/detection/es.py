"""es: the compiled rules as Elasticsearch queries over a moving time window.

Each base rule's IR becomes query DSL, built with the index's field types (field_caps): strings
query `<field>.caseless` with lowercased terms, or `wildcard` / `regexp` with
`case_insensitive`; ips and numbers query the field. Where Elasticsearch cannot express a leaf
exactly (Python regex features Lucene lacks, CIDR on a keyword, field references),
the leaf is widened (exists / match_all in a positive position, match_none under a NOT) so the
query is a superset, and every hit is confirmed with the same in-process predicate hunt and
stream use. Keywords (found inside any string value, ir.keyword_op) are one `wildcard` query on
the template's catch-all field (schema_template.ALL_VALUES_FIELD: every string value, copied at
index time, lowercased); a keyword regex becomes a `regexp` there (confirmed in process), and
documents with a value too long to index are fetched and decided in process. Indices made
before that field existed (field_caps reports it unmapped in one) get the old widening: match-all
and the in-process verdict (a wildcard over every `.caseless` field, ~1,000 in the lab, once ran
the lab's 2 GB heap out of memory). Exact rules never lose a hit in the confirmation step
(`Stats.dropped` counts any that do).
Correlations: the referenced rules' hits (needed fields only) feed the shared window code.
Alerts are written with op_type create and their deterministic id: reruns never duplicate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import AuthenticationException, AuthorizationException, BadRequestError

from logwarden.config import Config
from logwarden.schema_template import ALL_VALUES_FIELD
from logwarden.shippers.base import dumps

from .alerts import alert_for_match, doc_host, doc_time
from .correlate import CorrelationEngine, Hit
from .engine import Detector, correlate_hits
from .evaluate import NOT_KEYWORD_SEARCHED, compile_pred, flatten
from .ir import Node
from .model import BaseRule

SOURCES = ("windows", "firewall", "av")
MATCH_ALL: dict[str, Any] = {"match_all": {}}
MATCH_NONE: dict[str, Any] = {"bool": {"must_not": [{"match_all": {}}]}}
NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}
PAGE = 5000
BATCH = 25  # rules per search (named should clauses); 200 once ran the 2 GB lab heap out of memory
SORT = [{"@timestamp": "asc"}, {"event.id": {"order": "asc", "unmapped_type": "keyword"}}]


@dataclass
class Stats:
    rules: int = 0
    queries: int = 0
    hits: int = 0
    dropped: int = 0  # hits the in-process confirmation rejected (approximate leaves)
    alerts: int = 0
    created: int = 0
    existing: int = 0
    inexact_rules: list[str] = field(default_factory=list)


def _wildcard_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def glob_to_wildcard(rx: str) -> str:
    """The IR's glob regex (re.escape'd literals, `.*`, `.`) back to an ES wildcard pattern."""
    out, i = [], 0
    while i < len(rx):
        c = rx[i]
        if c == "\\" and i + 1 < len(rx):
            out.append(_wildcard_escape(rx[i + 1]))
            i += 2
        elif rx.startswith(".*", i):
            out.append("*")
            i += 2
        elif c == ".":
            out.append("?")
            i += 1
        else:
            out.append(_wildcard_escape(c))
            i += 1
    return "".join(out)


_LUCENE_SPECIAL = set('.?+*|{}[]()"\\#@&<>~')
_UNSUPPORTED_RE = re.compile(r"\(\?[=!<]|\\[bBAZzG]|\\[1-9]|[*+?}]\?|\(\?[a-z]")


_INLINE_FLAGS = re.compile(r"\(\?([aimsx]+)\)")


def python_re_to_lucene(pattern: str) -> str | None:
    """Python `re.search` pattern -> an anchored Lucene regexp, or None when not translatable."""
    if _UNSUPPORTED_RE.search(pattern):
        return None
    p = pattern.replace("(?:", "(")
    start = not p.startswith("^")
    end = not (p.endswith("$") and not p.endswith("\\$"))
    p = p[1:] if not start else p
    p = p[:-1] if not end else p
    if "^" in p.replace("[^", "") or re.search(r"(?<!\\)\$", p):
        return None
    out, i = [], 0
    classes: dict[str, str | None] = {"d": "[0-9]", "w": "[a-zA-Z0-9_]", "s": "[ \t\r\n]",
                                      "D": None, "W": None, "S": None}
    while i < len(p):
        c = p[i]
        if c == "\\" and i + 1 < len(p):
            n = p[i + 1]
            if n in classes:
                cls = classes[n]
                if cls is None:
                    return None
                out.append(cls)
            elif n in "tnr":
                out.append({"t": "\t", "n": "\n", "r": "\r"}[n])
            else:
                out.append("\\" + n)
            i += 2
            continue
        if c in "@&<>~#\"":
            out.append("\\" + c)
        else:
            out.append(c)
        i += 1
    body = "".join(out).replace("[-", "[\\-").replace("-]", "\\-]").replace("[^-", "[^\\-")
    if "[" in body and re.search(r"\[[^\]]*\\[dws]", pattern):
        return None  # \d inside a character class: no Lucene form
    return (".*" if start else "") + "(" + body + ")" + (".*" if end else "")


def regex_and_flags(arg: list[Any]) -> tuple[str, str]:
    """An IR `re` argument as (pattern, flags), a leading inline `(?i)`-style group (SigmaHQ
    writes them into the pattern itself) moved into the flags."""
    pattern, flags = arg
    inline = _INLINE_FLAGS.match(pattern)
    if inline:
        return pattern[inline.end():], flags + inline.group(1)
    return pattern, flags


_CLASS = re.compile(r"\[(\^?)((?:\\.|[^\]\\])*)\]")
_RANGE = re.compile(r"([a-zA-Z])-([a-zA-Z])")


def fold_classes(lucene: str) -> str:
    """ES applies case_insensitive to literals only: add the other case to [a-f]-style ranges."""

    def fold(m: re.Match[str]) -> str:
        body = _RANGE.sub(lambda r: f"{r[1]}-{r[2]}{r[1].swapcase()}-{r[2].swapcase()}", m[2])
        return f"[{m[1]}{body}]"

    return _CLASS.sub(fold, lucene)


LONG_FIELDS = "logwarden.long_fields"  # set by logwarden.kafka_io.encode


def long_fields(es: Any, index: str) -> frozenset[str]:
    resp = es.search(index=index, size=0, ignore_unavailable=True, allow_no_indices=True,
                     aggs={"f": {"terms": {"field": LONG_FIELDS, "size": 10000}}})
    return frozenset(b["key"] for b in (resp.get("aggregations") or {}).get("f", {}).get("buckets", []))


class QueryBuilder:
    def __init__(self, types: dict[str, str], regexp: bool = True, long_fields: frozenset[str] = frozenset()) -> None:
        self.types = types
        self.long_fields = long_fields  # fields some document holds beyond the keyword limit
        self.regexp = regexp  # False: widen every regex leaf (Lucene refused to build one)
        self.inexact = False

    def _approx(self, positive: bool, fld: str | None = None) -> dict[str, Any]:
        self.inexact = True
        if not positive:
            return MATCH_NONE
        return {"exists": {"field": fld}} if fld else MATCH_ALL

    def build(self, node: Node, positive: bool = True) -> dict[str, Any]:
        kind = node[0]
        if kind == "and":
            return {"bool": {"filter": [self.build(k, positive) for k in node[1]]}}
        if kind == "or":
            return {"bool": {"should": [self.build(k, positive) for k in node[1]], "minimum_should_match": 1}}
        if kind == "not":
            return {"bool": {"must_not": [self.build(node[1], not positive)]}}
        if kind == "const":
            return MATCH_ALL if node[1] else MATCH_NONE
        if kind == "kw":
            return self.keyword(node[1], node[2], positive)
        q = self.leaf(node[1], node[2], node[3], positive)
        if node[1] in self.long_fields and q is not MATCH_NONE:
            # values too long to be indexed cannot match any query: fetch the documents that have
            # one (positive position) or keep them out of a NOT, and confirm in process
            self.inexact = True
            marker = {"term": {LONG_FIELDS: node[1]}}
            if positive:
                return {"bool": {"should": [q, marker], "minimum_should_match": 1}}
            return {"bool": {"filter": [q], "must_not": [marker]}}
        return q

    def keyword(self, op: str, arg: Any, positive: bool) -> dict[str, Any]:
        """A keyword leaf (ir.keyword_op) as a query on the catch-all field, or widened when the
        indices lack it. The field holds lowercased values: `contains` and `glob` (lowercased by
        the IR) are exact; `cased_glob` and `re` are asked case-folded and confirmed in process."""
        if self.types.get(ALL_VALUES_FIELD) != "keyword":
            return self._approx(positive)
        if op == "contains":
            q: dict[str, Any] = {"wildcard": {ALL_VALUES_FIELD: {"value": f"*{_wildcard_escape(arg)}*"}}}
        elif op in ("glob", "cased_glob"):
            if op == "cased_glob":
                if not positive:
                    return self._approx(positive)
                self.inexact = True  # the case is checked in process
            q = {"wildcard": {ALL_VALUES_FIELD: {"value": glob_to_wildcard(arg).lower()}}}
        elif op == "re" and positive and self.regexp:
            pattern, flags = regex_and_flags(arg)
            # the field holds lowercased values: a negated class could exclude a letter's other case
            lucene = None if ("m" in flags or "s" in flags or "[^" in pattern) else python_re_to_lucene(pattern)
            if lucene is None:
                return self._approx(positive)
            self.inexact = True
            q = {"regexp": {ALL_VALUES_FIELD: {"value": fold_classes(lucene), "flags": "NONE",
                                               "case_insensitive": True, "max_determinized_states": 100000}}}
        else:
            return self._approx(positive)
        searched_long = sorted(self.long_fields - NOT_KEYWORD_SEARCHED)
        if not searched_long:
            return q
        # some document holds a value longer than the field indexes: fetch those (positive
        # position) or keep them out of a NOT, and decide them in process
        self.inexact = True
        marker = {"terms": {LONG_FIELDS: searched_long}}
        if positive:
            return {"bool": {"should": [q, marker], "minimum_should_match": 1}}
        return {"bool": {"filter": [q], "must_not": [marker]}}

    def leaf(self, fld: str, op: str, arg: Any, positive: bool) -> dict[str, Any]:
        ftype = self.types.get(fld)
        if op == "null":
            return {"bool": {"must_not": [{"exists": {"field": fld}}]}}
        if op == "exists":
            q = {"exists": {"field": fld}}
            return q if arg else {"bool": {"must_not": [q]}}
        if ftype is None and f"{fld}.caseless" not in self.types:
            return MATCH_NONE  # no document in these indices has the field
        if ftype == "ip":
            if op == "cidr":
                return {"term": {fld: arg}}
            if op == "eq":
                return {"term": {fld: arg}} if _is_ip(arg) else MATCH_NONE
            return self._approx(positive, fld)
        if ftype in NUMERIC:
            if op in ("num", "eq") and _is_number(arg):
                return {"term": {fld: arg}}
            if op == "cmp":
                cmp, n = arg
                if cmp == "neq":
                    return {"bool": {"filter": [{"exists": {"field": fld}}],
                                     "must_not": [{"term": {fld: n}}]}}
                return {"range": {fld: {cmp: n}}}
            if op == "eq":
                return MATCH_NONE
            return self._approx(positive, fld)
        if ftype == "boolean":
            if op == "bool":
                return {"term": {fld: arg}}
            return self._approx(positive, fld)
        ci = f"{fld}.caseless" if f"{fld}.caseless" in self.types else None
        if op == "eq":
            return {"term": {ci: arg}} if ci else {"term": {fld: {"value": arg, "case_insensitive": True}}}
        if op == "cased_eq":
            return {"term": {fld: arg}}
        if op in ("contains", "startswith", "endswith", "glob", "cased_glob"):
            if op == "contains":
                pat = f"*{_wildcard_escape(arg)}*"
            elif op == "startswith":
                pat = f"{_wildcard_escape(arg)}*"
            elif op == "endswith":
                pat = f"*{_wildcard_escape(arg)}"
            else:
                pat = glob_to_wildcard(arg)
            if op != "cased_glob" and ci:
                # the lowercase-normalised sub-field with the (already lowercased) pattern: a
                # case_insensitive leading-`*` automaton is very slow to build on every shard
                return {"wildcard": {ci: {"value": pat}}}
            cased = op == "cased_glob"
            return {"wildcard": {fld: {"value": pat, "case_insensitive": not cased}}}
        if op == "num":
            return {"term": {ci: str(arg)}} if ci else {"term": {fld: str(arg)}}
        if op == "bool":
            return {"term": {ci or fld: "true" if arg else "false"}}
        if op == "re":
            pattern, flags = regex_and_flags(arg)
            lucene = None if ("m" in flags or "s" in flags or not self.regexp) else python_re_to_lucene(pattern)
            if lucene is None:
                return self._approx(positive, fld)
            self.inexact = True  # Lucene and Python regex dialects differ at the edges: confirm
            if "i" in flags:
                lucene = fold_classes(lucene)
            return {"regexp": {fld: {"value": lucene, "flags": "NONE", "case_insensitive": "i" in flags,
                                     "max_determinized_states": 100000}}}
        return self._approx(positive, fld)


def _is_ip(s: Any) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(str(s))
        return True
    except ValueError:
        return False


def _is_number(s: Any) -> bool:
    try:
        float(s)
        return True
    except (TypeError, ValueError):
        return False


def field_types(es: Any, index: str) -> dict[str, str]:
    """Field name -> Elasticsearch type in `index` (a pattern). The keyword catch-all
    (ALL_VALUES_FIELD) is left out unless every index has it: an index made before it existed
    would answer a keyword query with nothing."""
    resp = es.field_caps(index=index, fields="*", ignore_unavailable=True, allow_no_indices=True)
    out: dict[str, str] = {}
    for name, caps in (resp.get("fields") or {}).items():
        kinds = [k for k in caps if not k.startswith("_")]
        if kinds:
            out[name] = kinds[0]
    if ALL_VALUES_FIELD in out:
        every = es.field_caps(index=index, fields=ALL_VALUES_FIELD, include_unmapped=True,
                              ignore_unavailable=True, allow_no_indices=True)
        if set((every.get("fields") or {}).get(ALL_VALUES_FIELD, {})) != {"keyword"}:
            del out[ALL_VALUES_FIELD]
    return out


class EsDetector:
    def __init__(self, cfg: Config, es: Any, detector: Detector) -> None:
        self.cfg, self.es, self.detector = cfg, es, detector
        self.index = ",".join(cfg.index_pattern(d) for d in SOURCES)
        self.stats = Stats()
        # correlation state carried across passes (detect --interval): the same windows, hence the
        # same alerts, whatever the pass boundaries; `fed` = hits already fed, by (rule, event)
        self.corr: CorrelationEngine | None = None
        self.fed: dict[tuple[str, str], float] = {}

    def _search_all(self, query: dict[str, Any], source: list[str] | bool,
                    after: list[Any] | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            body: dict[str, Any] = {"query": query, "size": PAGE, "sort": SORT,
                                    "_source": source}
            if after:
                body["search_after"] = after
            self.stats.queries += 1
            resp = self.es.search(index=self.index, ignore_unavailable=True, allow_no_indices=True, **body)
            hits = resp["hits"]["hits"]
            out.extend(hits)
            if len(hits) < PAGE:
                return out
            after = hits[-1]["sort"]

    def run_once(self, start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
        types = field_types(self.es, self.index)
        longs = long_fields(self.es, self.index)
        rng: dict[str, Any] = {}
        span = max((c.timespan for c in self.detector.ruleset.correlations), default=0.0)
        if start is not None:  # whole milliseconds: ES rejects "1.77E12" as epoch_millis
            rng["gte"] = math.floor((start.timestamp() - span) * 1000)
        if end is not None:
            rng["lte"] = math.ceil(end.timestamp() * 1000)
        time_filter = [{"range": {"@timestamp": {**rng, "format": "epoch_millis"}}}] if rng else []
        alerts: list[dict[str, Any]] = []
        hits_for_corr: list[Hit] = []
        compiled = {c.rule.id: c for per in self.detector.by_channel.values() for b in per.values() for c in b.all()}
        compiled.update({c.rule.id: c for lst in (self.detector.by_dataset, self.detector.by_field)
                         for cs in lst.values() for c in cs})
        compiled.update({c.rule.id: c for c in self.detector.always})
        plans: list[tuple[str, Any, bool, bool, dict[str, Any], list[str] | bool]] = []
        inexact_ids: set[str] = set()
        for rid, comp in compiled.items():
            rule: BaseRule = comp.rule
            want_alert = rule.generate
            want_corr = self.detector.correlations.interested(rid)
            if not (want_alert or want_corr):
                continue
            self.stats.rules += 1
            qb = QueryBuilder(types, long_fields=longs)
            q = qb.build(rule.ir)
            if qb.inexact:
                self.stats.inexact_rules.append(rid)
            needs_all = any(n[0] == "kw" for n in _walk(rule.ir))
            source: list[str] | bool = True if needs_all else sorted(
                _fields(rule) | {"@timestamp", "event.id", "host.name", "winlog.computer_name", "observer.name"}
                | {f for c in self.detector.correlations.by_rule.get(rid, ()) for f in
                   (*c.group_by.get(rid, []), c.value_field.get(rid, ""))
                   if f})
            if q == MATCH_NONE:
                continue  # a field no index has: nothing to ask
            plans.append((rid, comp, want_alert, want_corr, q, source))
            if qb.inexact:
                inexact_ids.add(rid)
        # rules go out in batches: one search per batch, each rule a named `should` clause, so
        # a hit says which rules' queries it matched (`matched_queries`); one request fans out to
        # the shards once per batch instead of once per rule. Widened (match-all) rules get their
        # own batches so they do not turn every exact batch into a full scan.
        exact = [p for p in plans if p[0] not in inexact_ids]
        loose = [p for p in plans if p[0] in inexact_ids]
        by_id = {p[0]: p for p in plans}
        def search_chunk(chunk: list[Any]) -> list[tuple[dict[str, Any], list[str]]]:
            """(hit, rule ids it matched). A batch Elasticsearch cannot turn into a query (e.g. a
            regex whose automaton is too complex) is split; a single such rule is re-asked with
            its regex leaves widened, and its hits confirmed in process like every widened rule."""
            should = [{"bool": {"filter": [p[4]], "_name": p[0]}} for p in chunk]
            srcs = [p[5] for p in chunk]
            source: list[str] | bool = True if any(x is True for x in srcs) else sorted(
                {f for x in srcs if isinstance(x, list) for f in x})
            query = {"bool": {"should": should, "minimum_should_match": 1, "filter": time_filter}}
            try:
                return [(h, sorted(h.get("matched_queries") or ())) for h in self._search_all(query, source)]
            except BadRequestError as exc:
                if "failed to create query" not in str(exc):
                    raise
                if len(chunk) > 1:
                    half = len(chunk) // 2
                    return search_chunk(chunk[:half]) + search_chunk(chunk[half:])
                rid, comp, want_alert, want_corr, q, src = chunk[0]
                qb = QueryBuilder(types, regexp=False, long_fields=longs)
                widened = qb.build(comp.rule.ir)
                if widened == q:
                    raise
                self.stats.inexact_rules.append(rid)
                return search_chunk([(rid, comp, want_alert, want_corr, widened, src)])

        for group in (exact, loose):
            for at in range(0, len(group), BATCH):
                for h, matched in search_chunk(group[at:at + BATCH]):
                    self.stats.hits += 1
                    flat = flatten(h.get("_source") or {})
                    eid = str(flat.get("event.id") or h["_id"])
                    ts = doc_time(flat)
                    for rid in matched:
                        _, comp, want_alert, want_corr, _q, _s = by_id[rid]
                        if not comp.pred(flat):
                            self.stats.dropped += 1
                            continue
                        if want_alert and (start is None or ts >= start.timestamp()):
                            origin = {"index": str(h.get("_index", "")), "id": str(h["_id"])}
                            alerts.append(alert_for_match(comp.rule, flat, eid, origin))
                        if want_corr:
                            hits_for_corr.append(Hit(rid, ts, eid, flat, doc_host(flat)))
        first = self.corr is None
        if self.corr is None:
            self.corr = CorrelationEngine(self.detector.ruleset.correlations)
        new_hits: list[Hit] = []
        for hit in hits_for_corr:
            k = (hit.rule_id, hit.event_id)
            if k not in self.fed:
                self.fed[k] = hit.ts
                new_hits.append(hit)
        # the first pass feeds [start - longest timespan, start) only to fill the windows: what
        # fires there was reported by whoever ran before; later passes report every new firing
        alerts.extend(a for a in correlate_hits(self.corr, new_hits)
                      if not first or start is None or a["@timestamp"] >= _iso(start))
        if start is not None:  # hits older than the next fetch's lower bound can never come back
            lo = start.timestamp() - span
            self.fed = {k: ts for k, ts in self.fed.items() if ts >= lo}
        self.stats.alerts += len(alerts)
        return alerts

    def write(self, alerts: list[dict[str, Any]]) -> None:
        if not alerts:
            return
        body = b""
        for a in alerts:
            day = a["@timestamp"][:10].replace("-", ".")
            index = f"{self.cfg.index_prefix}alerts-{day}"
            # a correlation episode's later version replaces the earlier one (same _id); a
            # single-event alert is written once
            op = "create" if (a.get("sigma") or {}).get("type") == "rule" else "index"
            body += dumps({op: {"_index": index, "_id": a["event"]["id"]}}) + b"\n" + dumps(a) + b"\n"
        resp = self.es.bulk(body=body, refresh="wait_for")
        for entry in resp["items"]:
            item = entry.get("create") or entry.get("index") or {}
            status = item.get("status")
            if status == 201:
                self.stats.created += 1
            elif status in (200, 409):  # there already: updated to this version, or the same alert
                self.stats.existing += 1
            elif status in (401, 403):  # a role that lost its write privilege: a refusal (detection/schedule.py)
                refused = AuthenticationException if status == 401 else AuthorizationException
                raise refused(message="alert not written", meta=resp.meta, body={"error": item.get("error") or {}})
            else:
                raise RuntimeError(f"alert not written: {item.get('error')}")


def _iso(d: datetime) -> str:
    return d.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _walk(node: Node):  # type: ignore[no-untyped-def]
    yield node
    if node[0] in ("and", "or"):
        for k in node[1]:
            yield from _walk(k)
    elif node[0] == "not":
        yield from _walk(node[1])


def _fields(rule: BaseRule) -> set[str]:
    from .ir import fields_of

    return fields_of(rule.ir) | set(rule.fields)


def confirm(rule: BaseRule, doc: dict[str, Any]) -> bool:
    return compile_pred(rule.ir)(flatten(doc))
