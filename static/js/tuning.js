// The Power tuning tab: follows a run (its JSON report) and draws duration and cost per
// invocation against memory (uPlot, memory on a log2 axis), marks the cheapest and the fastest
// size, and writes the same in a sentence and a table for those who cannot see the chart.
(function () {
  "use strict";

  const C = window.ColdstartCharts;
  const POLL_MS = 700;

  function sizeText(r) {
    if (r.error) return `${r.memory_mb} MB: ${r.error.type}${r.error.message ? " (" + r.error.message + ")" : ""}`;
    return `${r.memory_mb} MB: ${C.fmtMs(r.duration_ms)}, ${C.fmtUsd(r.cost_usd)} per invocation`;
  }

  function summary(report) {
    const results = report.results;
    if (!results.length) {
      return report.status === "running" ? "Running the first size…" : "This run measured nothing.";
    }
    let text = results.map(sizeText).join("; ") + ".";
    const byMemory = Object.fromEntries(results.map((r) => [r.memory_mb, r]));
    if (report.cheapest != null) {
      const r = byMemory[report.cheapest];
      text += ` Cheapest: ${r.memory_mb} MB (${C.fmtUsd(r.cost_usd)} per invocation).`;
    }
    if (report.fastest != null) {
      const r = byMemory[report.fastest];
      text += ` Fastest: ${r.memory_mb} MB (${C.fmtMs(r.duration_ms)}).`;
    }
    if (report.status === "running") text += " Still running: these can change.";
    return text;
  }

  function table(report, box) {
    if (!report.results.length) return;
    const cell = (tag, text) => { const c = document.createElement(tag); c.textContent = text; return c; };
    const t = document.createElement("table");
    const head = document.createElement("tr");
    ["Memory", "Invocations", "Duration", "Billed", "Cold start init", "Cost per invocation", "Cost per million"]
      .forEach((h) => { const th = cell("th", h); th.scope = "col"; head.append(th); });
    t.append(head);
    for (const r of report.results) {
      const row = document.createElement("tr");
      row.dataset.memory = r.memory_mb;
      const memory = cell("th", `${r.memory_mb} MB`);
      memory.scope = "row";
      for (const [kind, size] of [["cheapest", report.cheapest], ["fastest", report.fastest]]) {
        if (size === r.memory_mb) {
          const badge = cell("span", kind);
          badge.className = `badge badge-${kind}`;
          memory.append(badge);
        }
      }
      row.append(memory, cell("td", `${r.invocations}${r.throttles ? ` (+${r.throttles} throttled)` : ""}`));
      if (r.error) {
        const note = cell("td", `${r.error.type}: ${r.error.message || r.error.status}`);
        note.colSpan = 5;
        note.className = "error-note";
        row.append(note);
      } else {
        row.append(cell("td", C.fmtMs(r.duration_ms)), cell("td", C.fmtMs(r.billed_duration_ms)),
          cell("td", C.fmtMs(r.init_duration_ms)), cell("td", C.fmtUsd(r.cost_usd)),
          cell("td", r.cost_usd == null ? "—" : "$" + (r.cost_usd * 1e6).toFixed(2)));
      }
      t.append(row);
    }
    box.replaceChildren(t);
  }

  let chart = null;
  let drawnWidth = 0;

  function draw(report, el) {
    const results = report.results;
    const xs = results.map((r) => r.memory_mb);
    const durations = results.map((r) => (r.error ? null : r.duration_ms));
    // Cost per million invocations: $0.42 reads better on an axis than $0.000000421.
    const costs = results.map((r) => (r.error || r.cost_usd == null ? null : r.cost_usd * 1e6));
    const only = (size, values) => results.map((r, i) => (r.memory_mb === size ? values[i] : null));
    const data = [xs, durations, costs, only(report.cheapest, costs), only(report.fastest, durations)];
    el.dataset.points = String(xs.length);
    el.dataset.cheapest = report.cheapest == null ? "" : String(report.cheapest);
    el.dataset.fastest = report.fastest == null ? "" : String(report.fastest);
    if (!xs.length || !window.uPlot) return;
    const width = Math.max(260, el.clientWidth || 600);
    if (chart && drawnWidth === width && chart.data[0].length === xs.length) { chart.setData(data); return; }
    if (chart) chart.destroy();
    const durationColor = C.color("--chart-blue", "#1971c2");
    const costColor = C.color("--chart-orange", "#d9480f");
    const mark = (name, fallback) => ({ show: true, size: 16, width: 3, stroke: C.color("--panel", "#fff"), fill: C.color(name, fallback) });
    const pad = (u, min, max) => (min === max ? [min / 1.5, max * 1.5] : [min / 1.25, max * 1.25]);
    chart = new window.uPlot({
      width, height: 260,
      scales: {
        x: { time: false, distr: 3, log: 2, range: pad },
        ms: { range: (u, min, max) => [0, Math.max(1, (max || 0) * 1.15)] },
        usd: { range: (u, min, max) => [0, Math.max(0.01, (max || 0) * 1.15)] },
      },
      axes: [
        // A tick at each size measured; one too close to the last shown is left unlabelled (null).
        C.axis({ label: "memory (MB)", size: 44, space: 30, splits: () => xs,
          values: (u, splits) => splits.map((v) => (v == null ? "" : String(v))) }),
        C.axis({ scale: "ms", label: "duration (ms)", size: 58, stroke: durationColor }),
        C.axis({ scale: "usd", side: 1, label: "$ per million invocations", size: 64, stroke: costColor, grid: { show: false },
          values: (u, ticks) => ticks.map((v) => "$" + v.toFixed(v < 1 ? 2 : 1)) }),
      ],
      series: [
        {},
        { label: "duration", scale: "ms", stroke: durationColor, width: 2, points: { show: true, size: 7 }, value: (u, v) => C.fmtMs(v) },
        { label: "cost per million invocations", scale: "usd", stroke: costColor, width: 2, dash: [6, 4], points: { show: true, size: 7 } },
        { label: "cheapest", scale: "usd", stroke: "transparent", width: 0, points: mark("--chart-green", "#2b8a3e") },
        { label: "fastest", scale: "ms", stroke: "transparent", width: 0, points: mark("--chart-violet", "#6741d9") },
      ],
      legend: { show: false },
      cursor: { points: { show: false } },
    }, data, el);
    drawnWidth = width;
  }

  function marks(report, box) {
    const parts = [];
    const byMemory = Object.fromEntries(report.results.map((r) => [r.memory_mb, r]));
    parts.push('<span class="mark mark-duration"><i></i> duration</span>');
    parts.push('<span class="mark mark-cost"><i></i> cost per million invocations (dashed)</span>');
    if (report.cheapest != null) parts.push(`<span class="mark mark-cheapest"><i></i> cheapest: ${byMemory[report.cheapest].memory_mb} MB</span>`);
    if (report.fastest != null) parts.push(`<span class="mark mark-fastest"><i></i> fastest: ${byMemory[report.fastest].memory_mb} MB</span>`);
    box.innerHTML = report.results.length ? parts.join("") : "";
  }

  function progress(report) {
    document.getElementById("tuning-progress").style.width = report.percent + "%";
    document.getElementById("tuning-bar").setAttribute("aria-valuenow", String(report.percent));
    const stopping = report.stop_requested && report.status === "running" ? " · stopping…" : "";
    document.getElementById("tuning-status").textContent = `${report.done} of ${report.planned} · ${report.status}${stopping}`;
    const listed = document.querySelector(`[data-run-status="${report.id}"]`);
    if (listed) listed.textContent = report.status;
    document.getElementById("tuning-start").disabled = report.status === "running";
    document.getElementById("tuning-stop").disabled = report.status !== "running";
  }

  function setup() {
    const root = document.querySelector(".tuning");
    if (!root || !root.dataset.reportUrl) return;
    const chartEl = document.getElementById("tuning-chart");
    let last = null;
    async function poll() {
      let report;
      try {
        const response = await fetch(root.dataset.reportUrl, { headers: { Accept: "application/json" } });
        if (!response.ok) throw new Error(response.status);
        report = await response.json();
      } catch (err) {
        setTimeout(poll, 2000);
        return;
      }
      last = report;
      render(report);
      if (report.status === "running") setTimeout(poll, POLL_MS);
    }
    function render(report) {
      progress(report);
      draw(report, chartEl);
      marks(report, document.getElementById("tuning-marks"));
      document.getElementById("tuning-summary").textContent = summary(report);
      table(report, document.getElementById("tuning-table"));
      root.dataset.state = report.status;
    }
    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => { if (last) { drawnWidth = 0; render(last); } }, 150);
    });
    poll();
  }

  window.ColdstartTuning = { summary };
  document.addEventListener("DOMContentLoaded", setup);
})();
