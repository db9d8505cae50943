// The playground page: editors, event templates, inline JSON checks, connection state and
// log auto-scroll. Invocations themselves go over the htmx WebSocket (ws-send); the server
// answers with HTML fragments that htmx swaps in by id.
(function () {
  "use strict";

  function $(selector) { return document.querySelector(selector); }

  function eventError(message) {
    const box = $("#event-error");
    if (box) box.textContent = message || "";
  }

  function checkEvent() {
    const text = $("#event").value.trim();
    if (!text) return true;
    try {
      JSON.parse(text);
      eventError("");
      return true;
    } catch (err) {
      eventError("The event is not valid JSON: " + err.message);
      return false;
    }
  }

  function setup() {
    const code = $("#code");
    const event = $("#event");
    if (!code || !event) return;
    if (window.ColdstartEditor) {
      window.ColdstartEditor.attach(code, "python");
      window.ColdstartEditor.attach(event, "json");
    }
    event.addEventListener("input", checkEvent);

    const templates = JSON.parse($("#event-templates").textContent);
    $("#event-template").addEventListener("change", function () {
      const value = JSON.stringify(templates[this.value], null, 2);
      if (window.ColdstartEditor) window.ColdstartEditor.setValue(event, value);
      else event.value = value;
      checkEvent();
    });

    // Nothing runs with a broken event: stop the WebSocket message before it is sent.
    document.body.addEventListener("htmx:wsConfigSend", function (evt) {
      const action = evt.detail.parameters.action;
      if ((action === "invoke" || action === "invoke_n") && !checkEvent()) {
        evt.preventDefault();
      }
    });

    const state = $("#connection");
    document.body.addEventListener("htmx:wsOpen", function () {
      state.dataset.state = "open";
      state.textContent = "live";
    });
    document.body.addEventListener("htmx:wsClose", function () {
      state.dataset.state = "closed";
      state.textContent = "reconnecting…";
    });

    // Follow the log as it grows, unless the learner scrolled up to read.
    let follow = true;
    const pane = $(".log-pane");
    const log = () => $("#log-lines");
    // Scroll events do not bubble: listen in the capture phase, the log element is replaced.
    pane.addEventListener("scroll", function (e) {
      const el = e.target;
      follow = el.scrollTop + el.clientHeight >= el.scrollHeight - 40;
    }, true);
    document.body.addEventListener("htmx:wsAfterMessage", function () {
      const el = log();
      if (el && follow) el.scrollTop = el.scrollHeight;
    });

    // The log pane's level filter and raw-JSON toggle act on the pane (its lines are replaced).
    const logPane = $(".log-pane");
    const levelFilter = $("#log-level-filter");
    const rawToggle = $("#log-raw-toggle");
    if (levelFilter) {
      try { levelFilter.value = sessionStorage.getItem("coldstart.logLevel") || ""; } catch (err) { /* private mode */ }
      const apply = function () {
        logPane.dataset.minLevel = levelFilter.value;
        try { sessionStorage.setItem("coldstart.logLevel", levelFilter.value); } catch (err) { /* private mode */ }
      };
      levelFilter.addEventListener("change", apply);
      apply();
    }
    if (rawToggle) {
      rawToggle.addEventListener("change", function () { logPane.classList.toggle("show-raw", rawToggle.checked); });
    }

    // Log levels can only be set with the JSON format (as on AWS): disabled selects are not sent.
    const logFormat = $("#log-format");
    if (logFormat) {
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

    // Ctrl/Cmd+Enter invokes.
    document.addEventListener("keydown", function (e) {
      if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
        const browser = document.querySelector('.playground[data-run-on="browser"]');
        const button = browser ? $("#browser-invoke-btn") : $("#invoke-btn");
        if (button && !button.disabled) button.click();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
