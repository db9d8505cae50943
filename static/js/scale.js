// The scaling page: polls the function's metrics JSON while a load runs and draws the
// concurrency chart (uPlot) and the environment timeline (one lane per environment), each
// with a text summary for those who cannot see the drawing.
(function () {
  "use strict";

  const COLORS = {
    init: "#4dabf7", invoke: "#40c057", error: "#fa5252", timeout: "#fab005", throttle: "#e8590c",
  };

  // Theme colours from static/css/coldstart.css (light or dark), with the light ones as fallback
  // for pages without it (the lessons' demo mode).
  function themeColor(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function fmtMs(v) { return v == null ? "—" : v.toFixed(1) + " ms"; }
  function fmtUsd(v) { return v < 0.01 ? "$" + v.toFixed(10).replace(/0+$/, "") : "$" + v.toFixed(4); }
  function fmtS(ms) { return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s"; }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  // "Cold starts: 5 on demand, 0 on provisioned": who served the cold requests, unambiguously.
  function coldStartsText(c) {
    return `${c.cold_starts_on_demand} on demand, ${c.cold_starts_provisioned} on provisioned`;
  }

  // Why each throttle happened, in the learner's words (the Reason Lambda or Coldstart gave):
  // the function's own limits, or the platform's (the account, the host, the learner's share).
  const REASONS = {
    ReservedFunctionConcurrentInvocationLimitExceeded: "reserved concurrency",
    FunctionInvocationRateLimitExceeded: "scaling rate",
    ConcurrentInvocationLimitExceeded: "account concurrency",
    LearnerConcurrencyQuotaExceeded: "your concurrency quota",
    LearnerRateQuotaExceeded: "your per-minute quota",
    LearnerMemoryQuotaExceeded: "your memory quota",
    HostEnvironmentCapReached: "host environment cap",
    HostMemoryBudgetReached: "host memory",
  };
  function reasonsText(throttles) {
    const counts = {};
    for (const t of throttles || []) counts[t.reason] = (counts[t.reason] || 0) + 1;
    const parts = Object.entries(counts).sort((a, b) => b[1] - a[1])
      .map(([reason, n]) => `${REASONS[reason] || reason || "unknown"}: ${n}`);
    return parts.length ? parts.join(" · ") : "none";
  }

  // Drawing functions are shared with the lessons' demo mode (window.ColdstartScale below).
  function setStats(m, root) {
    const c = m.counts;
    const scope = root || document;
    const set = (k, v) => { const el = scope.querySelector(`[data-stat="${k}"]`); if (el) el.textContent = v; };
    set("invocations", c.invocations);
    set("provisioned_invocations", c.provisioned_invocations ? `${c.provisioned_invocations} served by provisioned environments` : "");
    set("cold_starts", coldStartsText(c));
    set("cold_starts_split", `${c.cold_starts_on_demand} · ${c.cold_starts_provisioned}`);
    set("throttles", c.throttles);
    set("throttle_reasons", reasonsText(m.throttles));
    const versions = Object.entries(c.by_version || {});
    set("by_version", versions.length ? versions.map(([v, n]) => (v === "$LATEST" ? v : "v" + v) + ": " + n).join(" · ") : "—");
    set("errors", c.errors);
    set("percentiles", `${fmtMs(m.duration_ms.p50)} / ${fmtMs(m.duration_ms.p99)}`);
    set("cost", `${m.gb_seconds.toFixed(4)} GB-s · ${fmtUsd(m.cost_usd)}`);
    set("measured", `${m.concurrency_measured.peak} · ${m.concurrency_measured.average}`);
    const f = m.concurrency_formula;
    set("formula", `${f.requests_per_second} req/s × ${(f.average_duration_s * 1000).toFixed(0)} ms = ${f.concurrency}`);
  }

  // ---------------------------------------------------------------- concurrency chart
  function windowEnd(m) {
    if (m.window) return Math.max(m.window.to, 1);
    let end = 1;
    for (const lane of m.lanes) {
      end = Math.max(end, lane.to || 0);
      for (const s of lane.segments) end = Math.max(end, s.to);
    }
    for (const t of m.throttles) end = Math.max(end, t.at);
    return end;
  }

  function concurrencySummary(m) {
    if (!m.concurrency.length) return "No invocations in this window.";
    let peakAt = 0;
    let peak = 0;
    for (const [t, n] of m.concurrency) if (n > peak) { peak = n; peakAt = t; }
    return `Peak: ${plural(peak, "concurrent execution")}, first reached ${fmtS(peakAt)} into the window; ` +
      `average ${m.concurrency_measured.average} over ${fmtS(windowEnd(m))}. ` +
      `${plural(m.counts.invocations, "invocation")}, ${m.counts.throttles} throttled.`;
  }

  let chart = null;
  function drawConcurrency(m, el, options) {
    const opts = options || {};
    const xs = [0], ys = [0];
    for (const [t, n] of m.concurrency) { xs.push(t / 1000); ys.push(n); }
    xs.push(windowEnd(m) / 1000); ys.push(ys[ys.length - 1]);
    const summary = opts.summaryEl !== undefined ? opts.summaryEl : document.getElementById("concurrency-summary");
    if (summary) summary.textContent = concurrencySummary(m);
    const width = el.clientWidth || 600;
    if (!window.uPlot) return;
    if (chart) chart.destroy();
    const ink = themeColor("--chart-text", "#495057");
    const grid = { stroke: themeColor("--chart-grid", "#dee2e6"), width: 1 };
    chart = new window.uPlot({
      width, height: opts.height || 180,
      scales: { x: { time: false } },
      axes: [{ label: "seconds", size: 40, stroke: ink, grid }, { label: "in flight", size: 50, stroke: ink, grid }],
      series: [{}, { label: "concurrent executions", stroke: COLORS.throttle, width: 2,
                     fill: "rgba(232, 89, 12, .15)", paths: window.uPlot.paths.stepped({ align: 1 }) }],
      legend: { show: false },
    }, [xs, ys], el);
  }

  // ---------------------------------------------------------------- environment timeline
  function laneLabel(lane, i) {
    const version = lane.version && lane.version !== "$LATEST" ? " · v" + lane.version : "";
    return (lane.provisioned ? "★ " : "") + "env " + (i + 1) + version;
  }

  function laneStats(lane) {
    const invokes = lane.segments.filter((s) => s.kind === "invoke");
    const init = lane.segments.find((s) => s.kind === "init");
    return {
      invocations: invokes.length,
      errors: invokes.filter((s) => s.status !== "ok").length,
      initMs: init ? init.to - init.from : null,
    };
  }

  function timelineSummary(m) {
    const lanes = m.lanes;
    if (!lanes.length && !m.throttles.length) return "No environments in this window.";
    const ended = lanes.filter((l) => l.to != null);
    const reasons = {};
    for (const l of ended) reasons[l.end_reason || "ended"] = (reasons[l.end_reason || "ended"] || 0) + 1;
    const endedText = ended.length
      ? `${ended.length} ended (${Object.entries(reasons).map(([r, n]) => `${n} ${r}`).join(", ")})`
      : "none ended";
    const provisioned = lanes.filter((l) => l.provisioned).length;
    const before = lanes.filter((l) => l.started_before).length;
    return `${plural(lanes.length, "environment")} over ${fmtS(windowEnd(m))}` +
      (provisioned ? `, ${provisioned} provisioned` : "") +
      (before ? `, ${before} already running when the window starts` : "") +
      `; ${plural(m.counts.invocations, "invocation")} with ${coldStartsText(m.counts)} cold starts; ` +
      `${m.throttles.length} throttled` + (m.throttles.length ? ` (${reasonsText(m.throttles)})` : "") +
      `; ${endedText}.`;
  }

  function timelineTable(m, box) {
    if (!box) return;
    if (!m.lanes.length) { box.replaceChildren(); return; }
    const cell = (tag, text) => { const c = document.createElement(tag); c.textContent = text; return c; };
    const table = document.createElement("table");
    const head = document.createElement("tr");
    ["Environment", "Started", "Init", "Invocations", "Errors", "Ended"].forEach((t) => head.append(cell("th", t)));
    table.append(head);
    m.lanes.forEach((lane, i) => {
      const s = laneStats(lane);
      const row = document.createElement("tr");
      row.append(cell("td", laneLabel(lane, i)), cell("td", lane.started_before ? "before the window" : fmtS(lane.from)),
        cell("td", s.initMs == null ? "—" : s.initMs.toFixed(0) + " ms"), cell("td", String(s.invocations)),
        cell("td", String(s.errors)), cell("td", lane.to == null ? "alive" : `${fmtS(lane.to)} (${lane.end_reason || "ended"})`));
      table.append(row);
    });
    box.replaceChildren(table);
  }

  function drawTimeline(m, canvas, options) {
    const opts = options || {};
    const lanes = m.lanes;
    canvas.dataset.lanes = String(lanes.length); // what the canvas shows, readable by tests
    canvas.dataset.versions = lanes.map((lane) => lane.version || "$LATEST").join(",");
    const empty = opts.emptyEl !== undefined ? opts.emptyEl : document.getElementById("timeline-empty");
    if (empty) empty.hidden = lanes.length > 0 || m.throttles.length > 0;
    const summary = timelineSummary(m);
    canvas.setAttribute("aria-label", summary);
    const summaryEl = opts.summaryEl !== undefined ? opts.summaryEl : document.getElementById("timeline-summary");
    if (summaryEl) summaryEl.textContent = summary;
    timelineTable(m, opts.tableEl !== undefined ? opts.tableEl : document.getElementById("timeline-table"));

    const text = themeColor("--chart-text", "#495057");
    const font = opts.fontSize || 12;
    const laneH = opts.laneHeight || 22, gap = Math.round(laneH / 4), top = 26;
    const height = top + (lanes.length + 1) * (laneH + gap) + font + 16;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 800;
    canvas.width = width * ratio; canvas.height = height * ratio; canvas.style.height = height + "px";
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    ctx.clearRect(0, 0, width, height);
    ctx.font = font + "px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    // The label column fits the longest label (lane labels were clipped at a fixed width).
    const labels = ["throttled", ...lanes.map(laneLabel)];
    const left = Math.max(opts.labelWidth || 0, 16 + Math.max(...labels.map((l) => ctx.measureText(l).width)));
    const right = width - 10;
    const end = windowEnd(m);
    const x = (ms) => left + (Math.min(Math.max(ms, 0), end) / end) * (right - left);
    const midY = (y) => y + laneH / 2;
    // Every label goes through here; how many would not fit whole is written on the canvas
    // (data-clipped-labels), where the tests read it.
    let clipped = 0;
    const label = (textValue, at, y, maxX) => {
      const w = ctx.measureText(textValue).width;
      if (at < 0 || at + w > (maxX === undefined ? width : maxX)) clipped += 1;
      ctx.fillText(textValue, at, y);
    };

    ctx.fillStyle = text;
    label("throttled", 8, midY(top), left);
    for (const t of m.throttles) {
      ctx.fillStyle = COLORS.throttle;
      ctx.fillRect(x(t.at) - 1, top + 3, 3, laneH - 6);
    }
    lanes.forEach((lane, i) => {
      const y = top + (i + 1) * (laneH + gap);
      ctx.fillStyle = text;
      label(laneLabel(lane, i), 8, midY(y), left);
      const laneEnd = lane.to == null ? end : lane.to;
      ctx.fillStyle = themeColor(lane.to == null ? "--chart-lane" : "--chart-lane-ended", lane.to == null ? "#eef0f3" : "#d7dbe0");
      ctx.fillRect(x(lane.from), y, Math.max(2, x(laneEnd) - x(lane.from)), laneH);
      for (const s of lane.segments) {
        ctx.fillStyle = s.kind === "init" ? COLORS.init
          : (s.status === "ok" ? COLORS.invoke : (s.status === "timeout" ? COLORS.timeout : COLORS.error));
        ctx.fillRect(x(s.from), y + 2, Math.max(2, x(s.to) - x(s.from)), laneH - 4);
      }
      ctx.fillStyle = text;
      if (lane.started_before) label("◂", x(0) + 2, midY(y)); // started before the window
      if (lane.to != null) endLabel(ctx, label, "✕ " + (lane.end_reason || "ended"), x(lane.to), midY(y), right);
    });
    // time axis: labels kept inside the canvas
    const axisY = top + (lanes.length + 1) * (laneH + gap) + font / 2 + 6;
    // As many labels as fit the width, none overlapping the one before.
    const fits = Math.floor((right - left) / (ctx.measureText("00.0 s").width + 16));
    const step = niceStep(end / Math.max(2, Math.min(6, fits)));
    let free = 0;
    for (let t = 0; t <= end; t += step) {
      const tick = (t / 1000).toFixed(step < 1000 ? 1 : 0) + " s";
      const w = ctx.measureText(tick).width;
      const at = Math.min(Math.max(x(t) - w / 2, left), width - w - 2);
      if (at < free) continue;
      label(tick, at, axisY);
      free = at + w + 8;
    }
    canvas.dataset.clippedLabels = String(clipped);
  }

  // After the lane's end, or inside it, right-aligned, when the canvas is too narrow there.
  function endLabel(ctx, label, textValue, atX, y, right) {
    const w = ctx.measureText(textValue).width;
    label(textValue, atX + 4 + w <= right ? atX + 4 : atX - w - 4, y);
  }

  function niceStep(raw) {
    const steps = [50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000, 120000];
    return steps.find((s) => s >= raw) || 300000;
  }

  function setProgress(m) {
    const bar = document.getElementById("load-progress");
    const status = document.getElementById("run-status");
    const title = document.getElementById("run-title");
    const lt = m.load_test;
    if (!lt) { bar.style.width = "0%"; status.textContent = ""; return; }
    title.textContent = `Load test #${lt.id}`;
    bar.style.width = lt.percent + "%";
    status.textContent = `${lt.completed} of ${lt.planned} done · ${lt.status}`;
    const listed = document.querySelector(`[data-run-status="${lt.id}"]`);
    if (listed) listed.textContent = lt.status; // the recent-runs list was rendered at start
    document.getElementById("load-stop").disabled = lt.status !== "running";
    document.getElementById("load-start").disabled = lt.status === "running";
  }

  function setup() {
    const root = document.querySelector(".scale");
    if (!root) return;
    const loadTest = root.dataset.loadTest;
    const url = root.dataset.metricsUrl + (loadTest ? "?load_test=" + encodeURIComponent(loadTest) : "");
    const chartEl = document.getElementById("concurrency-chart");
    const canvas = document.getElementById("timeline");
    async function poll() {
      let m;
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (!response.ok) throw new Error(response.status);
        m = await response.json();
      } catch (err) {
        setTimeout(poll, 2000);
        return;
      }
      setStats(m);
      setProgress(m);
      drawConcurrency(m, chartEl);
      drawTimeline(m, canvas);
      root.dataset.state = m.load_test ? m.load_test.status : "idle";
      if (m.load_test && m.load_test.status === "running") setTimeout(poll, 500);
    }
    poll();
    window.addEventListener("resize", () => poll());
  }

  window.ColdstartScale = { drawTimeline, drawConcurrency, setStats, fmtMs, fmtUsd, timelineSummary };
  document.addEventListener("DOMContentLoaded", setup);
})();
