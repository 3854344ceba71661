"""Sigma YAML -> one compiled rule set (IR + correlation specs), cached on disk.

Every engine loads the rule set through `load_ruleset(paths)`. The cache key is a hash of the
rule files' bytes and the processing pipeline (`pipeline_digest`), so a changed rule or
pipeline recompiles and a warm run only parses JSON and builds closures.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pySigma is imported only when compiling (a warm cache never needs it)
    from sigma.collection import SigmaCollection
    from sigma.correlations import SigmaCorrelationRule
    from sigma.rule import SigmaRule

from logwarden.pipelines.sigma.loader import category_events, load_pipeline, pipeline_digest
from logwarden.resources import rules_dir

from .ir import UnsupportedError, field_name, fields_of, to_ir
from .model import CACHE_VERSION, BaseRule, Correlation, RuleError, RuleSet
from .prefilter import literal_index
from .rule_yaml import RuleLimitError, load_rule_documents, read_rule_bytes

DEFAULT_RULES = rules_dir()


def rule_files(paths: list[Path] | None) -> list[Path]:
    """Rule YAML files under `paths` (directories recurse; `tests/` folders hold test cases)."""
    out: list[Path] = []
    for p in paths or [DEFAULT_RULES]:
        p = Path(p)
        if p.is_dir():
            out.extend(
                f for f in p.rglob("*.yml") if "tests" not in f.relative_to(p).parts[:-1]
            )
        else:
            out.append(p)
    return sorted(set(out))


def cache_dir() -> Path:
    base = os.environ.get("LOGWARDEN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "logwarden"
    )
    return Path(base)


def ruleset_key(files: list[Path]) -> str:
    h = hashlib.sha256(CACHE_VERSION.encode())
    h.update(pipeline_digest().encode())
    for f in files:
        h.update(str(f).encode("utf-8", "surrogateescape"))
        try:
            h.update(read_rule_bytes(f))
        except RuleLimitError:
            h.update(f"too large: {f.stat().st_size}".encode())
        except OSError as exc:  # compile_files reports the file; the key just has to differ
            h.update(f"unreadable: {exc}".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:24]


def load_ruleset(paths: list[Path] | None = None, use_cache: bool = True) -> RuleSet:
    files = rule_files(paths)
    key = ruleset_key(files)
    cached = cache_dir() / f"rules-{key}.json"
    if use_cache and cached.exists():
        try:
            return RuleSet.from_json(json.loads(cached.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError):
            pass  # corrupt cache: recompile
    rs = compile_files(files)
    rs.key = key
    rs.index = literal_index(rs.rules)
    if use_cache:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(rs.to_json()), encoding="utf-8")
            tmp.replace(cached)
        except OSError:
            pass
    return rs


def not_utf8(exc: UnicodeDecodeError) -> str:
    """The message for a rule file that is not UTF-8 (YAML rules are UTF-8 text)."""
    return f"not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at offset {exc.start}"


def _parse_files(files: list[Path], errors: list[RuleError]) -> tuple[SigmaCollection, dict[int, str]]:
    from sigma.collection import SigmaCollection

    items: list[Any] = []
    origin: dict[int, str] = {}
    seen: dict[str, str] = {}
    for f in files:
        try:
            docs = load_rule_documents(f)  # RuleLimitError before parsing a huge file
            coll = SigmaCollection.from_dicts(docs, collect_errors=True, resolve_references=False)
        except UnicodeDecodeError as exc:
            errors.append(RuleError(str(f), not_utf8(exc)))
            continue
        except RuleLimitError as exc:
            errors.append(RuleError(str(f), str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - record boundary: pySigma raises anything on a hostile rule; named
            errors.append(RuleError(str(f), f"{type(exc).__name__}: {exc}"))
            continue
        for r in coll.rules:
            if r.errors:
                errors.append(RuleError(str(f), "; ".join(str(e) for e in r.errors), str(r.id or "")))
                continue
            rid = str(r.id or "")
            if rid and rid in seen:
                errors.append(RuleError(str(f), f"duplicate rule id {rid} (also in {seen[rid]})", rid))
                continue
            if r.name and r.name in seen:
                errors.append(RuleError(str(f), f"duplicate rule name {r.name} (also in {seen[r.name]})", rid))
                continue
            seen.update({k: str(f) for k in (rid, r.name) if k})
            origin[id(r)] = str(f)
            items.append(r)
    return _drop_dangling(items, origin, errors), origin


def _drop_dangling(items: list[Any], origin: dict[int, str], errors: list[RuleError]) -> SigmaCollection:
    """Correlations whose references name no loaded rule are errors (and are left out)."""
    from sigma.collection import SigmaCollection
    from sigma.correlations import SigmaCorrelationRule

    known = {str(r.id) for r in items if r.id} | {r.name for r in items if r.name}
    while True:
        keep = []
        for r in items:
            if isinstance(r, SigmaCorrelationRule):
                missing = [ref.reference for ref in r.rules or [] if ref.reference not in known]
                if missing:
                    errors.append(RuleError(origin.get(id(r), "?"), f"correlation references unknown rules: {missing}",
                                            str(r.id or "")))
                    known.discard(str(r.id))
                    known.discard(r.name or "")
                    continue
            keep.append(r)
        if len(keep) == len(items):
            return SigmaCollection(items)
        items = keep


def compile_files(files: list[Path]) -> RuleSet:
    from sigma.correlations import SigmaCorrelationRule
    from sigma.exceptions import SigmaError
    from sigma.rule import SigmaRule

    errors: list[RuleError] = []
    coll, origin = _parse_files(files, errors)
    try:
        coll.resolve_rule_references()
    except SigmaError as exc:  # a reference _drop_dangling could not see (SigmaRuleNotFoundError)
        errors.append(RuleError("<collection>", f"unresolved correlation reference: {exc}"))
        return RuleSet([], [], errors, len(files))
    pipeline_proto = load_pipeline()
    bases: dict[str, BaseRule] = {}
    correlations: list[Correlation] = []
    for rule in coll.rules:
        path = origin.get(id(rule), "?")
        try:
            if isinstance(rule, SigmaCorrelationRule):
                correlations.append(_compile_correlation(rule, path, pipeline_proto))
            elif isinstance(rule, SigmaRule):
                b = _compile_base(rule, path, pipeline_proto)
                bases[b.id] = b
        except Exception as exc:  # noqa: BLE001 - record boundary: any error is this rule's finding, named
            errors.append(RuleError(path, f"{type(exc).__name__}: {exc}", str(rule.id or "")))
    # Sigma v2: rules referenced by correlations alert only if one of them says generate: true
    referenced: dict[str, bool] = {}
    for c in correlations:
        for rid in c.rules:
            referenced[rid] = referenced.get(rid, False) or c.generate
    for rid, gen in referenced.items():
        if rid in bases:
            bases[rid].generate = gen
    valid = set(bases) | {c.id for c in correlations}
    good: list[Correlation] = []
    for c in correlations:
        missing = [r for r in c.rules if r not in valid]
        if missing:
            errors.append(RuleError(c.path, f"correlation references rules that failed: {missing}", c.id))
        else:
            good.append(c)
    return RuleSet(list(bases.values()), good, errors, len(files))


def _common(rule: SigmaRule | SigmaCorrelationRule) -> dict[str, Any]:
    level = rule.level.name.lower() if rule.level else "medium"
    return {
        "id": str(rule.id) if rule.id else "",
        "name": rule.name,
        "title": rule.title,
        "description": rule.description or "",
        "level": level,
        "tags": [str(t) for t in rule.tags],
    }


def _compile_base(rule: SigmaRule, path: str, proto: Any) -> BaseRule:
    if not rule.id:
        raise UnsupportedError("rule has no id")
    # one pipeline for every rule: apply() starts by resetting its per-rule state, and pySigma's
    # backends reuse their items across rules alike (a pipeline a rule was building took 84 % of
    # compiling SigmaHQ; the compiled rule sets are identical either way: architecture 58)
    pipeline = load_pipeline() if proto is None else proto
    pipeline.apply(rule)
    conds = [to_ir(c.parsed) for c in rule.detection.parsed_condition]
    tree = conds[0] if len(conds) == 1 else ["or", conds]
    ls = rule.logsource
    tree = _with_category(ls.product, ls.category, ls.service, tree)
    mapped_fields = [field_name(f) for f in (rule.fields or [])]
    return BaseRule(
        **_common(rule),
        path=path,
        logsource={"product": ls.product, "category": ls.category, "service": ls.service},
        ir=tree,
        fields=mapped_fields,
    )


def _with_category(product: str | None, category: str | None, service: str | None, tree: list[Any]) -> list[Any]:
    """AND the category's (channel, event code) pairs into a Windows category rule."""
    if product != "windows" or not category or service:
        return tree
    pairs = category_events().get(category)
    if not pairs:
        return tree
    by_channel: dict[str, list[str]] = {}
    for ch, code in pairs:
        by_channel.setdefault(ch, []).append(code)
    alts = [["and", [["m", "winlog.channel", "eq", ch.lower()],
                     ["or", [["m", "event.code", "eq", c] for c in codes]]]] for ch, codes in by_channel.items()]
    cond = alts[0] if len(alts) == 1 else ["or", alts]
    return ["and", [cond, *(tree[1] if tree[0] == "and" else [tree])]]


