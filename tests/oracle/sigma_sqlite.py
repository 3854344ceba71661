"""The oracle's detection: SigmaHQ rules as SQLite queries (pySigma's SQLite backend, the
Zircolite way) over one table of raw EVTX fields (`evtx_table`), with no ECS mapping at all.

The only processing pipelines are pySigma's `sysmon_pipeline` (a category -> its Sysmon
`EventID`) and `windows_logsource_pipeline` (a service -> its `Channel`), as Zircolite uses them:
log-source conditions only. Field names stay as the rule writes them, and a column holds what
Windows wrote. `process_creation`, which Sigma's taxonomy serves with Sysmon 1 and Security 4688,
is converted a second time with pySigma's own `windows_audit_pipeline` (Security 4688; Image ->
NewProcessName, ParentImage -> ParentProcessName, LogonId -> SubjectLogonId, nothing else) and
the two conditions ORed, so 4688 verdicts are judged by pySigma's mapping, not ours. Columns
are TEXT COLLATE NOCASE (Sigma strings are case-insensitive). Keywords, which the backend does
not convert, search a `_keywords` column holding every value of the
record joined by a newline (LIKE '%keyword%'). Conversions are cached by rule content.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from sigma.backends.sqlite import sqliteBackend
from sigma.conditions import ConditionValueExpression
from sigma.conversion.state import ConversionState
from sigma.types import SigmaString

KEYWORDS = "_keywords"
FILE, RECORD = "_file", "_record"
SQL_VERSION = "3"  # bump when the conversion below changes (invalidates the cache)


class OracleBackend(sqliteBackend):  # type: ignore[misc]  # pySigma backends are untyped
    """The SQLite backend, plus keywords (searched inside the joined values of a record)."""

    unbound_value_num_expression: ClassVar[str] = f"{KEYWORDS} LIKE '%{{value}}%'"
    unbound_value_re_expression: ClassVar[str] = f"{KEYWORDS} REGEXP '{{regex}}'"

    def convert_condition_val_str(self, cond: ConditionValueExpression, state: ConversionState) -> str:
        if not isinstance(cond.value, SigmaString):
            raise TypeError(f"keyword of type {type(cond.value).__name__}")
        value = self.convert_value_str(cond.value, state, no_quote=True)
        return f"{KEYWORDS} LIKE '%{value}%' ESCAPE '\\'"


def _where(sql: str) -> str:
    head = "SELECT * FROM logs WHERE "
    if not sql.startswith(head):
        raise ValueError(f"unexpected query shape: {sql[:80]}")
    return sql[len(head):]


@lru_cache(maxsize=1)
def _backend() -> OracleBackend:
    from sigma.pipelines.sysmon import sysmon_pipeline
    from sigma.pipelines.windows import windows_logsource_pipeline

    return OracleBackend(processing_pipeline=sysmon_pipeline() + windows_logsource_pipeline())


@lru_cache(maxsize=1)
def _audit_backend() -> OracleBackend:
    from sigma.pipelines.windows import windows_audit_pipeline, windows_logsource_pipeline

    return OracleBackend(processing_pipeline=windows_audit_pipeline() + windows_logsource_pipeline())


AUDIT_CATEGORIES = frozenset({"process_creation"})  # served by 4688 in Sigma's taxonomy and in hunt


def convert_rule(text: str) -> dict[str, Any]:
    """{"id", "title", "where": SQL condition} for one rule file's text, or {"id", "error"}."""
    from sigma.collection import SigmaCollection
    from sigma.rule import SigmaRule

    rule_id = ""
    try:
        coll = SigmaCollection.from_yaml(text)
        rules = [r for r in coll.rules if isinstance(r, SigmaRule)]
        if len(rules) != 1:
            return {"id": "", "error": f"{len(rules)} base rules in the file"}
        rule = rules[0]
        rule_id = str(rule.id or "")
        queries = _backend().convert_rule(rule)
        if rule.logsource.product == "windows" and rule.logsource.category in AUDIT_CATEGORIES:
            # a fresh parse: a pipeline run changes the rule it converts
            audit_rule = next(r for r in SigmaCollection.from_yaml(text).rules if isinstance(r, SigmaRule))
            queries = [*queries, *_audit_backend().convert_rule(audit_rule)]
        where = " OR ".join(f"({_where(q)})" for q in queries)
        return {"id": rule_id, "title": rule.title, "where": where}
    except Exception as exc:  # noqa: BLE001 - a rule the backend refuses is a finding
        return {"id": rule_id, "error": f"{type(exc).__name__}: {exc}"}


