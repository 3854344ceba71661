"""The hunt alert report: one self-contained HTML file, safe to open whatever the logs held.

Why it is built this way:
- Self-contained and offline: the CSS and the script (report/assets) are inlined, the chart is
  SVG drawn by that script; the page loads nothing (`default-src 'none'`).
- Log content is data, never markup: the alerts travel in a `<script type="application/json">`
  block (not executed; `<`, `>`, `&` and the JavaScript line separators written as `\\uXXXX`
  escapes, so no value can close the block), and the script puts every value on the page with
  `textContent` and no `href`: a `<script>`, an `onerror=` or a `javascript:` link in an event
  stays text. Control and bidi characters are written as visible escapes before embedding
  (`\\u202e` cannot turn `gpj.exe` into `exe.jpg`).
- A strict Content-Security-Policy with a fresh nonce admits only the report's own script and
  style: even a value that escaped all of the above would not run.
"""

from __future__ import annotations

import json
import secrets
from importlib import resources
from typing import Any, TextIO

from logwarden.detection.facts import BY_CATEGORY, EVERY_EVENT, WHEN_PRESENT
from logwarden.safe_text import printable

MAX_EVENTS_PER_ALERT = 5  # contributing events embedded per alert (the alert counts all)
MAX_VALUE_CHARS = 4000
FACT_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(
    ["host.name", *EVERY_EVENT, *WHEN_PRESENT, *(f for fl in BY_CATEGORY.values() for f in fl)]))
TITLE = "logwarden hunt report"


def _flat(doc: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {} if out is None else out
    if isinstance(doc, dict):
        for k, v in doc.items():
            _flat(v, f"{prefix}{k}.", out)
    else:
        out[prefix[:-1]] = doc
    return out


def _shown(value: Any) -> Any:
    """A value as a person may see it: strings with control / bidi characters escaped and cut
    at MAX_VALUE_CHARS, lists element by element, numbers as they are."""
    if isinstance(value, str):
        text = printable(value)
        return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "..."
    if isinstance(value, list):
        return [_shown(v) for v in value]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return _shown(str(value))


def _origin_of(origins: dict[str, dict[str, Any]], eid: str) -> dict[str, Any]:
    return {k: _shown(v) for k, v in origins.get(eid, {}).items()}


def report_data(alerts: list[dict[str, Any]], summary: dict[str, Any],
                events: dict[str, dict[str, Any]] | None = None,
                origins: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """What the page shows, every string already made safe to display (`_shown`): the summary,
    and per alert its time, level, rule, host, tactics, facts, message, where it came from and
    its contributing events (at most MAX_EVENTS_PER_ALERT, each flattened with its origin)."""
    events, origins = events or {}, origins or {}
    rows = []
    for a in alerts:
        flat = _flat(a)
        sig = a.get("sigma") or {}
        ids = [str(i) for i in sig.get("events") or []]
        contributing = [{"id": _shown(i), "origin": _origin_of(origins, i),
                         "fields": {_shown(k): _shown(v) for k, v in sorted(_flat(events[i]).items())}}
                        for i in ids[:MAX_EVENTS_PER_ALERT] if i in events]
        rows.append({
            "id": _shown(flat.get("event.id", "")),
            "time": _shown(flat.get("@timestamp", "")),
            "level": _shown(sig.get("level", "")),
            "severity": flat.get("event.severity", 0),
            "rule": _shown(flat.get("rule.name", "")),
            "type": _shown(sig.get("type", "")),
            "host": _shown(flat.get("host.name", "")),
            "tactics": _shown(flat.get("threat.tactic.name") or []),
            "techniques": _shown(flat.get("threat.technique.id") or []),
            "count": sig.get("count", 1),
            "reason": _shown(flat.get("event.reason", "")),
            "message": _shown(flat.get("message", "")),
            "facts": {f: _shown(flat[f]) for f in FACT_FIELDS if flat.get(f) not in (None, "", [])},
            "source": {k[len("logwarden.source."):]: _shown(v) for k, v in flat.items()
                       if k.startswith("logwarden.source.")},
            "group": {_shown(k): _shown(v) for k, v in (sig.get("group") or {}).items()},
            "event_count": len(ids),
            "events": contributing,
        })
    return {"summary": {k: _shown(v) for k, v in summary.items()}, "alerts": rows}


def json_for_script(data: Any) -> str:
    """JSON that can sit inside a `<script type="application/json">` element: no `<` (so no
    `</script>` or `<!--`), `>`, `&` or U+2028/2029 in the text, all as `\\uXXXX`."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for ch in ("<", ">", "&", "\u2028", "\u2029"):
        text = text.replace(ch, f"\\u{ord(ch):04x}")
    return text


def _asset(name: str) -> str:
    return resources.files("logwarden.report").joinpath("assets", name).read_text(encoding="utf-8")


def write_html(alerts: list[dict[str, Any]], out: TextIO, summary: dict[str, Any],
               events: dict[str, dict[str, Any]] | None = None,
               origins: dict[str, dict[str, Any]] | None = None) -> None:
    """Write the report page for `alerts` to `out`. `summary`: what was read (shown on top);
    `events` / `origins`: contributing event documents and where each came from, by event id."""
    nonce = secrets.token_urlsafe(18)
    csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src 'none'; "
           "connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    data = json_for_script(report_data(alerts, summary, events, origins))
    out.write(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n"
        f"<title>{TITLE}</title>\n<style nonce=\"{nonce}\">\n{_asset('report.css')}</style>\n</head>\n"
        "<body>\n<header><h1>logwarden hunt report</h1><p id=\"summary\"></p></header>\n"
        "<section id=\"filters\" aria-label=\"filters\">"
        "<label>host <select id=\"f-host\"><option value=\"\">all</option></select></label>"
        "<label>rule <select id=\"f-rule\"><option value=\"\">all</option></select></label>"
        "<label>severity <select id=\"f-level\"><option value=\"\">all</option></select></label>"
        "<label>tactic <select id=\"f-tactic\"><option value=\"\">all</option></select></label>"
        "<label>text <input id=\"f-text\" type=\"search\" placeholder=\"user, address, file, command line...\"></label>"
        "<button id=\"f-clear\" type=\"button\">clear</button> <span id=\"shown\"></span></section>\n"
        "<section id=\"timeline\" aria-label=\"alerts over time\"><h2>Alerts over time</h2>"
        "<p class=\"hint\">stacked by severity; click a bar to show only its time slice</p>"
        "<div id=\"chart\"></div></section>\n"
        "<section id=\"breakdowns\" aria-label=\"breakdowns\"></section>\n"
        "<section id=\"alerts\" aria-label=\"alerts\"><h2>Alerts</h2>"
        "<p class=\"hint\">click an alert for its facts and contributing events</p>"
        "<table id=\"alert-table\"><thead><tr><th>time</th><th>severity</th><th>rule</th><th>host</th>"
        "<th>count</th><th>what happened</th></tr></thead><tbody></tbody></table></section>\n"
        f"<script type=\"application/json\" id=\"report-data\">{data}</script>\n"
        f"<script nonce=\"{nonce}\">\n{_asset('report.js')}</script>\n</body></html>\n"
    )
