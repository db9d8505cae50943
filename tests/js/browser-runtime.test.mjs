// The browser runtime in Node: the vendored Pyodide (static/vendor/pyodide, built by
// `make assets`) runs the runtime wheel (sandbox/runtime/ as built by
// scripts/build-runtime-wheel.sh) against a few handlers, through the same JS the Web Worker uses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const VENDOR_DIR = join(ROOT, "static", "vendor", "pyodide");
const PYODIDE_VERSION = require(join(ROOT, "package.json")).dependencies.pyodide;
const PYODIDE_DIR = join(VENDOR_DIR, PYODIDE_VERSION) + "/"; // versioned: see scripts/vendor-assets.sh
const core = require(join(ROOT, "static", "js", "lambda-browser-runtime.js"));
const { loadPyodide } = await import(join(PYODIDE_DIR, "pyodide.mjs"));
const wheelName = readdirSync(VENDOR_DIR).find((f) => /^coldstart_runtime-.*\.whl$/.test(f));
const wheel = new Uint8Array(readFileSync(join(VENDOR_DIR, wheelName)));
const REQUEST_ID = "8f5c2d4e-1111-4c3b-9a0e-0123456789ab";

function initMessage(code, handler = "handler", extra = {}) {
  return {
    handler: "lambda_function." + handler,
    files: { "lambda_function.py": code },
    function_name: "hello",
    memory_mb: 128,
    arn: "arn:aws:lambda:us-east-1:123456789012:function:hello",
    log_stream_name: "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
    environment: { STAGE: "test" },
    ...extra,
  };
}

async function environment(code, handler, extra = {}) {
  const runtime = await core.loadRuntime({ loadPyodide, indexURL: PYODIDE_DIR, wheel });
  const lines = [];
  const init = core.initFunction(runtime, initMessage(code, handler, extra), (line) => lines.push(line));
  return { runtime, lines, init };
}

function invoke(env, event = {}) {
  return core.invokeFunction(env.runtime, {
    id: REQUEST_ID,
    event: JSON.stringify(event),
    deadline_ms: Date.now() + 3000,
  });
}

test("output lines stream one by one, logging uses Lambda's format, the context is Lambda's", async () => {
  const code = [
    "import logging, os",
    "print('module level')",
    "logging.getLogger().setLevel(logging.INFO)  # the root logger starts at WARNING, as on Lambda",
    "def handler(event, context):",
    "    print('hello', event['name'])",
    "    logging.getLogger().info('from logging')",
    "    print('two\\nlines', end='')",
    "    return {'mem': context.memory_limit_in_mb, 'fn': context.function_name,",
    "            'env': sorted(os.environ), 'stage': os.environ['STAGE'],",
    "            'left': context.get_remaining_time_in_millis() > 0}",
  ].join("\n");
  const env = await environment(code);
  assert.equal(env.init.type, "init_done");
  assert.ok(env.runtime.loadMs > 0 && env.init.init_ms >= 0);
  assert.deepEqual(env.lines, ["module level"]);
  env.lines.length = 0;
  const reply = invoke(env, { name: "Ada" });
  assert.equal(reply.type, "result");
  assert.equal(env.lines[0], "hello Ada");
  assert.deepEqual(env.lines.slice(2), ["two", "lines"], "a last line without newline is drained");
  assert.match(
    env.lines[1],
    new RegExp(`^\\[INFO\\]\\t\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\t${REQUEST_ID}\\tfrom logging$`),
  );
  const result = JSON.parse(reply.payload);
  assert.equal(result.mem, "128"); // a string, as in awslambdaric
  assert.equal(result.fn, "hello");
  assert.equal(result.stage, "test");
  assert.equal(result.left, true);
  assert.ok(result.env.includes("AWS_LAMBDA_FUNCTION_NAME"));
  assert.ok(!result.env.includes("HOME"), "only Lambda's variables and the function's own");
  assert.ok(reply.duration_ms >= 0);
  assert.ok(reply.max_memory_used_bytes > 0);
});

