// The playground page: editors, event templates, the checks before an invocation is sent,
// connection state and Ctrl/Cmd+Enter. Invocations go over the htmx WebSocket (ws-send); the
// server answers with HTML fragments that htmx swaps in by id (the log pane: log-runs.js).
(function () {
  "use strict";

  const MB = 1024 * 1024;

  function $(selector) { return document.querySelector(selector); }
  function limits() { return JSON.parse($("#function-limits").textContent); }
  function utf8Bytes(text) { return new TextEncoder().encode(text).length; }

  // As the server writes its limits: 6291456 -> "6 MB", 7340033 -> "7.0 MB".
  function megabytes(bytes) {
    return (bytes % MB === 0 ? (bytes / MB).toFixed(0) : (bytes / MB).toFixed(1)) + " MB";
  }

  // ---------------------------------------------------------------- the event
  // Why the event cannot be sent, or "" (the server checks the same again).
  function eventProblem() {
    const text = $("#event").value.trim();
    if (!text) return "";
    let value;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return "The event is not valid JSON: " + err.message + ".";
    }
    const limit = limits().payload_bytes;
    // Compact JSON is never longer than the text, and UTF-8 needs at most 3 bytes per UTF-16
    // unit: a text that short cannot be over, so typing stays cheap.
    if (text.length * 3 <= limit) return "";
    const size = utf8Bytes(JSON.stringify(value));
    if (size <= limit) return "";
    return "The event is " + megabytes(size) + " (" + size + " bytes): over the " + megabytes(limit) +
      " limit of a synchronous invocation (" + limit + " bytes).";
  }

  function errorBox() { return $("#event-error"); }

  function showEventError(message) {
    const box = errorBox();
    if (!box) return;
    box.textContent = message || "";
    box.classList.remove("refused");
  }

  // An Invoke that did not happen: say so where the learner looks, and move focus there.
  function refuseInvoke(message) {
    const box = errorBox();
    if (!box) return;
    box.textContent = message + " Invoke was not sent.";
    box.classList.add("refused");
    box.tabIndex = -1; // focusable by script, not in the tab order
    box.focus();
    box.scrollIntoView({ block: "nearest" });
  }

  function checkEvent() {
    const problem = eventProblem();
    showEventError(problem);
    return !problem;
  }

  function isInvoke(parameters) {
    return parameters.action === "invoke" || parameters.action === "invoke_n";
  }

  // Nothing runs with a broken or oversized event, and no message goes out that the server's
  // WebSocket limit would refuse (it would close the socket).
  function guardInvocations() {
    document.body.addEventListener("htmx:wsConfigSend", function (evt) {
      if (!isInvoke(evt.detail.parameters)) return;
      const problem = eventProblem();
      if (problem) {
        evt.preventDefault();
        refuseInvoke(problem);
      }
    });
    document.body.addEventListener("htmx:wsBeforeSend", function (evt) {
      const limit = limits().websocket_message_bytes;
      const size = utf8Bytes(evt.detail.message);
      if (size > limit) {
        evt.preventDefault();
        refuseInvoke("Your code, event and settings make a " + megabytes(size) + " message: over the server's " +
          megabytes(limit) + " WebSocket limit.");
      }
    });
  }

  // ---------------------------------------------------------------- connection
  function trackConnection() {
    const state = $("#connection");
    document.body.addEventListener("htmx:wsOpen", function () {
      state.dataset.state = "open";
      state.textContent = "live";
    });
    document.body.addEventListener("htmx:wsClose", function (evt) {
      state.dataset.state = "closed";
      state.textContent = "reconnecting…";
      const event = evt.detail && evt.detail.event;
      if (event && event.code === 1009) { // "message too big": a server started without config.serve
        refuseInvoke("The server closed the connection: the message was over its WebSocket limit, so " +
          "nothing ran. Events up to " + megabytes(limits().payload_bytes) + " are allowed; ask whoever runs " +
          "this server to start it with `make run` (python -m config.serve).");
      }
    });
  }

  // ---------------------------------------------------------------- invoking
  function invokeButton() {
    const browser = document.querySelector('.playground[data-run-on="browser"]');
    return browser ? $("#browser-invoke-btn") : $("#invoke-btn");
  }

  function invokeNow() {
    const button = invokeButton();
    if (button && !button.disabled) button.click();
  }

  // Ctrl/Cmd+Enter invokes. Inside an editor CodeMirror's own keymap runs it first (bound with
  // the highest precedence in frontend/editor.js) and marks the key handled.
  function bindRunShortcut() {
    document.addEventListener("keydown", function (e) {
      if ((e.ctrlKey || e.metaKey) && e.key === "Enter" && !e.defaultPrevented) {
        e.preventDefault();
        invokeNow();
      }
    });
  }

  // ---------------------------------------------------------------- editors
  function setupEditors(code, event) {
    if (!window.ColdstartEditor) return;
    window.ColdstartEditor.attach(code, "python", { onRun: invokeNow });
    window.ColdstartEditor.attach(event, "json", { onRun: invokeNow });
  }

  // The draft: a moment after the last keystroke the code goes to the server (action "draft"),
  // so a reload never loses an edit. Only one save is pending at a time.
  const DRAFT_DELAY_MS = 800;
  function saveDrafts(code) {
    const button = $("#draft-btn");
    const handler = document.querySelector('#function-form [name="handler"]');
    if (!button) return;
    let timer = null;
    function schedule() {
      clearTimeout(timer);
      const state = $("#draft-state");
      if (state) state.textContent = "editing…";
      timer = setTimeout(function () { button.click(); }, DRAFT_DELAY_MS);
    }
    code.addEventListener("input", schedule);
    if (handler) handler.addEventListener("input", schedule);
  }

  function setupTemplates(event) {
    const templates = JSON.parse($("#event-templates").textContent);
    $("#event-template").addEventListener("change", function () {
      const value = JSON.stringify(templates[this.value], null, 2);
      if (window.ColdstartEditor) window.ColdstartEditor.setValue(event, value);
      else event.value = value;
      checkEvent();
    });
  }

  // ---------------------------------------------------------------- logging controls
  // The log pane's level filter and raw-JSON toggle act on the pane (its lines are replaced).
  function setupLogFilters() {
    const logPane = $(".log-pane");
    const levelFilter = $("#log-level-filter");
    const rawToggle = $("#log-raw-toggle");
    if (levelFilter && logPane) {
      try { levelFilter.value = sessionStorage.getItem("coldstart.logLevel") || ""; } catch (err) { /* private mode */ }
      const apply = function () {
        logPane.dataset.minLevel = levelFilter.value;
        try { sessionStorage.setItem("coldstart.logLevel", levelFilter.value); } catch (err) { /* private mode */ }
      };
      levelFilter.addEventListener("change", apply);
      apply();
    }
    if (rawToggle && logPane) {
      rawToggle.addEventListener("change", function () { logPane.classList.toggle("show-raw", rawToggle.checked); });
    }
  }

  // Log levels can only be set with the JSON format (as on AWS): disabled selects are not sent.
  function setupLoggingConfig() {
    const logFormat = $("#log-format");
    if (!logFormat) return;
    const summary = $("#logging-config summary");
    const levels = document.querySelectorAll("#logging-config .json-only");
    const describe = function () {
      levels.forEach(function (select) { select.disabled = logFormat.value !== "JSON"; });
      summary.textContent = "Logging: " + logFormat.value + (logFormat.value === "JSON"
        ? " · application " + levels[0].value + " · system " + levels[1].value : "");
    };
    logFormat.addEventListener("change", describe);
    levels.forEach(function (select) { select.addEventListener("change", describe); });
  }

  function setup() {
    const code = $("#code");
    const event = $("#event");
    if (!code || !event) return;
    setupEditors(code, event);
    event.addEventListener("input", checkEvent);
    setupTemplates(event);
    saveDrafts(code);
    setupLogFilters();
    setupLoggingConfig();
    guardInvocations();
    trackConnection();
    bindRunShortcut();
  }

  window.ColdstartPlayground = { eventProblem, refuseInvoke, showEventError, invokeNow, megabytes };
  document.addEventListener("DOMContentLoaded", setup);
})();
