// The hunt report's only script (logwarden/report/html.py inlines it with a CSP nonce).
// Every value from the logs reaches the page through textContent: never innerHTML, never an
// href or an event-handler attribute.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const alerts = data.alerts;
  const LEVELS = ["critical", "high", "medium", "low", "informational"];
  const COLORS = { critical: "#7b1fa2", high: "#d32f2f", medium: "#f57c00", low: "#1976d2", informational: "#607d8b" };
  const SVG = "http://www.w3.org/2000/svg";
  const state = { host: "", rule: "", level: "", tactic: "", text: "", from: null, to: null };
  const byId = (id) => document.getElementById(id);

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
  }
  const ms = (a) => Date.parse(a.time) || 0;
  for (const a of alerts) {
    a.ms = ms(a);
    a.haystack = JSON.stringify([a.rule, a.host, a.reason, a.message, a.facts, a.source, a.group, a.id]).toLowerCase();
  }

  function fillSelect(id, values) {
    const sel = byId(id);
    for (const v of [...new Set(values)].filter((x) => x !== "").sort()) {
      const opt = el("option", v);
      opt.value = v;
      sel.appendChild(opt);
    }
    sel.addEventListener("change", () => { state[id.slice(2)] = sel.value; render(); });
  }
  fillSelect("f-host", alerts.map((a) => a.host));
  fillSelect("f-rule", alerts.map((a) => a.rule));
  fillSelect("f-level", LEVELS.filter((l) => alerts.some((a) => a.level === l)));
  fillSelect("f-tactic", alerts.flatMap((a) => a.tactics));
  byId("f-text").addEventListener("input", (e) => { state.text = e.target.value.toLowerCase(); render(); });
  byId("f-clear").addEventListener("click", () => {
    Object.assign(state, { host: "", rule: "", level: "", tactic: "", text: "", from: null, to: null });
    for (const id of ["f-host", "f-rule", "f-level", "f-tactic", "f-text"]) byId(id).value = "";
    render();
  });

  function matches(a) {
    return (!state.host || a.host === state.host) && (!state.rule || a.rule === state.rule)
      && (!state.level || a.level === state.level) && (!state.tactic || a.tactics.includes(state.tactic))
      && (state.from === null || (a.ms >= state.from && a.ms < state.to))
      && (!state.text || a.haystack.includes(state.text));
  }

  function drawChart(shown) {
    const box = byId("chart");
    box.replaceChildren();
    const width = 960, height = 180, left = 40, bottom = 24, top = 8;
    const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
    const times = alerts.map((a) => a.ms).filter((t) => t > 0);
    if (!times.length) { box.appendChild(el("p", "no alerts")); return; }
    const lo = Math.min(...times), hi = Math.max(...times) + 1;
    const buckets = 60, step = Math.max(1, (hi - lo) / buckets);
    const counts = Array.from({ length: buckets }, () => Object.fromEntries(LEVELS.map((l) => [l, 0])));
    for (const a of shown) {
      if (a.ms <= 0) continue;
      const i = Math.min(buckets - 1, Math.floor((a.ms - lo) / step));
      counts[i][LEVELS.includes(a.level) ? a.level : "medium"] += 1;
    }
    const most = Math.max(1, ...counts.map((c) => LEVELS.reduce((s, l) => s + c[l], 0)));
    const barW = (width - left - 4) / buckets, plotH = height - bottom - top;
    chart.appendChild(svg("line", { x1: left, y1: top + plotH, x2: width - 2, y2: top + plotH, stroke: "#9aa5b1" }));
    const yLabel = svg("text", { x: 4, y: top + 10 });
    yLabel.textContent = String(most);
    chart.appendChild(yLabel);
    let drawn = 0;
    counts.forEach((c, i) => {
      let y = top + plotH;
      for (const l of LEVELS) {
        if (!c[l]) continue;
        const h = Math.max(2, (c[l] / most) * plotH);
        y -= h;
        const bar = svg("rect", { x: left + i * barW + 1, y, width: Math.max(1, barW - 2), height: h, fill: COLORS[l], class: "bar" });
        const tip = svg("title");
        tip.textContent = `${c[l]} ${l} from ${new Date(lo + i * step).toISOString()}`;
        bar.appendChild(tip);
        bar.addEventListener("click", () => { state.from = lo + i * step; state.to = lo + (i + 1) * step; render(); });
        chart.appendChild(bar);
        drawn += 1;
      }
    });
    for (const [x, t, anchor] of [[left, lo, "start"], [width - 2, hi, "end"]]) {
      const label = svg("text", { x, y: height - 6, "text-anchor": anchor });
      label.textContent = new Date(t).toISOString().replace(".000Z", "Z");
      chart.appendChild(label);
    }
    chart.dataset.bars = String(drawn);
    box.appendChild(chart);
  }

  function drawBreakdowns(shown) {
    const box = byId("breakdowns");
    box.replaceChildren();
    const views = [["host", "By host", (a) => [a.host]], ["rule", "By rule", (a) => [a.rule]],
      ["level", "By severity", (a) => [a.level]], ["tactic", "By ATT&CK tactic", (a) => a.tactics]];
    for (const [key, title, values] of views) {
      const counts = new Map();
      for (const a of shown) for (const v of values(a)) counts.set(v || "(none)", (counts.get(v || "(none)") || 0) + 1);
      const rows = [...counts.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, 15);
      const most = Math.max(1, ...rows.map((r) => r[1]));
      const part = el("div");
      part.appendChild(el("h2", title));
      const table = el("table");
      table.id = `by-${key}`;
      for (const [name, n] of rows) {
        const tr = el("tr");
        const nameCell = el("td", name, "name");
        nameCell.title = name;
        tr.appendChild(nameCell);
        tr.appendChild(el("td", n));
        const meterCell = el("td");
        const meter = el("span", null, "meter");
        meter.style.width = `${Math.round((n / most) * 120)}px`;
        meterCell.appendChild(meter);
        tr.appendChild(meterCell);
        tr.addEventListener("click", () => {
          if (name === "(none)") return;
          state[key] = name;
          byId(`f-${key}`).value = name;
          render();
        });
        table.appendChild(tr);
      }
      part.appendChild(table);
      box.appendChild(part);
    }
  }

  function kvTable(obj) {
    const table = el("table", null, "kv");
    for (const [k, v] of Object.entries(obj)) {
      const tr = el("tr");
      tr.appendChild(el("td", k, "key"));
      tr.appendChild(el("td", Array.isArray(v) ? v.join(", ") : v));
      table.appendChild(tr);
    }
    return table;
  }

  function originText(o) {
    if (o.file !== undefined) return o.record !== undefined ? `${o.file} record ${o.record}` : String(o.file);
    if (o.topic !== undefined) return `${o.topic}/${o.partition}@${o.offset}`;
    if (o.index !== undefined) return `${o.index}/${o.id}`;
    return "";
  }

  function details(a) {
    const cell = el("td");
    cell.colSpan = 6;
    cell.appendChild(el("p", a.message));
    const head = { "alert id": a.id, "rule type": a.type, tactics: a.tactics, techniques: a.techniques };
    if (Object.keys(a.group).length) head.group = Object.entries(a.group).map(([k, v]) => `${k}=${v}`);
    cell.appendChild(kvTable(head));
    cell.appendChild(el("h3", "Facts"));
    cell.appendChild(kvTable(a.facts));
    if (Object.keys(a.source).length) cell.appendChild(el("p", `from ${originText(a.source)}`));
    const more = a.event_count - a.events.length;
    cell.appendChild(el("h3", `Contributing events (${a.event_count})`));
    for (const ev of a.events) {
      const box = el("details");
      box.appendChild(el("summary", `${ev.fields["@timestamp"] || ""} ${ev.fields["event.code"] || ""} ${originText(ev.origin)} ${ev.id}`));
      box.appendChild(kvTable(ev.fields));
      cell.appendChild(box);
    }
    if (more > 0) cell.appendChild(el("p", `${more} more not embedded (their ids are in the alert's sigma.events)`));
    const tr = el("tr", null, "details");
    tr.appendChild(cell);
    return tr;
  }

  function drawList(shown) {
    const body = byId("alert-table").tBodies[0];
    body.replaceChildren();
    for (const a of shown.slice(0, 2000)) {
      const tr = el("tr", null, "alert");
      tr.dataset.id = a.id;
      tr.appendChild(el("td", a.time));
      const lvl = el("td");
      lvl.appendChild(el("span", a.level, `level level-${LEVELS.includes(a.level) ? a.level : "medium"}`));
      tr.appendChild(lvl);
      tr.appendChild(el("td", a.rule));
      tr.appendChild(el("td", a.host));
      tr.appendChild(el("td", a.count));
      tr.appendChild(el("td", a.reason, "what"));
      let open = null;
      tr.addEventListener("click", () => {
        if (open) { open.remove(); open = null; } else { open = details(a); tr.after(open); }
      });
      body.appendChild(tr);
    }
    if (shown.length > 2000) body.appendChild(el("tr")).appendChild(el("td", `${shown.length - 2000} more: narrow the filters`));
  }

  function render() {
    const shown = alerts.filter(matches);
    drawChart(shown);
    drawBreakdowns(shown);
    drawList(shown);
    const slice = state.from === null ? "" : `, time slice ${new Date(state.from).toISOString()} to ${new Date(state.to).toISOString()}`;
    byId("shown").textContent = `${shown.length} of ${alerts.length} alerts shown${slice}`;
  }

  const s = data.summary;
  byId("summary").textContent = Object.entries(s).map(([k, v]) => `${v} ${k}`).join(", ");
  render();
  if (location.hash === "#open-all") {  // print or archive every alert with its details open
    for (const row of document.querySelectorAll("#alert-table tr.alert")) row.click();
  }
  document.body.dataset.ready = "1";
})();
