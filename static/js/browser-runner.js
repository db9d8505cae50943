// "Run on: my browser" (issue 7). The page plays the server's parent process: it owns one
// browser execution environment (a Web Worker running Pyodide and the runtime wheel, see
// static/js/pyodide-worker.js), writes START/END/REPORT and the timeout line, measures the
// timeout itself and records each run with the server's invocation history (trigger "browser").
// The server path (WebSocket, #invoke-btn) is untouched: this file only acts in browser mode.
(function () {
  "use strict";

  const GRACE_MS = 1000; // after the interrupt, before worker.terminate()
  const INIT_TIMEOUT_MS = 10000; // Lambda's init limit, for the handler import
  const LOAD_TIMEOUT_MS = 180000; // downloading Pyodide on a slow classroom network
  const DISPLAY_CAP_LINES = 2000;

  function $(selector) { return document.querySelector(selector); }

  let config = null;
  let runtime = null; // {worker, key, interrupt, initMs, loadMs}
  let running = false;
  let listener = null; // where the worker's messages go during the current phase
  let emitLine = null;

  // ------------------------------------------------------------------ helpers
  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function isolated() {
    return typeof SharedArrayBuffer !== "undefined" && window.crossOriginIsolated === true;
  }

  // sandbox/web/presenters.py describe_line: (kind, level, readable text of a JSON record or null)
  const TEXT_LEVELS = { "[DEBUG]": "DEBUG", "[INFO]": "INFO", "[WARNING]": "WARN", "[ERROR]": "ERROR", "[CRITICAL]": "FATAL" };
  const LEVEL_KINDS = { TRACE: "output", DEBUG: "output", INFO: "output", WARN: "warning", ERROR: "error", FATAL: "error" };

  function jsonRecord(line) {
    if (!(line.startsWith("{") && line.endsWith("}"))) return null;
    try {
      const record = JSON.parse(line);
      return record && typeof record === "object" && !Array.isArray(record) ? record : null;
    } catch (err) { return null; }
  }

  function platformText(record) {
    const body = record.record && typeof record.record === "object" ? record.record : {};
    if (record.type === "platform.start") {
      return "platform.start  RequestId: " + (body.requestId || "") + "  Version: " + (body.version || "");
    }
    const metrics = body.metrics || {};
    const parts = [record.type + "  RequestId: " + (body.requestId || "")];
    [["durationMs", "Duration", "ms"], ["billedDurationMs", "Billed Duration", "ms"], ["memorySizeMB", "Memory Size", "MB"],
      ["maxMemoryUsedMB", "Max Memory Used", "MB"], ["initDurationMs", "Init Duration", "ms"]].forEach(function (f) {
      if (f[0] in metrics) parts.push(f[1] + ": " + metrics[f[0]] + " " + f[2]);
    });
    if (body.status && body.status !== "success") parts.push(("Status: " + body.status + " " + (body.errorType || "")).trim());
    return parts.join("  ");
  }

  function applicationText(record, level) {
    const known = new Set(["timestamp", "time", "level", "log_level", "message", "msg", "requestId", "logger", "stackTrace"]);
    let message = "message" in record ? record.message : record.msg;
    if (message === undefined && record.errorType) {
      message = record.errorType + ": " + (record.errorMessage || "");
      known.add("errorType");
      known.add("errorMessage");
    }
    const extra = {};
    Object.keys(record).forEach(function (k) { if (!known.has(k)) extra[k] = record[k]; });
    let text = "[" + level + "] " + (record.timestamp || record.time || "") + " " + (message === undefined ? "" : message);
    if (Object.keys(extra).length) text += "  " + JSON.stringify(extra);
    if (Array.isArray(record.stackTrace) && record.stackTrace.length) {
      text += "\n" + record.stackTrace.join("").replace(/\n+$/, "");
    }
    return text;
  }

  function describeLine(line) {
    const record = jsonRecord(line);
    if (record && String(record.type || "").startsWith("platform.")) {
      return { kind: record.type === "platform.report" ? "report" : "platform", level: "", text: platformText(record) };
    }
    if (record && ("level" in record || "log_level" in record)) {
      const level = R().lineLevel(line);
      return { kind: LEVEL_KINDS[level], level: level, text: applicationText(record, level) };
    }
    const kind = lineKind(line);
    if (["platform", "report", "fatal", "notice"].includes(kind)) return { kind: kind, level: "", text: null };
    let level = "INFO";
    for (const prefix of Object.keys(TEXT_LEVELS)) if (line.startsWith(prefix)) level = TEXT_LEVELS[prefix];
    if (line.startsWith("Traceback (most recent call last):") || line.startsWith("\u00a0")) level = "ERROR";
    return { kind: kind, level: level, text: null };
  }

  function logLineElement(line) {
    const d = describeLine(line);
    if (d.text === null) return el("div", { class: "log-line log-" + d.kind, "data-level": d.level, text: line });
    return el("div", { class: "log-line log-" + d.kind + " log-json", "data-level": d.level }, [
      el("span", { class: "log-pretty", text: d.text }), el("span", { class: "log-raw", text: line }),
    ]);
  }

  // sandbox/web/presenters.py line_kind
  function lineKind(line) {
    if (line.startsWith("START RequestId:") || line.startsWith("END RequestId:")) return "platform";
    if (line.startsWith("REPORT RequestId:")) return "report";
    if (line.startsWith("INIT_REPORT") || line.includes(" Task timed out after ") ||
        line.includes("Runtime exited with error")) return "fatal";
    if (line.startsWith("[ERROR]") || line.startsWith("Runtime.")) return "error";
    if (line.startsWith("[WARNING]")) return "warning";
    if (line.startsWith("[coldstart]")) return "notice";
    return "output";
  }

  function fmtMs(value) { return value === null || value === undefined ? "—" : value.toFixed(2) + " ms"; }

  // sandbox/templatetags/coldstart.py gbs and usd
  function fmtGbs(value) {
    if (!value) return "0";
    if (value < 1) return value.toFixed(7).replace(/0+$/, "");
    return value.toLocaleString("en-US", { minimumFractionDigits: 3, maximumFractionDigits: 3 });
  }

  function fmtUsd(value) {
    if (!value) return "$0";
    if (value < 0.01) return "$" + value.toFixed(10).replace(/0+$/, "");
    return "$" + value.toLocaleString("en-US", { minimumFractionDigits: 4, maximumFractionDigits: 4 });
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  function notice(level, message) {
    const box = $("#notice");
    if (!box) return;
    box.className = "notice" + (level && level !== "info" ? " notice-" + level : "");
    box.textContent = message || "";
  }

  function setState(state, text) {
    const box = $("#browser-runtime-state");
    if (!box) return;
    box.dataset.state = state;
    box.textContent = text;
  }

  // ------------------------------------------------------------------ the form
  function readSpec() {
    const form = $("#function-form");
    const handler = form.elements.handler.value.trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(handler)) throw new Error("The handler must be a Python function name.");
    const memory = parseInt(form.elements.memory_mb.value, 10);
    const timeout = parseInt(form.elements.timeout_s.value, 10);
    const [low, high] = JSON.parse(document.getElementById("function-limits").textContent).timeout_s;
    if (!(timeout >= low && timeout <= high)) {
      throw new Error("Timeout must be between " + low + " and " + high + " seconds.");
    }
    const logging = { log_format: form.elements.log_format ? form.elements.log_format.value : "Text" };
    if (logging.log_format === "JSON") {
      logging.application_log_level = form.elements.application_log_level.value;
      logging.system_log_level = form.elements.system_log_level.value;
    }
    const environment = {};
    form.elements.environment.value.split("\n").forEach(function (line, index) {
      if (!line.trim() || line.trim().startsWith("#")) return;
      const at = line.indexOf("=");
      if (at < 0) throw new Error("Environment line " + (index + 1) + ": expected KEY=value.");
      const key = line.slice(0, at).trim();
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error("Environment variable name '" + key + "' is not valid.");
      if (key.startsWith("AWS_") || ["_HANDLER", "LAMBDA_TASK_ROOT", "TZ"].includes(key)) {
        throw new Error(key + " is reserved by the Lambda runtime.");
      }
      environment[key] = line.slice(at + 1);
    });
    const files = {};
    files[config.moduleName + ".py"] = form.elements.code.value;
    return {
      handler: config.moduleName + "." + handler,
      files: files,
      function_name: config.functionName,
      memory_mb: memory,
      timeout_s: timeout,
      arn: config.arn,
      region: config.region,
      environment: environment,
      logging: R().normaliseLogging(logging),
    };
  }

  // The event's compact JSON, or null after saying why Invoke was not sent (same checks and
  // words as the server path: static/js/playground.js).
  function readEvent() {
    const page = window.ColdstartPlayground;
    const problem = page.eventProblem();
    if (problem) {
      page.refuseInvoke(problem);
      return null;
    }
    page.showEventError("");
    return JSON.stringify(JSON.parse($("#event").value.trim() || "{}"));
  }

  // ------------------------------------------------------------------ log pane
  // The log of one run. emit(line): the handler's output, filtered by the application log level
  // (JSON format); emit.start/end/report/fault: the platform's lines (text, or JSON records),
  // filtered by the system log level, as sandbox/engine/invocation.py writes them.
  function startLog(requestId, logging) {
    const log = window.ColdstartRuns.start(requestId); // a new run in the log pane (log-runs.js)
    const title = $("#log-title");
    title.textContent = "Invocation ";
    title.append(el("code", { text: requestId }), " ", el("span", { class: "badge badge-browser", text: "in my browser" }));
    let shown = 0;
    let bytes = 0;
    let capped = false;
    const lines = [];
    const write = function (line) {
      if (capped) return;
      bytes += line.length + 1;
      if (bytes > config.outputCapBytes) {
        capped = true;
        line = "[coldstart] Output cap reached (" + config.outputCapBytes + " bytes): later lines are dropped.";
      }
      lines.push(line);
      if (shown >= DISPLAY_CAP_LINES) return;
      shown += 1;
      log.append(logLineElement(line));
      window.ColdstartRuns.keepFollowing();
    };
    const emit = function (line) {
      if (R().keepsApplicationLine(logging, line)) write(line);
    };
    emit.notice = write;
    // Platform lines (END, REPORT, timeout) are never dropped by the output cap.
    emit.platform = function (line) {
      lines.push(line);
      log.append(logLineElement(line));
      window.ColdstartRuns.keepFollowing();
    };
    const json = R().isJson(logging);
    emit.system = function (line, level) { if (R().keepsSystem(logging, level)) emit.platform(line); };
    emit.start = function () {
      emit.system(json ? R().platformStart(requestId, "$LATEST") : R().startLine(requestId, "$LATEST"), "INFO");
    };
    emit.end = function () { if (!json) emit.system(R().endLine(requestId), "INFO"); };
    emit.report = function (durationMs, billed, memoryMb, usedMb, initMs, status, errorType) {
      emit.system(json ? R().platformReport(requestId, durationMs, billed, memoryMb, usedMb, initMs, status, errorType)
        : R().reportLine(requestId, durationMs, billed, memoryMb, usedMb, initMs), "INFO");
    };
    emit.fault = function (line) { emit.system(line, "WARN"); };
    emit.lines = lines;
    return emit;
  }

  // ------------------------------------------------------------------ result panel
  function showRunning(cold) {
    const panel = el("section", { id: "result-panel", class: "result-panel result-running", "aria-live": "polite" }, [
      el("div", { class: "result-head" }, [
        el("span", { class: "status status-running" }, [el("span", { class: "spinner", "aria-hidden": "true" }), " Running"]),
        el("span", { class: "badge badge-browser", text: "in my browser" }),
      ]),
      el("p", { class: "muted", text: cold ? "Cold start: loading Pyodide in a Web Worker, then importing your module…" :
        "Log lines appear as the handler writes them." }),
    ]);
    $("#result-panel").replaceWith(panel);
  }

  function figure(label, value, note) {
    return el("div", {}, [el("dt", { text: label }), el("dd", {}, [value, note ? el("span", { class: "figure-note", text: note }) : null])]);
  }

  function showResult(r) {
    const head = el("div", { class: "result-head" }, [
      el("span", { class: "status status-" + r.status, text: r.status.toUpperCase() }),
      r.cold ? el("span", { class: "badge badge-cold", title: "A new browser execution environment was started: Pyodide loaded, then your module was imported", text: "❄ Cold start" })
        : el("span", { class: "badge badge-warm", title: "The browser environment was reused: no init phase", text: "♨ Warm" }),
      el("span", { class: "badge badge-browser", text: "in my browser" }),
    ]);
    const initNote = r.initMs === null ? null : "browser runtime" +
      (r.loadMs !== null ? ": Pyodide load " + r.loadMs.toFixed(0) + " ms + import" : "");
    const figures = el("dl", { class: "figures" }, [
      figure("Init Duration", fmtMs(r.initMs), initNote),
      figure("Duration", fmtMs(r.durationMs)),
      figure("Billed Duration", r.billedMs + " ms"),
      figure("Max Memory Used", r.usedMb + " / " + r.memoryMb + " MB", "estimate: tracemalloc peak"),
      figure("GB-seconds", fmtGbs(r.gbS)),
      figure("Cost", fmtUsd(r.cost)),
    ]);
    let body;
    if (r.error) {
      const stack = (r.error.stackTrace || []).join("");
      body = el("div", { class: "error-box" }, [
        el("div", { class: "error-type", text: r.error.errorType }),
        el("div", { class: "error-message", text: r.error.errorMessage }),
        stack ? el("pre", { class: "stack", text: stack }) : null,
      ]);
    } else {
      body = el("div", { class: "response" }, [
        el("div", { class: "response-label", text: "Response" }),
        el("pre", { class: "json", text: r.resultText }),
      ]);
    }
    const panel = el("section", {
      id: "result-panel", class: "result-panel result-" + r.status, "aria-live": "polite",
      "data-status": r.status, "data-runtime": "browser",
    }, [head, figures, body]);
    $("#result-panel").replaceWith(panel);
  }

  // ------------------------------------------------------------------ the environment
  function destroy(reason) {
    if (runtime) {
      runtime.worker.terminate();
      runtime = null;
    }
    listener = null;
    setState("cold", "Pyodide not loaded: the next run is a cold start" + (reason ? " (" + reason + ")" : ""));
  }

  function spawn(spec) {
    const worker = new Worker(config.workerURL);
    const interrupt = isolated() ? new SharedArrayBuffer(1) : null;
    runtime = { worker: worker, key: JSON.stringify(spec), interrupt: interrupt, loadMs: null };
    worker.onmessage = function (event) {
      const message = event.data;
      if (message.type === "log") {
        if (emitLine) emitLine(message.line);
      } else if (message.type === "loaded") {
        if (runtime && runtime.worker === worker) runtime.loadMs = message.load_ms;
        if (listener) listener(message);
      } else if (listener) {
        listener(message);
      }
    };
    worker.onerror = function (event) {
      event.preventDefault();
      if (listener) listener({ type: "fatal", message: event.message || "the worker script failed" });
    };
    return worker;
  }

  // Resolves with the worker's init reply, or a synthetic {type: "init_timeout"|"fatal"}.
  function initWorker(spec) {
    return new Promise(function (resolve) {
      let timer = setTimeout(function () { resolve({ type: "fatal", message: "Pyodide did not load in time" }); },
        LOAD_TIMEOUT_MS);
      listener = function (message) {
        if (message.type === "loaded") {
          clearTimeout(timer);
          setState("loading", "Cold start: Pyodide loaded, importing your module…");
          timer = setTimeout(function () { resolve({ type: "init_timeout" }); }, INIT_TIMEOUT_MS);
          return;
        }
        clearTimeout(timer);
        resolve(message);
      };
      runtime.worker.postMessage({
        type: "init",
        indexURL: new URL(config.indexURL, location.href).href,
        wheelURL: new URL(config.wheelURL, location.href).href,
        interruptBuffer: runtime.interrupt,
        init: {
          handler: spec.handler, files: spec.files, function_name: spec.function_name,
          memory_mb: spec.memory_mb, arn: spec.arn, region: spec.region, environment: spec.environment,
          log_stream_name: logStreamName(), function_version: "$LATEST",
          log_environment: R().logEnvironment(spec.logging),
        },
      });
    });
  }

  function logStreamName() {
    const d = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    return d.getUTCFullYear() + "/" + pad(d.getUTCMonth() + 1) + "/" + pad(d.getUTCDate()) +
      "/[$LATEST]" + uuid4().replace(/-/g, "");
  }

  // Resolves with the worker's reply, or {type: "timeout", duration_ms} when the timeout fires.
  function invokeWorker(requestId, eventText, timeoutS) {
    return new Promise(function (resolve) {
      const started = performance.now();
      let settled = false;
      const finish = function (value) { if (!settled) { settled = true; resolve(value); } };
      const timer = setTimeout(function () {
        const elapsed = performance.now() - started;
        const timedOut = { type: "timeout", duration_ms: elapsed, via: "terminate", max_memory_used_bytes: 0 };
        if (runtime && runtime.interrupt) {
          new Uint8Array(runtime.interrupt)[0] = 2; // SIGINT: KeyboardInterrupt in the handler
          listener = function (message) { // whatever it answers now, it timed out
            if (message.type === "interrupted") {
              timedOut.via = "interrupt";
              timedOut.max_memory_used_bytes = message.max_memory_used_bytes || 0;
            }
            finish(timedOut);
          };
          setTimeout(function () { finish(timedOut); }, GRACE_MS);
        } else {
          finish(timedOut);
        }
      }, timeoutS * 1000);
      listener = function (message) {
        clearTimeout(timer);
        finish(message);
      };
      runtime.worker.postMessage({
        type: "invoke",
        request: { id: requestId, event: eventText, deadline_ms: Date.now() + timeoutS * 1000 },
      });
    });
  }

  // ------------------------------------------------------------------ one invocation
  async function run() {
    if (running) return;
    let spec;
    try {
      spec = readSpec();
    } catch (err) {
      notice("error", err.message);
      return;
    }
    const eventText = readEvent();
    if (eventText === null) return;
    notice("", "");
    if (runtime && runtime.key !== JSON.stringify(spec)) destroy("new code or configuration");
    running = true;
    setBusy(true);
    const requestId = uuid4();
    const emit = startLog(requestId, spec.logging);
    emitLine = emit;
    const cold = runtime === null;
    showRunning(cold);
    let initMs = null;
    let loadMs = null;
    let record = null;
    try {
      if (cold) {
        setState("loading", "Cold start: downloading and starting Pyodide…");
        const started = performance.now();
        spawn(spec);
        const init = await initWorker(spec);
        initMs = performance.now() - started; // worker start + Pyodide load + wheel + import
        loadMs = runtime ? runtime.loadMs : null;
        if (init.type === "fatal") {
          emit.notice("[coldstart] The browser runtime failed to start: " + init.message);
          notice("error", "The browser runtime failed to start (" + init.message + "). Run on the server sandbox instead.");
          destroy("it failed to start");
          showFailed(requestId, init.message);
          return;
        }
        if (init.type !== "init_done") {
          let error = init.error;
          let after = [];
          let status = "error";
          if (init.type === "init_timeout") {
            status = "timeout";
            after = ["INIT_REPORT Init Duration: " + initMs.toFixed(2) + " ms\tPhase: init\tStatus: timeout"];
            error = { errorType: "Runtime.InitTimeout", errorMessage: "Init phase exceeded " + INIT_TIMEOUT_MS / 1000 + " s", stackTrace: [] };
          }
          emit.start();
          emit.end();
          record = finishRecord(requestId, status, true, initMs, loadMs, 0, 0, spec, null, Object.assign({}, error, { requestId: requestId }), emit, after);
          destroy("init failed");
          return;
        }
        setState("warm", "Warm: Pyodide is loaded in this tab (init took " + initMs.toFixed(0) + " ms)");
      }
      emit.start();
      const outcome = await invokeWorker(requestId, eventText, spec.timeout_s);
      if (outcome.type === "timeout") {
        const line = R().timeoutLine(requestId, spec.timeout_s);
        emit.end();
        const usedMb = R().memoryEstimateMb(outcome.max_memory_used_bytes);
        record = finishRecord(requestId, "timeout", cold, initMs, loadMs, outcome.duration_ms, usedMb, spec, null,
          { errorMessage: line, errorType: "Sandbox.Timedout", stackTrace: [] }, emit, [line]);
        destroy("the last run timed out"); // worker.terminate(), after the interrupt's grace period
        $("#result-panel").dataset.timeoutVia = outcome.via;
        return;
      }
      if (outcome.type === "fatal") {
        emit.notice("[coldstart] The browser runtime crashed: " + outcome.message);
        destroy("it crashed");
        showFailed(requestId, outcome.message);
        return;
      }
      emit.end();
      const usedMb = R().memoryEstimateMb(outcome.max_memory_used_bytes);
      if (outcome.type === "result") {
        if (new TextEncoder().encode(outcome.payload).length > config.payloadBytes) {
          record = finishRecord(requestId, "error", cold, initMs, loadMs, outcome.duration_ms, usedMb, spec, null, {
            errorType: "Function.ResponseSizeTooLarge",
            errorMessage: "Response payload size exceeded maximum allowed payload size (" + config.payloadBytes + " bytes).",
            requestId: requestId, stackTrace: [],
          }, emit, []);
        } else {
          record = finishRecord(requestId, "ok", cold, initMs, loadMs, outcome.duration_ms, usedMb, spec,
            JSON.parse(outcome.payload), null, emit, []);
        }
      } else {
        record = finishRecord(requestId, "error", cold, initMs, loadMs, outcome.duration_ms, usedMb, spec, null,
          outcome.error, emit, []);
      }
    } catch (err) {
      notice("error", "The browser run failed: " + err.message);
      destroy("it failed");
    } finally {
      running = false;
      emitLine = null;
      setBusy(false);
      if (record) send(record);
    }
  }

  function R() { return window.ColdstartBrowserRuntime; }

  function showFailed(requestId, message) {
    window.ColdstartRuns.setStatus(requestId, "failed");
    const panel = el("section", { id: "result-panel", class: "result-panel result-failed", "aria-live": "polite", "data-status": "failed" }, [
      el("div", { class: "result-head" }, [el("span", { class: "status status-failed", text: "FAILED" }),
        el("span", { class: "badge badge-browser", text: "in my browser" })]),
      el("p", { class: "muted", text: "The browser runtime could not run your handler: " + message }),
    ]);
    $("#result-panel").replaceWith(panel);
  }

  // REPORT line, result panel and the record for the server, as sandbox/engine/invocation.py _record.
  function finishRecord(requestId, status, cold, initMs, loadMs, durationMs, usedMb, spec, result, error, emit, after) {
    const prices = config.prices;
    const billed = R().billedDurationMs(durationMs, initMs, prices.bill_init_phase);
    const gbS = R().gbSeconds(spec.memory_mb, billed);
    const cost = R().costUsd(gbS, 1, prices);
    emit.report(durationMs, billed, spec.memory_mb, usedMb, initMs, status, error ? error.errorType : null);
    after.forEach(function (line) { emit.fault(line); });
    window.ColdstartRuns.finish(requestId, status, {
      cold: cold, durationMs: durationMs, billedMs: billed, memoryMb: spec.memory_mb, maxMemoryMb: usedMb,
      initMs: cold ? initMs : null,
    });
    showResult({
      status: status, cold: cold, initMs: initMs, loadMs: loadMs, durationMs: durationMs, billedMs: billed,
      memoryMb: spec.memory_mb, usedMb: usedMb, gbS: gbS, cost: cost, error: error,
      resultText: error ? null : JSON.stringify(result, null, 2),
    });
    return {
      request_id: requestId, status: status, cold: cold, init_duration_ms: initMs, duration_ms: durationMs,
      memory_size_mb: spec.memory_mb, max_memory_used_mb: usedMb, result: error ? null : result, error: error,
      logs: emit.lines, event: $("#event").value.trim() || "{}",
    };
  }

  async function send(record) {
    try {
      const token = $("#function-form [name=csrfmiddlewaretoken]").value;
      const response = await fetch(config.recordURL, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify(record),
      });
      const data = await response.json().catch(function () { return {}; });
      if (!response.ok) throw new Error(data.error || "HTTP " + response.status);
      const doc = new DOMParser().parseFromString(data.html || "", "text/html");
      ["#totals", "#history"].forEach(function (selector) {
        const fresh = doc.querySelector(selector);
        const current = $(selector);
        if (fresh && current) {
          current.replaceWith(fresh);
          if (window.htmx) window.htmx.process(fresh);
        }
      });
    } catch (err) {
      notice("warning", "This browser run could not be saved in your history: " + err.message);
    }
  }

  function setBusy(busy) {
    const button = $("#browser-invoke-btn");
    if (!button) return;
    button.disabled = busy;
    button.textContent = busy ? "Running…" : "▶ Invoke in my browser";
    if (busy) button.prepend(el("span", { class: "spinner", "aria-hidden": "true" }), " ");
  }

  // ------------------------------------------------------------------ set-up
  function setMode(value) {
    const playground = $(".playground");
    if (playground) playground.dataset.runOn = value;
    try { sessionStorage.setItem("coldstart.runOn", value); } catch (err) { /* private mode */ }
  }

  function setup() {
    const data = $("#browser-runtime-config");
    if (!data || !R()) return;
    config = JSON.parse(data.textContent);
    let saved = null;
    try { saved = sessionStorage.getItem("coldstart.runOn"); } catch (err) { /* private mode */ }
    document.querySelectorAll('input[name="run_on"]').forEach(function (radio) {
      if (saved && radio.value === saved) radio.checked = true;
      radio.addEventListener("change", function () { if (this.checked) setMode(this.value); });
    });
    const checked = document.querySelector('input[name="run_on"]:checked');
    setMode(checked ? checked.value : "server");
    $("#browser-invoke-btn").addEventListener("click", run);
    $("#browser-reset-btn").addEventListener("click", function () {
      if (running) return;
      destroy("reset");
      notice("info", "Browser runtime reset: the next run in your browser is a cold start.");
    });
    if (!isolated()) {
      setState("cold", "Pyodide not loaded: the next run is a cold start (no cross-origin isolation here: a timeout terminates the worker)");
    }
    window.ColdstartBrowserRunner = { run: run, reset: destroy, isolated: isolated };
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