def map_field(base: SigmaRule, sigma_field: str) -> str:
    """The document field a Sigma field name becomes for `base`'s log source."""
    from sigma.rule import SigmaRule

    probe = SigmaRule.from_dict(
        {
            "title": "probe",
            "logsource": {
                "product": base.logsource.product,
                "category": base.logsource.category,
                "service": base.logsource.service,
            },
            # `exists`, not a string: a group-by names the field, and pipelines/sigma/windows.yml
            # sends address strings to the raw text but everything else to the ECS address
            "detection": {"sel": {f"{sigma_field}|exists": True}, "condition": "sel"},
        }
    )
    load_pipeline().apply(probe)
    names = [f for f in fields_of(to_ir(probe.detection.parsed_condition[0].parsed))
             if f not in ("winlog.channel", "logwarden.family")]
    if sigma_field in ("winlog.channel", "logwarden.family"):
        return sigma_field
    return field_name(names[0]) if names else sigma_field


def _leaf_rules(rule: SigmaRule | SigmaCorrelationRule) -> list[SigmaRule]:
    from sigma.rule import SigmaRule

    if isinstance(rule, SigmaRule):
        return [rule]
    out: list[SigmaRule] = []
    for ref in rule.rules or []:
        out.extend(_leaf_rules(ref.rule))
    return out