test("REPORT line and billing: the JS port gives what sandbox/report.py and billing.py give", async () => {
  const runtime = await core.loadRuntime({ loadPyodide, indexURL: PYODIDE_DIR, wheel });
  const py = runtime.pyodide;
  py.runPython("from coldstart_rules import billing, report");
  const cases = [
    [15.7412, null, 128, 56, true],
    [0.004, 3012.5, 1024, 1, true],
    [0.004, 3012.5, 1024, 1, false],
    [2.0, 130.49, 1769, 20, true],
    [999.9999999, null, 10240, 300, true],
  ];
  for (const [duration, init, memory, used, billInit] of cases) {
    const billed = core.billedDurationMs(duration, init, billInit);
    const pyBilled = py.runPython(
      `billing.billed_duration_ms(${duration}, ${init === null ? "None" : init}, ${billInit ? "True" : "False"})`,
    );
    assert.equal(billed, pyBilled, `billed ${duration} ${init}`);
    assert.ok(Math.abs(core.gbSeconds(memory, billed) - py.runPython(`billing.gb_seconds(${memory}, ${billed})`)) < 1e-12);
    const line = core.reportLine(REQUEST_ID, duration, billed, memory, used, init);
    const pyLine = py.runPython(
      `report.report_line("${REQUEST_ID}", ${duration}, ${billed}, ${memory}, ${used}, ${init === null ? "None" : init})`,
    );
    assert.equal(line, pyLine);
  }
  assert.equal(
    core.reportLine(REQUEST_ID, 15.74, 16, 128, 56, 130.49),
    `REPORT RequestId: ${REQUEST_ID}\tDuration: 15.74 ms\tBilled Duration: 16 ms\tMemory Size: 128 MB\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms`,
  );
  const when = "2026-01-02T03:04:05.678Z";
  assert.equal(core.timeoutLine(REQUEST_ID, 2, when), py.runPython(`report.timeout_line("${REQUEST_ID}", 2, "${when}")`));
  assert.equal(core.startLine(REQUEST_ID), py.runPython(`report.start_line("${REQUEST_ID}")`));
  assert.equal(core.endLine(REQUEST_ID), py.runPython(`report.end_line("${REQUEST_ID}")`));
  assert.equal(core.memoryEstimateMb(1), 1);
  assert.equal(core.memoryEstimateMb(5 * 1024 * 1024 + 1), 6);
});

