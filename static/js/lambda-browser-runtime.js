// The browser execution environment, shared by the Web Worker (static/js/pyodide-worker.js),
// the playground page (static/js/browser-runner.js) and the Node tests (tests/js/):
//   - platform: Lambda's START/END/REPORT/timeout lines, the billing formulas and the logging
//     configuration (JSON platform records, log-level filtering), ported from
//     sandbox/engine/rules/report.py, billing.py and logconfig.py (tests/js/ checks them against
//     those very modules, run in Pyodide from the runtime wheel);
//   - loadRuntime/initFunction/invokeFunction: Pyodide + the runtime wheel (sandbox/runtime/,
//     browser_bootstrap.py on top of lambda_core.py), the same code as the server sandbox.
(function (root) {
  "use strict";

  // ------------------------------------------------------------ platform lines (the "parent")
  function startLine(requestId, version) {
    return "START RequestId: " + requestId + " Version: " + (version || "$LATEST");
  }

  function endLine(requestId) {
    return "END RequestId: " + requestId;
  }

  // Python's round(x, 6) then math.ceil, at least 1 (sandbox/engine/rules/billing.py billed_duration_ms).
  function billedDurationMs(durationMs, initDurationMs, billInitPhase) {
    let total = durationMs;
    if (initDurationMs !== null && initDurationMs !== undefined && billInitPhase !== false) {
      total += initDurationMs;
    }
    return Math.max(1, Math.ceil(Math.round(total * 1e6) / 1e6));
  }

  function gbSeconds(memoryMb, billedMs) {
    return (memoryMb / 1024) * (billedMs / 1000);
  }

  function costUsd(gbS, requests, prices) {
    return gbS * prices.per_gb_second + requests * prices.per_request;
  }

  function reportLine(requestId, durationMs, billedMs, memoryMb, maxUsedMb, initDurationMs) {
    const fields = [
      "REPORT RequestId: " + requestId,
      "Duration: " + durationMs.toFixed(2) + " ms",
      "Billed Duration: " + billedMs + " ms",
      "Memory Size: " + memoryMb + " MB",
      "Max Memory Used: " + maxUsedMb + " MB",
    ];
    if (initDurationMs !== null && initDurationMs !== undefined) {
      fields.push("Init Duration: " + initDurationMs.toFixed(2) + " ms");
    }
    return fields.join("\t");
  }

  function isoNow(date) {
    if (typeof date === "string") return date;
    return (date || new Date()).toISOString(); // 2026-01-02T03:04:05.678Z, as report.iso_now()
  }

  function timeoutLine(requestId, timeoutS, when) {
    return (when || isoNow()) + " " + requestId + " Task timed out after " + timeoutS.toFixed(2) + " seconds";
  }

  // ------------------------------------------------------------ logging configuration (logconfig.py)
  const LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
  const LEVEL_ALIASES = { WARNING: "WARN", CRITICAL: "FATAL", NOTSET: "TRACE" };
  const LOGGING_DEFAULTS = { log_format: "Text", application_log_level: "INFO", system_log_level: "INFO" };

  function normaliseLogging(config) {
    const merged = Object.assign({}, LOGGING_DEFAULTS);
    for (const key of Object.keys(LOGGING_DEFAULTS)) if (config && config[key]) merged[key] = config[key];
    return merged;
  }

  function isJson(config) { return normaliseLogging(config).log_format === "JSON"; }

  // The variables Lambda gives the runtime (awslambdaric reads them).
  function logEnvironment(config) {
    const c = normaliseLogging(config);
    return c.log_format === "JSON" ? { AWS_LAMBDA_LOG_FORMAT: "JSON", AWS_LAMBDA_LOG_LEVEL: c.application_log_level } : {};
  }

  // A line's level: a JSON object's "level" (or "log_level"), else INFO.
  function lineLevel(line) {
    const text = line.trim();
    if (text.startsWith("{") && text.endsWith("}")) {
      let record;
      try { record = JSON.parse(text); } catch (err) { return "INFO"; }
      if (record && typeof record === "object" && !Array.isArray(record)) {
        const value = "level" in record ? record.level : record.log_level;
        if (typeof value === "string") {
          let name = value.toUpperCase();
          name = LEVEL_ALIASES[name] || name;
          if (LEVELS.includes(name)) return name;
        }
      }
    }
    return "INFO";
  }

  function atLeast(level, threshold) { return LEVELS.indexOf(level) >= LEVELS.indexOf(threshold); }

  function keepsApplicationLine(config, line) {
    const c = normaliseLogging(config);
    return c.log_format !== "JSON" || atLeast(lineLevel(line), c.application_log_level);
  }

  function keepsSystem(config, level) {
    const c = normaliseLogging(config);
    return c.log_format !== "JSON" || atLeast(level, c.system_log_level);
  }

  // json.dumps with Python's default separators; `floats` names keys whose values are floats.
  function pyJson(value, floats) {
    if (value === null) return "null";
    if (Array.isArray(value)) return "[" + value.map((v) => pyJson(v, floats)).join(", ") + "]";
    if (typeof value === "object") {
      return "{" + Object.entries(value).map(([k, v]) => JSON.stringify(k) + ": " +
        (floats && floats.includes(k) && Number.isInteger(v) ? v.toFixed(1) : pyJson(v, floats))).join(", ") + "}";
    }
    return JSON.stringify(value);
  }

  function round3(x) { return Math.round(x * 1000) / 1000; }

  function platformStart(requestId, version, when) {
    const record = { requestId: requestId, version: version || "$LATEST" };
    return pyJson({ time: isoNow(when), type: "platform.start", record: record });
  }

  const REPORT_STATUS = { ok: "success", error: "error", timeout: "timeout" };

  function platformReport(requestId, durationMs, billedMs, memoryMb, maxUsedMb, initDurationMs, status, errorType, when) {
    const metrics = { durationMs: round3(durationMs), billedDurationMs: billedMs, memorySizeMB: memoryMb,
      maxMemoryUsedMB: maxUsedMb };
    if (initDurationMs !== null && initDurationMs !== undefined) metrics.initDurationMs = round3(initDurationMs);
    const record = { requestId: requestId, metrics: metrics, status: REPORT_STATUS[status || "ok"] || "failure" };
    if (record.status !== "success" && errorType) record.errorType = errorType;
    return pyJson({ time: isoNow(when), type: "platform.report", record: record }, ["durationMs", "initDurationMs"]);
  }

  // tracemalloc's peak in bytes -> whole MB, at least 1 (an estimate, labelled so on the page).
  function memoryEstimateMb(bytes) {
    return Math.max(1, Math.ceil((bytes || 0) / (1024 * 1024)));
  }

  // ------------------------------------------------------------ the environment (the "child")
  // Loads Pyodide and the runtime wheel. `wheel` is the wheel's bytes (ArrayBuffer/Uint8Array).
  async function loadRuntime(options) {
    const started = performance.now();
    const pyodide = await options.loadPyodide({ indexURL: options.indexURL, fullStdLib: false });
    pyodide.unpackArchive(options.wheel, "wheel");
    const bootstrap = pyodide.pyimport("browser_bootstrap");
    return { pyodide: pyodide, bootstrap: bootstrap, loadMs: performance.now() - started };
  }

  // The init phase: write the code, import the handler module. `emit(line)` gets output lines.
  function initFunction(runtime, init, emit) {
    const started = performance.now();
    const reply = JSON.parse(runtime.bootstrap.init(JSON.stringify(init), emit));
    reply.init_ms = performance.now() - started;
    return reply;
  }

  // One invocation; Duration is performance.now() around the handler call.
  function invokeFunction(runtime, request) {
    const text = JSON.stringify(request);
    const started = performance.now();
    const out = runtime.bootstrap.invoke(text);
    const duration = performance.now() - started;
    const reply = JSON.parse(out);
    reply.duration_ms = duration;
    return reply;
  }

  const api = {
    startLine: startLine,
    endLine: endLine,
    reportLine: reportLine,
    timeoutLine: timeoutLine,
    billedDurationMs: billedDurationMs,
    gbSeconds: gbSeconds,
    costUsd: costUsd,
    memoryEstimateMb: memoryEstimateMb,
    normaliseLogging: normaliseLogging,
    isJson: isJson,
    logEnvironment: logEnvironment,
    lineLevel: lineLevel,
    keepsApplicationLine: keepsApplicationLine,
    keepsSystem: keepsSystem,
    platformStart: platformStart,
    platformReport: platformReport,
    loadRuntime: loadRuntime,
    initFunction: initFunction,
    invokeFunction: invokeFunction,
  };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.ColdstartBrowserRuntime = api;
})(typeof self !== "undefined" ? self : this);