def convert_files(files: list[Path], cache: Path) -> dict[str, dict[str, Any]]:
    """path -> convert_rule result for every rule file, cached as one JSON per rule set."""
    h = hashlib.sha256(SQL_VERSION.encode())
    texts = {}
    for f in files:
        texts[str(f)] = f.read_text(encoding="utf-8")
        h.update(str(f).encode() + b"\0" + texts[str(f)].encode() + b"\0")
    target = cache / f"sql-{h.hexdigest()[:24]}.json"
    if target.exists():
        try:
            got: dict[str, dict[str, Any]] = json.loads(target.read_text(encoding="utf-8"))
            return got
        except ValueError:
            pass
    out = {path: convert_rule(text) for path, text in texts.items()}
    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(out), encoding="utf-8")
    tmp.replace(target)
    return out


@lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _regexp(pattern: str, value: Any) -> bool:
    rx = _regex(pattern)
    return value is not None and rx is not None and rx.search(str(value)) is not None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Table:
    """One in-memory SQLite table `logs`: a row per record, a TEXT COLLATE NOCASE column per
    raw field name (missing fields are NULL), plus the record's file, record id and keywords."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.create_function("REGEXP", 2, _regexp, deterministic=True)
        self.columns: dict[str, None] = {}

    def _add_column(self, name: str) -> None:
        if name.lower() not in {c.lower() for c in self.columns}:
            self.db.execute(f"ALTER TABLE logs ADD COLUMN {_quote(name)} TEXT COLLATE NOCASE")
        self.columns[name] = None

    def load(self, rows: Iterable[tuple[str, str, dict[str, str]]]) -> int:
        """Insert (file, record id, fields) rows; returns how many."""
        data = list(rows)
        names: dict[str, None] = {}
        for _, _, fields in data:
            names.update({k.lower(): None for k in fields})
        cols = [FILE, RECORD, KEYWORDS, *[n for n in names if n not in (FILE, RECORD, KEYWORDS)]]
        self.db.execute("CREATE TABLE logs (" + ", ".join(f"{_quote(c)} TEXT COLLATE NOCASE" for c in cols) + ")")
        self.columns = dict.fromkeys(cols)
        position = {c: i for i, c in enumerate(cols)}
        values = []
        for file, record, fields in data:
            row: list[str | None] = [None] * len(cols)
            row[0], row[1], row[2] = file, record, "\n".join(v for v in fields.values() if v)
            for k, v in fields.items():
                row[position[k.lower()]] = v
            values.append(row)
        self.db.executemany(f"INSERT INTO logs VALUES ({', '.join('?' * len(cols))})", values)
        for c in ("channel", "eventid"):
            if c in position:
                self.db.execute(f"CREATE INDEX idx_{c} ON logs ({_quote(c)})")
        return len(values)

    def matches(self, where: str) -> list[tuple[str, str]]:
        """(file, record id) of the rows the condition selects. A column the table lacks is a
        field no record has: it is added (all NULL) and the query retried."""
        for _ in range(64):
            try:
                return list(self.db.execute(f"SELECT {FILE}, {RECORD} FROM logs WHERE {where}"))
            except sqlite3.OperationalError as exc:
                missing = re.match(r"no such column: (.+)$", str(exc))
                if not missing:
                    raise
                self._add_column(missing.group(1).strip('`"'))
        raise RuntimeError("too many missing columns")