test("an exception: errorType/errorMessage/stackTrace and the [ERROR] block, the environment stays warm", async () => {
  const code = [
    "calls = 0",
    "def handler(event, context):",
    "    global calls",
    "    calls += 1",
    "    if calls == 1:",
    "        raise ValueError('boom')",
    "    return calls",
  ].join("\n");
  const env = await environment(code);
  const reply = invoke(env);
  assert.equal(reply.type, "error");
  assert.equal(reply.error.errorType, "ValueError");
  assert.equal(reply.error.errorMessage, "boom");
  assert.equal(reply.error.requestId, REQUEST_ID);
  assert.equal(reply.error.stackTrace.length, 1);
  assert.match(reply.error.stackTrace[0], /lambda_function\.py", line 6, in handler/);
  assert.equal(env.lines[0], "[ERROR] ValueError: boom");
  assert.equal(env.lines[1], "Traceback (most recent call last):");
  assert.match(env.lines[2], /^\u00a0\u00a0File "\/var\/task\/lambda_function\.py", line 6, in handler$/);
  const second = invoke(env);
  assert.equal(second.type, "result");
  assert.equal(second.payload, "2", "globals persist across warm invocations");
});

test("a result that is not JSON-serialisable is Runtime.MarshalError", async () => {
  const env = await environment("def handler(event, context):\n    return {'when': object()}\n");
  const reply = invoke(env);
  assert.equal(reply.type, "error");
  assert.equal(reply.error.errorType, "Runtime.MarshalError");
  assert.match(reply.error.errorMessage, /^Unable to marshal response: Object of type object is not JSON serializable$/);
  assert.equal(env.lines[0], "[ERROR] Runtime.MarshalError: " + reply.error.errorMessage);
});

test("init failures: a missing handler, a syntax error, a missing third-party module", async () => {
  let env = await environment("def handler(event, context):\n    return 1\n", "main");
  assert.equal(env.init.type, "init_error");
  assert.equal(env.init.error.errorType, "Runtime.HandlerNotFound");
  assert.equal(env.init.error.errorMessage, "Handler 'main' missing on module 'lambda_function'");
  assert.equal(env.lines[0], "[ERROR] Runtime.HandlerNotFound: Handler 'main' missing on module 'lambda_function'");

  env = await environment("def handler(event, context)\n    return 1\n");
  assert.equal(env.init.error.errorType, "Runtime.UserCodeSyntaxError");
  assert.match(env.init.error.errorMessage, /^Syntax error in module 'lambda_function': /);

  env = await environment("import requests\ndef handler(event, context):\n    return 1\n");
  assert.equal(env.init.error.errorType, "Runtime.ImportModuleError");
  assert.equal(env.init.error.errorMessage, "Unable to import module 'lambda_function': No module named 'requests'");
});

test("a NUL character in an environment variable is an init error, as on the server", async () => {
  const runtime = await core.loadRuntime({ loadPyodide, indexURL: PYODIDE_DIR, wheel });
  const message = initMessage("def handler(event, context):\n    return 1\n", "handler", {
    environment: { GOOD: "yes", BAD: "a\u0000b" },
  });
  const init = core.initFunction(runtime, message, () => {});
  assert.equal(init.type, "init_error");
  assert.equal(init.error.errorType, "Runtime.InvalidEnvironment");
  assert.match(init.error.errorMessage, /^The environment variable 'BAD' cannot be set/);
});

test("an interrupt (the page's timeout) stops an endless handler", async () => {
  const env = await environment("def handler(event, context):\n    while True:\n        pass\n");
  const buffer = new Uint8Array(new SharedArrayBuffer(1));
  env.runtime.pyodide.setInterruptBuffer(buffer);
  buffer[0] = 2; // SIGINT, as the page sets it when the timeout fires
  const reply = invoke(env);
  assert.equal(reply.type, "interrupted");
  assert.ok(reply.max_memory_used_bytes > 0);
  assert.equal(buffer[0], 0, "Pyodide clears the signal once it is handled");
});

test("logging as on the server: WARNING by default in Text, JSON records and levels from Lambda's variables", async () => {
  const code = [
    "import logging",
    "def handler(event, context):",
    "    logging.info('info line')",
    "    logging.warning('warning line')",
    "    return [logging.getLogger().level, context.function_version]",
  ].join("\n");
  let env = await environment(code);
  let reply = invoke(env);
  assert.deepEqual(JSON.parse(reply.payload), [30, "$LATEST"]);
  assert.equal(env.lines.length, 1, "logging.info is dropped at Python's default level");
  assert.match(env.lines[0], /^\[WARNING\]\t.*\twarning line$/);

  const json = { log_format: "JSON", application_log_level: "INFO" };
  env = await environment(code, "handler", { log_environment: core.logEnvironment(json), function_version: "3" });
  reply = invoke(env);
  assert.deepEqual(JSON.parse(reply.payload), [20, "3"], "JSON sets the root logger to the application level");
  const records = env.lines.map((line) => JSON.parse(line));
  assert.deepEqual(records.map((r) => Object.keys(r)), [
    ["timestamp", "level", "message", "logger", "requestId"],
    ["timestamp", "level", "message", "logger", "requestId"],
  ]);
  assert.deepEqual(records.map((r) => r.level), ["INFO", "WARNING"]);
  assert.equal(records[0].requestId, REQUEST_ID);
  assert.match(records[0].timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test("the JS logging rules give what sandbox/engine/rules/logconfig.py gives", async () => {
  const runtime = await core.loadRuntime({ loadPyodide, indexURL: PYODIDE_DIR, wheel });
  const py = runtime.pyodide;
  py.runPython("import json\nfrom datetime import datetime, UTC\nfrom coldstart_rules import logconfig, report");
  const lines = [
    "plain text", '{"level": "debug", "msg": "x"}', '{"level": "WARNING"}', '{"level": "CRITICAL"}',
    '{"log_level": "ERROR", "errorMessage": "x"}', '{"level": "loud"}', '{"level": 3}', "{not json}", "[1, 2]",
    '  {"level": "trace"}  ',
  ];
  const configs = [
    {}, { log_format: "JSON" }, { log_format: "JSON", application_log_level: "WARN", system_log_level: "WARN" },
    { log_format: "JSON", application_log_level: "TRACE", system_log_level: "DEBUG" },
  ];
  py.globals.set("lines_json", JSON.stringify(lines));
  assert.deepEqual(lines.map(core.lineLevel), JSON.parse(py.runPython(
    "json.dumps([logconfig.line_level(l) for l in json.loads(lines_json)])")));
  for (const config of configs) {
    py.globals.set("config_json", JSON.stringify(config));
    const pyKeeps = JSON.parse(py.runPython(
      "json.dumps([logconfig.keeps_application_line(json.loads(config_json), l) for l in json.loads(lines_json)])"));
    assert.deepEqual(lines.map((l) => core.keepsApplicationLine(config, l)), pyKeeps, JSON.stringify(config));
    for (const level of ["DEBUG", "INFO", "WARN"]) {
      assert.equal(core.keepsSystem(config, level),
        py.runPython(`logconfig.keeps_system(json.loads(config_json), "${level}")`), level);
    }
    assert.deepEqual(core.logEnvironment(config),
      JSON.parse(py.runPython("json.dumps(logconfig.runtime_environment(json.loads(config_json)))")));
  }
  const when = "2026-01-02T03:04:05.678Z";
  const pyWhen = "datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)";
  assert.equal(core.platformStart(REQUEST_ID, "7", when),
    py.runPython(`logconfig.platform_start("${REQUEST_ID}", "7", ${pyWhen})`));
  const reports = [
    [15.7412, 16, 128, 56, null, "ok", null],
    [2.0, 133, 1769, 20, 130.4871, "ok", null],
    [3000.0, 3000, 128, 40, null, "timeout", "Sandbox.Timedout"],
    [1.25, 2, 256, 30, null, "error", "ValueError"],
    [7.5, 8, 128, 128, 2.5, "oom", "Runtime.OutOfMemory"],
  ];
  for (const [duration, billed, memory, used, init, status, errorType] of reports) {
    // The engine measures durations as floats: float(2) is what it would pass for 2 ms.
    const pyArgs = [`"${REQUEST_ID}"`, `float(${duration})`, billed, memory, used, init === null ? "None" : `float(${init})`,
      `"${status}"`, errorType === null ? "None" : `"${errorType}"`, pyWhen].join(", ");
    assert.equal(core.platformReport(REQUEST_ID, duration, billed, memory, used, init, status, errorType, when),
      py.runPython(`logconfig.platform_report(${pyArgs})`));
  }
  assert.equal(core.startLine(REQUEST_ID, "3"), py.runPython(`report.start_line("${REQUEST_ID}", "3")`));
});
