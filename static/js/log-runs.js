// The log pane keeps the last few invocations: the newest open (its log is #log-lines, where
// streamed lines go), older ones collapsed, and their REPORT figures side by side in
// #report-table. Server runs arrive as htmx fragments (sandbox/fragments/log_run*.html);
// browser runs (browser-runner.js) are built here with start() and finish().
(function () {
  "use strict";

  // The REPORT line's fields, in its order: label, data attribute, format.
  const FIELDS = [
    ["Duration", "durationMs", (v) => Number(v).toFixed(2) + " ms"],
    ["Billed Duration", "billedMs", (v) => v + " ms"],
    ["Memory Size", "memoryMb", (v) => v + " MB"],
    ["Max Memory Used", "maxMemoryMb", (v) => v + " MB"],
    ["Init Duration", "initMs", (v) => (v === undefined ? "—" : Number(v).toFixed(2) + " ms")],
  ];

  let currentId = null; // request id of the open, streaming run
  let compared = ""; // which finished runs the comparison shows
  let follow = true; // keep the newest line in view, unless the learner scrolled up to read

  function pane() { return document.getElementById("log-runs"); }
  function runs() { return Array.from(pane().querySelectorAll(":scope > .log-run")); }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) if (child !== null) node.append(child);
    return node;
  }

  // After every change: at most `data-keep` runs; when a new run arrives, it alone is open and
  // its log becomes #log-lines; the comparison is redrawn when a run finishes.
  function tidy() {
    const box = pane();
    if (!box) return;
    const keep = parseInt(box.dataset.keep, 10) || 5;
    let all = runs();
    all.slice(0, Math.max(0, all.length - keep)).forEach((run) => run.remove());
    all = runs();
    if (all.length) box.querySelectorAll(":scope > .log-empty").forEach((p) => p.remove());
    const newest = all[all.length - 1];
    if (newest && newest.dataset.requestId !== currentId) {
      currentId = newest.dataset.requestId;
      all.forEach((run) => {
        const log = run.querySelector(".log");
        if (run === newest) {
          run.open = true;
          log.id = "log-lines";
        } else {
          run.open = false;
          if (log.id === "log-lines") log.removeAttribute("id");
        }
      });
      follow = true;
    }
    drawComparison(all);
    keepFollowing();
  }

  function keepFollowing() {
    const box = pane();
    if (box && follow) box.scrollTop = box.scrollHeight;
  }

  function finishedHeads(all) {
    return all.map((run) => run.querySelector(".run-head")).filter((head) => head && head.dataset.durationMs);
  }

  function columnTitle(head, number) {
    return "#" + number + " " + (head.dataset.cold === "1" ? "❄ cold" : "♨ warm");
  }

  function columnTooltip(head) {
    const time = head.querySelector(".run-time");
    return (time ? time.textContent + " · " : "") + head.querySelector(".run-id").title;
  }

  function drawComparison(all) {
    const box = document.getElementById("report-table");
    if (!box) return;
    const heads = finishedHeads(all);
    const signature = heads.map((h) => h.id).join(" ");
    if (signature === compared) return;
    compared = signature;
    if (heads.length < 2) {
      box.replaceChildren(el("p", { class: "muted", text: "Invoke twice to compare." }));
      return;
    }
    const header = el("tr", {}, [el("th", { scope: "col", text: "REPORT" }),
      ...heads.map((h, i) => el("th", { scope: "col", title: columnTooltip(h), text: columnTitle(h, i + 1) }))]);
    const rows = FIELDS.map(([label, key, format]) => el("tr", {}, [el("th", { scope: "row", text: label }),
      ...heads.map((h) => el("td", { text: format(h.dataset[key]) }))]));
    box.replaceChildren(el("table", {}, [
      el("caption", { class: "sr-only", text: "The REPORT lines of the last " + heads.length + " invocations, oldest first" }),
      el("thead", {}, [header]), el("tbody", {}, rows)]));
  }

  // ---------------------------------------------------------------- runs built in the page
  function headText(head, status, figures) {
    const parts = [el("span", { class: "run-time", text: new Date().toTimeString().slice(0, 8) }), " ",
      el("span", { class: "status status-" + status, text: status }), " "];
    if (figures) {
      parts.push(el("span", { class: "run-figures", text: (figures.cold ? "❄ cold" : "♨ warm") + " · " +
        figures.durationMs.toFixed(2) + " ms · billed " + figures.billedMs + " ms" }), " ");
    }
    parts.push(el("span", { class: "badge badge-browser", text: "in my browser" }), " ",
      el("code", { class: "run-id", title: head.dataset.requestId, text: head.dataset.requestId.slice(0, 8) }));
    head.replaceChildren(...parts);
  }

  // A run in this page (browser mode): returns its log element, now #log-lines.
  function start(requestId) {
    const head = el("summary", { class: "run-head", id: "run-head-" + requestId, "data-status": "running" });
    head.dataset.requestId = requestId;
    headText(head, "running", null);
    const run = el("details", { class: "log-run", "data-request-id": requestId }, [head, el("div", { class: "log" })]);
    pane().append(run);
    tidy();
    return run.querySelector(".log");
  }

  // figures: {cold, durationMs, billedMs, memoryMb, maxMemoryMb, initMs (null when warm)}
  function finish(requestId, status, figures) {
    const head = document.getElementById("run-head-" + requestId);
    if (!head) return;
    head.dataset.status = status;
    Object.assign(head.dataset, {
      cold: figures.cold ? "1" : "0", durationMs: String(figures.durationMs), billedMs: String(figures.billedMs),
      memoryMb: String(figures.memoryMb), maxMemoryMb: String(figures.maxMemoryMb),
    });
    if (figures.initMs !== null && figures.initMs !== undefined) head.dataset.initMs = String(figures.initMs);
    headText(head, status, figures);
    tidy();
  }

  // A run that ended without a REPORT line (the browser runtime failed).
  function setStatus(requestId, status) {
    const head = document.getElementById("run-head-" + requestId);
    if (!head) return;
    head.dataset.status = status;
    const badge = head.querySelector(".status");
    badge.className = "status status-" + status;
    badge.textContent = status;
  }

  function setup() {
    const box = pane();
    if (!box) return;
    box.addEventListener("scroll", function () {
      follow = box.scrollTop + box.clientHeight >= box.scrollHeight - 40;
    });
    document.body.addEventListener("htmx:wsAfterMessage", tidy);
    tidy();
  }

  window.ColdstartRuns = { start, finish, setStatus, tidy, keepFollowing };
  document.addEventListener("DOMContentLoaded", setup);
})();
