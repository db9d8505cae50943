// The scaling page: polls the function's metrics JSON while a load runs and draws the
// concurrency chart (uPlot) and the environment timeline (one lane per environment).
(function () {
  "use strict";

  const COLORS = {
    init: "#4dabf7", invoke: "#40c057", error: "#fa5252", timeout: "#fab005",
    throttle: "#e8590c", lane: "#f1f3f5", laneEnded: "#dee2e6", text: "#495057",
  };

  function fmtMs(v) { return v == null ? "—" : v.toFixed(1) + " ms"; }
  function fmtUsd(v) { return v < 0.01 ? "$" + v.toFixed(10).replace(/0+$/, "") : "$" + v.toFixed(4); }

  // Drawing functions are shared with the lessons' demo mode (window.ColdstartScale below).
  function setStats(m, root) {
    const c = m.counts;
    const scope = root || document;
    const set = (k, v) => { const el = scope.querySelector(`[data-stat="${k}"]`); if (el) el.textContent = v; };
    set("invocations", c.invocations);
    set("cold_starts", c.cold_starts + (c.provisioned_invocations ? ` (${c.provisioned_invocations} on provisioned)` : ""));
    set("throttles", c.throttles);
    const versions = Object.entries(c.by_version || {});
    set("by_version", versions.length ? versions.map(([v, n]) => (v === "$LATEST" ? v : "v" + v) + ": " + n).join(" · ") : "—");
    set("errors", c.errors);
    set("percentiles", `${fmtMs(m.duration_ms.p50)} / ${fmtMs(m.duration_ms.p99)}`);
    set("cost", `${m.gb_seconds.toFixed(4)} GB-s · ${fmtUsd(m.cost_usd)}`);
    set("measured", `${m.concurrency_measured.peak} · ${m.concurrency_measured.average}`);
    const f = m.concurrency_formula;
    set("formula", `${f.requests_per_second} req/s × ${(f.average_duration_s * 1000).toFixed(0)} ms = ${f.concurrency}`);
  }

  let chart = null;
  function drawConcurrency(m, el, options) {
    const opts = options || {};
    const xs = [0], ys = [0];
    for (const [t, n] of m.concurrency) { xs.push(t / 1000); ys.push(n); }
    const width = el.clientWidth || 600;
    if (!window.uPlot) return;
    if (chart) chart.destroy();
    chart = new window.uPlot({
      width, height: opts.height || 180,
      scales: { x: { time: false } },
      axes: [{ label: "seconds", size: 40 }, { label: "in flight", size: 50 }],
      series: [{}, { label: "concurrent executions", stroke: COLORS.throttle, width: 2,
                     fill: "rgba(232, 89, 12, .12)", paths: window.uPlot.paths.stepped({ align: 1 }) }],
      legend: { show: false },
    }, [xs, ys], el);
  }

  function drawTimeline(m, canvas, options) {
    const opts = options || {};
    const lanes = m.lanes;
    canvas.dataset.lanes = String(lanes.length); // what the canvas shows, readable by tests
    canvas.dataset.versions = lanes.map((lane) => lane.version || "$LATEST").join(",");
    const empty = opts.emptyEl !== undefined ? opts.emptyEl : document.getElementById("timeline-empty");
    if (empty) empty.hidden = lanes.length > 0 || m.throttles.length > 0;
    const font = opts.fontSize || 12;
    const laneH = opts.laneHeight || 22, gap = Math.round(laneH / 4), top = 26, left = opts.labelWidth || 120;
    const height = top + (lanes.length + 1) * (laneH + gap) + 24;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 800;
    canvas.width = width * ratio; canvas.height = height * ratio; canvas.style.height = height + "px";
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    ctx.clearRect(0, 0, width, height);
    let end = 1;
    for (const lane of lanes) {
      end = Math.max(end, lane.to || 0);
      for (const s of lane.segments) end = Math.max(end, s.to);
    }
    for (const t of m.throttles) end = Math.max(end, t.at);
    end *= 1.03;
    const x = (ms) => left + (ms / end) * (width - left - 10);
    ctx.font = font + "px system-ui, sans-serif";
    ctx.fillStyle = COLORS.text;
    // throttle lane
    ctx.fillText("throttled", 8, top + (laneH + font) / 2 - 2);
    for (const t of m.throttles) {
      ctx.fillStyle = COLORS.throttle;
      ctx.fillRect(x(t.at) - 1, top + 3, 3, laneH - 6);
    }
    lanes.forEach((lane, i) => {
      const y = top + (i + 1) * (laneH + gap);
      ctx.fillStyle = COLORS.text;
      const version = lane.version && lane.version !== "$LATEST" ? " · v" + lane.version : "";
      ctx.fillText((lane.provisioned ? "★ " : "") + "env " + (i + 1) + version, 8, y + (laneH + font) / 2 - 2);
      const laneEnd = lane.to == null ? end : lane.to;
      ctx.fillStyle = lane.to == null ? COLORS.lane : COLORS.laneEnded;
      ctx.fillRect(x(lane.from), y, Math.max(2, x(laneEnd) - x(lane.from)), laneH);
      for (const s of lane.segments) {
        ctx.fillStyle = s.kind === "init" ? COLORS.init
          : (s.status === "ok" ? COLORS.invoke : (s.status === "timeout" ? COLORS.timeout : COLORS.error));
        ctx.fillRect(x(s.from), y + 2, Math.max(2, x(s.to) - x(s.from)), laneH - 4);
      }
      if (lane.to != null) {
        ctx.fillStyle = COLORS.text;
        ctx.fillText("✕ " + (lane.end_reason || "ended"), x(lane.to) + 4, y + (laneH + font) / 2 - 2);
      }
    });
    // time axis
    const axisY = top + (lanes.length + 1) * (laneH + gap) + 14;
    ctx.fillStyle = COLORS.text;
    const step = niceStep(end / 6);
    for (let t = 0; t <= end; t += step) {
      ctx.fillText((t / 1000).toFixed(step < 1000 ? 1 : 0) + " s", x(t) - 8, axisY);
    }
  }

  function niceStep(raw) {
    const steps = [100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000, 120000];
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

  window.ColdstartScale = { drawTimeline, drawConcurrency, setStats, fmtMs, fmtUsd };
  document.addEventListener("DOMContentLoaded", setup);
})();