def _compile_correlation(rule: SigmaCorrelationRule, path: str, proto: Any) -> Correlation:
    if not rule.id:
        raise UnsupportedError("correlation has no id")
    ctype = rule.type.name.lower()
    if ctype not in ("event_count", "value_count", "temporal", "temporal_ordered"):
        raise UnsupportedError(f"correlation type {ctype}")
    group_by: dict[str, list[str]] = {}
    value_field: dict[str, str] = {}
    from sigma.correlations import SigmaCorrelationCondition

    references = list(rule.rules or [])
    refs = [r.rule for r in references]
    cond = rule.condition
    if not isinstance(cond, SigmaCorrelationCondition):
        raise UnsupportedError("extended correlation conditions")
    if isinstance(cond.fieldref, list) and len(cond.fieldref) != 1:
        raise UnsupportedError("a value condition on several fields")
    value_ref = cond.fieldref[0] if isinstance(cond.fieldref, list) else cond.fieldref
    for reference, ref in zip(references, refs, strict=True):
        rid = str(ref.id)
        leaf = _leaf_rules(ref)[0]
        fields = []
        for g in rule.group_by or []:
            alias = rule.aliases.aliases.get(g) if rule.aliases else None
            if alias is not None:  # the alias's field in this rule's events
                src = alias.mapping.get(reference)
                g = str(src) if src is not None else g
            fields.append(map_field(leaf, g))
        group_by[rid] = fields
        if ctype == "value_count" and value_ref:
            value_field[rid] = map_field(leaf, value_ref)
    return Correlation(
        **_common(rule),
        path=path,
        type=ctype,
        rules=[str(r.id) for r in refs],
        group_by=group_by,
        timespan=float(rule.timespan.seconds),
        op=cond.op.name.lower(),
        count=int(cond.count),
        value_field=value_field,
        generate=bool(rule.generate),
    )
