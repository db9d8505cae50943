// The Monitor tab: CloudWatch-style charts (uPlot) of the function's metrics, one point per
// period, with a sentence under each chart saying what it shows (its text alternative).
// Data: monitor/series.json?period=&range= (the "series" of GET /api/functions/<slug>/metrics).
(function () {
  "use strict";

  const C = window.ColdstartCharts;
  const MAX_POINTS = 1440; // sandbox/web/metric_series.py
  const REFRESH_MS = 10000;

  function periodName(seconds) {
    if (seconds === 60) return "minute";
    if (seconds === 3600) return "hour";
    if (seconds % 3600 === 0) return seconds / 3600 + " hours";
    if (seconds % 60 === 0) return seconds / 60 + " minutes";
    return seconds + " s";
  }

  function when(t, period) {
    const options = { hour: "2-digit", minute: "2-digit" };
    if (period < 60) options.second = "2-digit";
    return new Date(t * 1000).toLocaleTimeString([], options);
  }

  function total(points) { return points.reduce((sum, p) => sum + p.value, 0); }

  // The period with the largest value (the first of equals), or null when all are 0 / empty.
  function busiest(points, key) {
    let best = null;
    for (const p of points) if (p[key] != null && p[key] > 0 && (!best || p[key] > best[key])) best = p;
    return best;
  }

  // ---------------------------------------------------------------- text alternatives
  // "at most 20 in one minute (14:32)": the busiest period of a count.
  function peakText(points, d) {
    const top = busiest(points, "value");
    return `at most ${top.value} in one ${periodName(d.period)} (${when(top.t, d.period)})`;
  }

  function countSummary(points, d, one, many) {
    const n = total(points);
    if (!n) return `No ${many} in the last ${d.rangeName}.`;
    return `${C.plural(n, one, many)} in the last ${d.rangeName}; ${peakText(points, d)}.`;
  }

  const SUMMARIES = {
    Invocations: (s, d) => countSummary(s.Invocations, d, "invocation", "invocations"),
    Errors(s, d) {
      const errors = total(s.Errors);
      const invocations = total(s.Invocations);
      if (!errors) return `No errors in the last ${d.rangeName}` + (invocations ? ` (${C.plural(invocations, "invocation")}).` : ".");
      const rate = ((100 * errors) / invocations).toFixed(1);
      return `${C.plural(errors, "error")} in ${C.plural(invocations, "invocation")} (${rate} %) in the last ` +
        `${d.rangeName}; ${peakText(s.Errors, d)}.`;
    },
    Throttles: (s, d) => countSummary(s.Throttles, d, "throttled request", "throttled requests"),
    Duration(s, d) {
      const ran = s.Invocations;
      let weighted = 0, n = 0, max = null, worst = null;
      s.Duration.forEach((p, i) => {
        if (p.avg == null) return;
        weighted += p.avg * ran[i].value; n += ran[i].value;
        if (max == null || p.max > max) max = p.max;
        if (!worst || p.p99 > worst.p99) worst = p;
      });
      if (!n) return `No invocations in the last ${d.rangeName}, so no durations.`;
      return `Average ${C.fmtMs(weighted / n)} over ${C.plural(n, "invocation")} in the last ${d.rangeName}; ` +
        `the slowest ${periodName(d.period)} had p99 ${C.fmtMs(worst.p99)} (${when(worst.t, d.period)}); maximum ${C.fmtMs(max)}.`;
    },
    ConcurrentExecutions(s, d) {
      const top = busiest(s.ConcurrentExecutions, "max");
      if (!top) return `Nothing ran in the last ${d.rangeName}.`;
      return `Peak: ${C.plural(top.max, "concurrent execution")} (${when(top.t, d.period)}), ` +
        `the most in flight at once in the last ${d.rangeName}.`;
    },
    ProvisionedConcurrencySpilloverInvocations(s, d) {
      const points = s.ProvisionedConcurrencySpilloverInvocations;
      const n = total(points);
      if (!n) return `No spillover in the last ${d.rangeName}: no invocation ran on-demand while provisioned concurrency was configured.`;
      return `${C.plural(n, "invocation")} ran on-demand while provisioned concurrency was configured, in the last ` +
        `${d.rangeName}; ${peakText(points, d)}.`;
    },
  };

  // ---------------------------------------------------------------- charts
  function lines(metric) {
    const c = (name, fallback) => C.color(name, fallback);
    if (metric === "Duration") {
      return [
        { label: "avg", key: "avg", stroke: c("--chart-blue", "#1971c2"), width: 2 },
        { label: "p50", key: "p50", stroke: c("--chart-green", "#2b8a3e"), width: 1.5 },
        { label: "p99", key: "p99", stroke: c("--chart-orange", "#e8590c"), width: 1.5 },
        { label: "max", key: "max", stroke: c("--chart-red", "#c92a2a"), width: 1, dash: [4, 3] },
      ];
    }
    if (metric === "ConcurrentExecutions") {
      return [{ label: "max", key: "max", stroke: c("--chart-violet", "#7048e8"), width: 2, stepped: true }];
    }
    const colors = { Errors: ["--chart-red", "#c92a2a"], Throttles: ["--chart-orange", "#e8590c"],
      ProvisionedConcurrencySpilloverInvocations: ["--chart-violet", "#7048e8"] };
    const [name, fallback] = colors[metric] || ["--chart-blue", "#1971c2"];
    return [{ label: "sum", key: "value", stroke: c(name, fallback), width: 1, bars: true }];
  }

  const charts = {};

  function draw(section, metric, points, period) {
    const el = section.querySelector(".chart");
    const defs = lines(metric);
    const xs = points.map((p) => p.t);
    const data = [xs, ...defs.map((l) => points.map((p) => p[l.key]))];
    if (metric === "ConcurrentExecutions" && xs.length) {
      // A step holds for its whole period: the last one ends where the window does.
      data[0] = xs.concat([xs[xs.length - 1] + period]);
      data[1] = data[1].concat([data[1][data[1].length - 1]]);
    }
    const width = Math.max(240, el.clientWidth || 480);
    const existing = charts[metric];
    if (existing && existing.width === width) { existing.chart.setData(data); return; }
    if (existing) existing.chart.destroy();
    const series = [{}].concat(defs.map((l) => {
      // Durations are points joined by lines (a lone point is drawn); an empty period is a gap.
      const dots = metric === "Duration" ? { show: true, size: 5, fill: l.stroke } : { show: false };
      const s = { label: l.label, stroke: l.stroke, width: l.width, dash: l.dash, spanGaps: false, points: dots };
      if (l.bars) {
        s.fill = l.stroke; s.width = 0; s.paths = window.uPlot.paths.bars({ size: [0.8, 60], align: 1 });
      } else if (l.stepped) {
        s.paths = window.uPlot.paths.stepped({ align: 1 });
      }
      return s;
    }));
    const counts = metric !== "Duration";
    const chart = new window.uPlot({
      width, height: 170,
      scales: { x: { time: true, range: (u, min, max) => [min, max + period] },
                y: { range: (u, min, max) => [0, Math.max(counts ? 1 : 0.001, (max || 0) * 1.1)] } },
      axes: [C.axis({ size: 50 }), C.axis({ size: 52, values: counts ? (u, ticks) => ticks.map((v) => (Number.isInteger(v) ? v : "")) : undefined })],
      series,
      legend: { show: metric === "Duration", live: false },
      cursor: { points: { show: false } },
    }, data, el);
    charts[metric] = { chart, width };
  }

  function setup() {
    const root = document.querySelector(".monitor");
    if (!root || !window.uPlot) return;
    const form = document.getElementById("monitor-controls");
    const rangeEl = document.getElementById("monitor-range");
    const periodEl = document.getElementById("monitor-period");
    const versionEl = document.getElementById("monitor-version"); // shown once two versions ran
    const status = document.getElementById("monitor-status");
    let busy = false;
    let again = false; // asked for while a load was in flight: load once more after it

    // A period is offered only where it makes between 1 and MAX_POINTS points of the range.
    function fitPeriods() {
      const range = Number(rangeEl.value);
      for (const option of periodEl.options) {
        const period = Number(option.value);
        option.disabled = period > range || range / period > MAX_POINTS;
      }
      if (periodEl.selectedOptions[0].disabled) {
        const fits = [...periodEl.options].filter((o) => !o.disabled);
        periodEl.value = fits[0].value; // the finest that fits
      }
    }

    async function load() {
      if (busy) { again = true; return; }
      busy = true;
      again = false;
      const period = Number(periodEl.value);
      const range = Number(rangeEl.value);
      const query = new URLSearchParams({ period, range });
      if (versionEl && versionEl.value) query.set("version", versionEl.value);
      const url = `${root.dataset.seriesUrl}?${query}`;
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        const body = await response.json();
        if (!response.ok) throw new Error(body.error || response.status);
        const d = { period, rangeName: rangeEl.selectedOptions[0].textContent.replace(/^last /, "") };
        for (const section of root.querySelectorAll("[data-metric]")) {
          const metric = section.dataset.metric;
          draw(section, metric, body.series[metric], period);
          section.querySelector(".chart-summary").textContent = SUMMARIES[metric](body.series, d);
          if (metric !== "Duration" && metric !== "ConcurrentExecutions") section.dataset.total = total(body.series[metric]);
        }
        root.dataset.period = String(body.period);
        root.dataset.state = "loaded";
        status.textContent = `Updated ${new Date().toLocaleTimeString()} · ${body.series.Invocations.length} points, one per ${periodName(period)}`;
      } catch (err) {
        root.dataset.state = "error";
        status.textContent = `Could not load the metrics: ${err.message}`;
      } finally {
        busy = false;
        if (again) load();
      }
    }

    form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
    rangeEl.addEventListener("change", () => { fitPeriods(); load(); });
    if (versionEl) versionEl.addEventListener("change", load);
    periodEl.addEventListener("change", load);
    let resizeTimer = null;
    window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(load, 150); });
    setInterval(() => { if (document.visibilityState === "visible") load(); }, REFRESH_MS);
    fitPeriods();
    load();
  }

  window.ColdstartMonitor = { summaries: SUMMARIES, periodName };
  document.addEventListener("DOMContentLoaded", setup);
})();
