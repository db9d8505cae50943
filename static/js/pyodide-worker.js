// A browser execution environment: one dedicated Web Worker = one environment. It loads Pyodide
// once (the browser runtime's cold start), imports the handler (init), then runs invocations
// until the page terminates it (timeout, reset, new code). It only reports what happened; the
// page (the "parent") writes START/END/REPORT and the timeout line.
//
// Page -> worker: {type: "init", indexURL, wheelURL, init, interruptBuffer?}
//                 {type: "invoke", request: {id, event, deadline_ms}}
// Worker -> page: {type: "loaded", load_ms} {type: "log", line}
//                 {type: "init_done"|"init_error", init_ms, error?}
//                 {type: "result"|"error"|"interrupted", duration_ms, payload?, error?, max_memory_used_bytes?}
//                 {type: "fatal", message}   (the runtime itself failed)
/* global importScripts, loadPyodide, ColdstartBrowserRuntime */
"use strict";

importScripts("lambda-browser-runtime.js");

let runtime = null;

function emit(line) {
  self.postMessage({ type: "log", line: String(line) });
}

async function start(message) {
  importScripts(message.indexURL + "pyodide.js");
  const response = await fetch(message.wheelURL);
  if (!response.ok) throw new Error("runtime wheel: HTTP " + response.status);
  const wheel = await response.arrayBuffer();
  runtime = await ColdstartBrowserRuntime.loadRuntime({
    loadPyodide: loadPyodide,
    indexURL: message.indexURL,
    wheel: wheel,
  });
  if (message.interruptBuffer) runtime.pyodide.setInterruptBuffer(new Uint8Array(message.interruptBuffer));
  self.postMessage({ type: "loaded", load_ms: runtime.loadMs });
  self.postMessage(ColdstartBrowserRuntime.initFunction(runtime, message.init, emit));
}

self.onmessage = async function (event) {
  const message = event.data;
  try {
    if (message.type === "init") {
      await start(message);
    } else if (message.type === "invoke") {
      self.postMessage(ColdstartBrowserRuntime.invokeFunction(runtime, message.request));
    }
  } catch (err) {
    self.postMessage({ type: "fatal", message: String((err && err.message) || err) });
  }
};
