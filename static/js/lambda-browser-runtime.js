// The browser execution environment, shared by the Web Worker (static/js/pyodide-worker.js),
// the playground page (static/js/browser-runner.js) and the Node tests (tests/js/):
//   - platform: Lambda's START/END/REPORT/timeout lines and the billing formulas, ported from
//     sandbox/engine/rules/report.py and billing.py (tests/js/ checks them against those very modules,
//     run in Pyodide from the runtime wheel);
//   - loadRuntime/initFunction/invokeFunction: Pyodide + the runtime wheel (sandbox/runtime/,
//     browser_bootstrap.py on top of lambda_core.py), the same code as the server sandbox.
(function (root) {
  "use strict";

  // ------------------------------------------------------------ platform lines (the "parent")
  function startLine(requestId) {
    return "START RequestId: " + requestId + " Version: $LATEST";
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
    return (date || new Date()).toISOString(); // 2026-01-02T03:04:05.678Z, as report.iso_now()
  }

  function timeoutLine(requestId, timeoutS, when) {
    return (when || isoNow()) + " " + requestId + " Task timed out after " + timeoutS.toFixed(2) + " seconds";
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
    loadRuntime: loadRuntime,
    initFunction: initFunction,
    invokeFunction: invokeFunction,
  };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.ColdstartBrowserRuntime = api;
})(typeof self !== "undefined" ? self : this);
