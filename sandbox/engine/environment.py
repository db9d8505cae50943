"""One execution environment: a sandboxed child process that lives across warm invocations.

The parent measures everything itself (Init Duration, Duration, Max Memory Used) and trusts
nothing the child says about time or memory. Lifecycle: start() runs the init phase (cold
start), invoke() runs one event (warm reuse), the cgroup is frozen once it has been idle for
FREEZE_GRACE_S so background threads do not run while idle, and destroy() kills everything the
environment started.

Two spawn paths (isolation.py): the launcher forks the environment and hands back its pipes,
a pidfd and the cgroup files the worker may use; or the worker (as root) starts bubblewrap. The
event loop never waits for either: the bubblewrap fork/exec runs in a thread, the launcher is
asked over its socket; freezing and thawing run in the freezer thread.
"""

import asyncio
import contextlib
import itertools
import json
import math
import os
import resource
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sandbox.engine.cgroups import Cgroup
from sandbox.engine.framing import CALL_TOO_LONG, OVERSIZE, MessageFramer, PipeReader
from sandbox.engine.isolation import checked_layers_dir, default_rlimits, launch_spec
from sandbox.engine.launcher_client import LauncherUnavailable
from sandbox.engine.outcomes import InitOutcome, InvokeOutcome
from sandbox.engine.rules import logconfig, report
from sandbox.engine.rules.logtext import LineSplitter
from sandbox.engine.runtime_env import PROCESS_VARIABLES

_ids = itertools.count(1)
# An invocation that follows within this finds its environment running: no freeze, no thaw
# (two cgroup writes that each interrupt every task); left idle longer, it is frozen.
FREEZE_GRACE_S = 0.02
# Freezer writes wait for the kernel's freezer lock (v1), milliseconds on a busy host: never on
# the event loop. One thread keeps each environment's freeze and thaw in order.
_FREEZER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coldstart-freezer")


class ExecutionEnvironment:
    def __init__(self, spec, isolation, limits, slots):
        self.spec = spec
        self.isolation = isolation
        self.limits = limits
        self.slots = slots
        self.id = next(_ids)
        self.name = f"w{os.getpid()}-e{self.id}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[{spec.version}]{uuid.uuid4().hex}"
        self.state = "new"  # new -> ready <-> busy -> dead
        self.end_reason = None  # set when the environment ends itself for a reason of its own
        self.invocations = 0
        self.init_duration_ms = None
        self.slot = None
        self.cgroup = None
        self.process = None
        self._sink = None
        self._pending_lines = []
        self._pending_bytes = 0
        self._sink_error = None
        self._output_bytes = 0
        self._truncated = False
        self._framer = None
        self._message_waiter = None
        self._read_before_wait = False
        self._exit_drained = False
        self._calls = 0
        self._exited = None
        self._fds = []
        self._writer = None
        self._oom_baseline = 0
        self._launched = None  # what the launcher handed over (launcher_client.Launched)
        self._arn = spec.arn
        self._arn_json = json.dumps(self._arn)  # in every invoke message
        self._freeze_timer = None  # the idle freeze's check, while a grace runs
        self._idle_since = None  # loop time the last invocation ended; None while busy
        self._deadline_timer = None  # wakes a message wait at the deadline of the phase
        self._deadline_at = None
        self._frozen = None  # the freeze handed to the freezer thread (a concurrent Future)
        self.services = None  # async (spec, op, args) -> JSON value, for `coldstart` helpers

    # ----------------------------------------------------------------- output handling
    def _emit(self, line):
        if self._sink is None:
            # Written while idle: shown with the next invoke (within the output cap).
            if self._pending_bytes + len(line) < self.limits.output_cap_bytes:
                self._pending_lines.append(line)
                self._pending_bytes += len(line) + 1
            return
        if self._truncated or self._sink_error is not None:
            return
        self._output_bytes += len(line) + 1
        if self._output_bytes > self.limits.output_cap_bytes:
            self._truncated = True
            self._sink(
                f"[coldstart] Output truncated: this invocation wrote more than "
                f"{self.limits.output_cap_bytes // 1024} KiB of logs; the rest was discarded "
                "(the handler keeps running)."
            )
            return
        self._sink(line)

    def _set_sink(self, sink):
        self._sink = sink
        self._sink_error = None
        self._output_bytes = 0
        self._truncated = False
        if sink is not None:
            pending, self._pending_lines, self._pending_bytes = self._pending_lines, [], 0
            for line in pending:
                self._emit(line)

    def _on_output(self, data):
        try:
            for line in self._out_lines.feed(data):
                self._emit(line)
        except Exception as exc:  # the sink failed: the invocation raises it when it ends
            self._sink_error = exc

    def _on_output_eof(self):
        try:
            for line in self._out_lines.finish():
                self._emit(line)
        except Exception as exc:
            self._sink_error = exc

    def _raise_sink_error(self):
        if self._sink_error is not None:
            raise self._sink_error

    # ----------------------------------------------------------------- lifecycle
    def _init_message(self):
        """What the runtime needs to start: the code, and the configuration it turns into the
        handler's environment variables itself (lambda_core.lambda_environment, as in the
        browser). The learner's variables travel here, never on a command line or through the
        environment of the root-run helpers that start the sandbox (bubblewrap, setpriv)."""
        spec = self.spec
        message = {
            "handler": spec.handler,
            "files": spec.files,
            "function_name": spec.name,
            "function_version": spec.version,
            "memory_mb": spec.memory_mb,
            "arn": spec.arn,
            "region": spec.region,
            "log_stream_name": self.log_stream_name,
            "environment": {str(k): str(v) for k, v in (spec.environment or {}).items()},
            # AWS_LAMBDA_LOG_FORMAT / _LEVEL, when the logging configuration says JSON.
            "log_environment": logconfig.runtime_environment(spec.logging),
            "service_call_bytes": self.limits.service_call_bytes,
        }
        if spec.opt_dir and not self.isolation.bwrap and self.isolation.launcher is None:  # the host path
            message["opt_dir"] = spec.opt_dir
        return message

    def _cpu_quota_us(self):
        limits = self.limits
        share = min(self.spec.memory_mb / limits.mb_per_vcpu, limits.host_cores)
        return max(1000, int(limits.cpu_period_us * share))

    async def start(self, on_log, request_id="init"):
        """The init phase. Returns an InitOutcome; the environment is ready only if ok. Whatever
        goes wrong on the way, the environment is destroyed and its slot given back."""
        try:
            return await self._start(on_log, request_id)
        except BaseException:
            self._set_sink(None)
            self.destroy()
            raise

    async def _start(self, on_log, request_id):
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        self._out_lines = LineSplitter(self.limits.max_line_bytes)
        self._set_sink(on_log)
        iso = self.isolation
        self.slot = self.slots.acquire(self.spec.memory_mb)
        if iso.cgroup_version and iso.launcher is None:  # the launcher makes its own
            self.cgroup = Cgroup(self.name, iso.cgroup_version, iso.cgroup_group)
            # Init runs with a full vCPU (Lambda boosts CPU during init); the quota
            # proportional to memory applies from the first invocation on.
            self.cgroup.configure(
                self.spec.memory_mb << 20,
                self.limits.pids_max,
                self.limits.cpu_period_us,
                self.limits.cpu_period_us,
            )
        await self._spawn(loop)
        self._writer.write(json.dumps(self._init_message()).encode() + b"\n")
        deadline = started + self.limits.init_timeout_s
        message = await self._wait_message(deadline)
        while message is not None and (
            not isinstance(message, dict) or message.get("type") not in ("init_done", "init_error")
        ):
            message = await self._wait_message(deadline)
        self._end_deadline()
        arrived = message.get("_arrived") if isinstance(message, dict) else None
        self.init_duration_ms = ((arrived or time.monotonic()) - started) * 1000
        self._output.drain()
        self._raise_sink_error()
        if message is not None and message.get("type") == "init_done":
            self.state = "ready"
            if self.cgroup:
                with contextlib.suppress(OSError):  # a launcher that just died: it ends anyway
                    self.cgroup.set_cpu_quota(self._cpu_quota_us(), self.limits.cpu_period_us)
            self._freeze()
            self._set_sink(None)
            return InitOutcome(True, self.init_duration_ms)
        outcome = self._init_failure(message, request_id)
        self._set_sink(None)
        self.destroy()
        return outcome

    def _init_failure(self, message, request_id):
        if message is None:
            if self._exited.done():
                status, error, line = self._exit_error(request_id)
                return InitOutcome(False, self.init_duration_ms, status, error, [line])
            line = f"INIT_REPORT Init Duration: {self.init_duration_ms:.2f} ms\tPhase: init\tStatus: timeout"
            error = {
                "errorType": "Runtime.InitTimeout",
                "errorMessage": f"Init phase exceeded {self.limits.init_timeout_s:.0f} s",
                "stackTrace": [],
            }
            return InitOutcome(False, self.init_duration_ms, "timeout", error, [line])
        error = _checked_error(message.get("error"))
        if error is None:
            error = _invalid_message("init_error", "its error is not an object of strings")
        return InitOutcome(False, self.init_duration_ms, "error", error)

    async def _spawn(self, loop):
        iso = self.isolation
        if iso.launcher is not None:
            await self._spawn_by_launcher(loop)
            return
        events_r, events_w = os.pipe2(os.O_CLOEXEC)
        msgs_r, msgs_w = os.pipe2(os.O_CLOEXEC)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        child_fds = [events_r, msgs_w, out_w]
        self._fds = [out_r, msgs_r, events_w]  # closed by destroy() if anything below fails
        seccomp_fd = None
        if iso.seccomp_filter is not None and iso.bwrap:
            seccomp_fd = os.memfd_create("seccomp", os.MFD_CLOEXEC)
            os.write(seccomp_fd, iso.seccomp_filter)
            os.lseek(seccomp_fd, 0, os.SEEK_SET)
            child_fds.append(seccomp_fd)
        rlimits = default_rlimits(self.spec.memory_mb, self.limits.tmp_bytes, self.limits.pids_max)
        if os.geteuid() != 0:
            rlimits.pop(resource.RLIMIT_NPROC)  # would count all our own processes
        spec = launch_spec(
            iso,
            env=_process_variables(),
            uid=self.slots.uid(self.slot),
            cgroup_paths=self.cgroup.join_paths if self.cgroup else [],
            seccomp_fd=seccomp_fd,
            tmp_bytes=self.limits.tmp_bytes,
            rlimits=rlimits,
            opt_dir=self.spec.opt_dir,
        )
        argv = [*spec.argv, str(events_r), str(msgs_w)]

        def popen():
            # In a thread: fork and exec of the sandbox take milliseconds (more on a busy host)
            # that the event loop, serving every other learner, must not wait for.
            try:
                return subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out_w,
                    stderr=out_w,
                    pass_fds=(events_r, msgs_w, *spec.pass_fds),
                    env=spec.env,
                    preexec_fn=spec.preexec,  # noqa: PLW1509 - C-level calls only, see isolation.py
                    start_new_session=True,
                )
            finally:
                for fd in child_fds:
                    os.close(fd)

        spawning = loop.run_in_executor(None, popen)
        try:
            self.process = await asyncio.shield(spawning)
        except asyncio.CancelledError:
            spawning.add_done_callback(_kill_spawned)
            raise
        await self._wire(loop, out_r, msgs_r, events_w, os.pidfd_open(self.process.pid))

    async def _spawn_by_launcher(self, loop):
        """Ask the launcher for the environment: it hands back the pipes, a pidfd and the
        cgroup operations the worker may do itself (sandbox/engine/launcher_client.py)."""
        limits = self.limits
        rlimits = default_rlimits(self.spec.memory_mb, limits.tmp_bytes, limits.pids_max)
        layers = checked_layers_dir(self.spec.opt_dir) if self.spec.opt_dir else None
        try:
            launched = await self.isolation.launcher.create(
                layers=layers,
                env=self.id,
                uid=self.slots.uid(self.slot),
                memory_mb=self.spec.memory_mb,
                pids_max=limits.pids_max,
                nofile=rlimits[resource.RLIMIT_NOFILE],
                tmp_bytes=limits.tmp_bytes,
                cpu_period_us=limits.cpu_period_us,
                init_quota_us=limits.cpu_period_us,  # a full vCPU during init, as in start()
                quota_us=self._cpu_quota_us(),
            )
        except LauncherUnavailable as exc:
            raise RuntimeError(f"The sandbox could not start an execution environment: {exc}") from None
        self.process = launched.process
        self.cgroup = launched.cgroup
        self._launched = launched
        await self._wire(loop, launched.take("output"), launched.take("messages"),
                         launched.take("events"), launched.take("pidfd"))
        launched.watch(loop, self._launcher_lost)

    def _launcher_lost(self):
        """The launcher died, and its environments with it: their processes were sent SIGKILL,
        which lands once they are thawed. A running invocation then ends as a crash; an idle
        environment is gone, so the next invocation starts a new one."""
        if self.cgroup:
            with contextlib.suppress(OSError):
                self.cgroup.thaw()
        if self.state in ("new", "ready"):
            self.destroy()

    async def _wire(self, loop, out_r, msgs_r, events_w, pidfd):
        """Read the environment's output and messages, write its events, watch its exit."""
        self._fds = [out_r, msgs_r, events_w]  # closed by destroy() if anything below fails
        self._framer = MessageFramer(self.limits.payload_bytes + 64 * 1024, self.limits.service_call_bytes)
        self._output = PipeReader(out_r, self._on_output, self._on_output_eof)
        self._message_pipe = PipeReader(
            msgs_r, self._on_message_data, self._wake_message_waiter, chunk_bytes=1 << 20
        )
        self._output.start(loop)
        self._message_pipe.start(loop)
        self._fds.remove(events_w)  # the writer owns it from here
        self._writer, _ = await loop.connect_write_pipe(
            asyncio.Protocol, os.fdopen(events_w, "wb", buffering=0)
        )
        self._exited = loop.create_future()
        self._exited.add_done_callback(lambda _: self._wake_message_waiter())
        self._pidfd = pidfd
        loop.add_reader(self._pidfd, self._on_exit)
        if self.cgroup:
            self._oom_baseline = self.cgroup.oom_kills()

    def _on_exit(self):
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._pidfd)
        if not self._exited.done():
            self._exited.set_result(self.process.wait())

    def _on_message_data(self, data):
        self._framer.feed(data)
        if self._framer.has_line:
            self._message_pipe.pause()  # read on only when asked: a flood blocks in the child
            self._wake_message_waiter()

    def _wake_message_waiter(self):
        waiter = self._message_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _end_deadline(self):
        """Cancel the deadline timer of the phase that ended (if one was needed)."""
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None
        self._deadline_at = None

    def _deadline_passed(self):
        # Spent: a wait that still comes (the clock read a hair before the deadline) sets a new one.
        self._deadline_timer = self._deadline_at = None
        self._wake_message_waiter()

    async def _wait_message(self, deadline):
        """The next protocol message, or None when the child exits or the deadline passes. The
        deadline is checked for every message: one that arrived after it is not taken."""
        loop = asyncio.get_running_loop()
        while True:
            message = self._framer.next()
            if message is not None:
                if not isinstance(message, dict) or message["_arrived"] <= deadline:
                    return message
                return None
            if time.monotonic() >= deadline:
                return None
            if self._exited.done():
                if self._exit_drained:
                    return None
                self._exit_drained = True
                self._message_pipe.drain(self._framer.limit + (1 << 20))
                continue
            if self._message_pipe.paused and not self._read_before_wait:
                # The reply is often in the pipe already (the child ran while our write woke
                # it): one read now saves a trip through the event loop.
                self._read_before_wait = True
                self._message_pipe.read_available()
                continue
            self._read_before_wait = False
            self._message_pipe.resume(loop)
            # One future per wait: woken by a message, the child's exit or the deadline, whose
            # timer serves every wait of the phase (the invocation, or init) until it ends.
            self._message_waiter = waiter = loop.create_future()
            if self._deadline_at != deadline:
                self._end_deadline()
                self._deadline_timer = loop.call_at(_loop_time(deadline), self._deadline_passed)
                self._deadline_at = deadline
            try:
                await waiter
            finally:
                self._message_waiter = None
                waiter.cancel()

    async def invoke(self, request_id, event_text, on_log, invoked_arn=None):
        """Run one event. The environment must be ready; it is dead afterwards on a timeout,
        out-of-memory, crash or broken protocol, and whenever anything on the way raises.
        `invoked_arn` is the ARN the caller used (the context's invoked_function_arn): with an
        alias or version when it named one."""
        assert self.state == "ready", self.state
        self.state = "busy"
        try:
            return await self._invoke(request_id, event_text, on_log, invoked_arn)
        except BaseException:
            self._set_sink(None)
            self.destroy()
            raise

    async def _invoke(self, request_id, event_text, on_log, invoked_arn):
        self.invocations += 1
        self._set_sink(on_log)
        timeout = self.spec.timeout_s
        request = (
            '{"id": '
            + json.dumps(request_id)
            + ', "deadline_ms": '
            + str(int((time.time() + timeout) * 1000))
            + ', "arn": '
            + (self._arn_json if not invoked_arn or invoked_arn == self._arn else json.dumps(invoked_arn))
            + ', "event": '
            + event_text
            + "}\n"
        ).encode()
        if self.cgroup:
            self.cgroup.reset_peak()
        # Nothing left over may answer this invocation (the child is frozen: the pipe holds
        # at most its capacity).
        self._message_pipe.drain(self._framer.limit + (1 << 20))
        self._framer.discard()
        self._calls = 0
        self._idle_since = None  # a freeze check that fires now finds it busy
        if self._frozen is not None or not self.cgroup:  # inside the grace: never frozen
            await self._thaw()
        started = time.monotonic()
        deadline = started + timeout
        self._writer.write(request)
        violation = None
        while True:
            message = await self._wait_message(deadline)
            if message is None or message is OVERSIZE:
                break
            if message is CALL_TOO_LONG:
                violation = _ProtocolViolation(
                    "call", f"a service call is over {self.limits.service_call_bytes} bytes"
                )
                break
            kind = message.get("type")
            if kind == "call":
                try:
                    answered = await self._answer(message, deadline)
                except _ProtocolViolation as exc:
                    violation = exc
                    break
                if not answered:
                    message = None  # the deadline passed while the parent answered
                    break
            elif kind in ("result", "error") and message.get("id") == request_id:
                break
        self._end_deadline()
        ended = message.get("_arrived") if isinstance(message, dict) else None
        duration_ms = ((ended or time.monotonic()) - started) * 1000
        self._output.drain()
        self._raise_sink_error()
        memory_mb = self._peak_memory_mb()
        if violation is None and message is not None and message is not OVERSIZE:
            try:
                outcome = self._answer_of(message, request_id, duration_ms, memory_mb)
            except _ProtocolViolation as exc:
                violation = exc
        if violation is not None:
            error = _invalid_message(violation.kind, str(violation), request_id)
            outcome = InvokeOutcome("error", duration_ms, memory_mb, error=error)
        elif message is None:
            outcome = self._abnormal_end(request_id, duration_ms, memory_mb)
        elif message is OVERSIZE:
            outcome = self._oversize(request_id, duration_ms, memory_mb)
        self._set_sink(None)
        if violation is not None:
            self.end_reason = "invalid_message"
            self.destroy()
        elif outcome.status in ("ok", "error"):
            self.state = "ready"
            self._freeze()
        else:
            self.destroy()
        return outcome

    def _oversize(self, request_id, duration_ms, memory_mb):
        error = _oversize_error(request_id, self.limits.payload_bytes)
        return InvokeOutcome("error", duration_ms, memory_mb, error=error)

    def _answer_of(self, message, request_id, duration_ms, memory_mb):
        """The outcome a result or error message gives, checked: the child wrote it, so a wrong
        shape, a payload that is not JSON text or one over the limit is never trusted."""
        if message["type"] == "result":
            payload = message.get("payload")
            if not isinstance(payload, str):
                raise _ProtocolViolation("result", "its payload is not a string of JSON text")
            try:
                size = len(payload.encode())
            except UnicodeEncodeError:  # a lone surrogate: not text the runtime could have sent
                raise _ProtocolViolation("result", "its payload is not valid Unicode text") from None
            if size > self.limits.payload_bytes:
                return self._oversize(request_id, duration_ms, memory_mb)
            try:
                value = _STRICT_JSON.decode(payload)
            except (ValueError, RecursionError):
                raise _ProtocolViolation("result", "its payload is not valid JSON text") from None
            return InvokeOutcome("ok", duration_ms, memory_mb, payload=payload, result=value)
        error = _checked_error(message.get("error"))
        if error is None:
            raise _ProtocolViolation("error", "its error is not an object of strings")
        return InvokeOutcome("error", duration_ms, memory_mb, error=error)

    async def _answer(self, message, deadline):
        """A handler's call to a Coldstart service (e.g. buckets.get_object), answered by the
        parent on the events pipe, one at a time: a call sent before the last reply was read is
        a broken protocol. Refusals are answered, never raised, in a few hundred bytes that never
        repeat the call's arguments. False when the deadline passed first."""
        call_id, op, args = message.get("id"), message.get("op"), message.get("args", {})
        if type(call_id) is not int or not isinstance(op, str) or not isinstance(args, dict):
            raise _ProtocolViolation("call", "a service call is not {id: integer, op: string, args: object}")
        if self._writer.get_write_buffer_size():
            raise _ProtocolViolation(
                "call", "it sent a service call before reading the reply to its previous one"
            )
        limits = self.limits
        self._calls += 1
        reply = {"type": "reply", "id": call_id}
        if self._calls > limits.service_calls:
            reply["error"] = (
                f"Too many Coldstart service calls: at most {limits.service_calls} per invocation."
            )
        elif self.services is None:
            reply["error"] = "Coldstart services are not available to this function."
        else:
            try:
                async with asyncio.timeout_at(_loop_time(deadline)):
                    reply["result"] = await self.services(self.spec, op, args)
            except TimeoutError:
                return False
            except Exception as exc:  # a denied or failed call is the handler's error to see
                reply["error"] = _short(str(exc))
        try:
            text = json.dumps(reply, allow_nan=False)
        except (TypeError, ValueError):
            text = None
        if text is None or len(text) > limits.service_reply_bytes:
            reply = {"type": "reply", "id": call_id, "error": _reply_too_large(limits.service_reply_bytes)}
            text = json.dumps(reply)
        self._writer.write(text.encode() + b"\n")
        return True

    def _abnormal_end(self, request_id, duration_ms, memory_mb):
        if not self._exited.done():
            line = report.timeout_line(request_id, self.spec.timeout_s)
            error = {"errorMessage": line, "errorType": "Sandbox.Timedout", "stackTrace": []}
            return InvokeOutcome("timeout", duration_ms, memory_mb, error=error, after_report=[line])
        status, error, line = self._exit_error(request_id)
        if status == "oom":
            memory_mb = self.spec.memory_mb
        return InvokeOutcome(
            status, duration_ms, memory_mb, error=error, after_report=[line, error["errorType"]]
        )

    def _exit_error(self, request_id):
        returncode = self._exited.result()
        signal_number = None
        if returncode < 0:
            signal_number = -returncode
        elif self.isolation.bwrap and returncode > 128:
            signal_number = returncode - 128  # bwrap exits 128+N when its child dies of signal N
        oom = self.cgroup is not None and self.cgroup.oom_kills() > self._oom_baseline
        if oom:
            signal_number = signal.SIGKILL
        line = report.runtime_exit_line(request_id, report.exit_reason(returncode, signal_number))
        error_type = "Runtime.OutOfMemory" if oom else "Runtime.ExitError"
        error = {"errorType": error_type, "errorMessage": line, "stackTrace": []}
        return ("oom" if oom else "crashed"), error, line

    def _peak_memory_mb(self):
        if self.cgroup:
            peak = self.cgroup.peak_memory_bytes()
        else:
            peak = _process_tree_hwm(self.process.pid) if self.process else 0
        return min(self.spec.memory_mb, max(1, math.ceil(peak / (1 << 20))))

    def _freeze(self):
        """Freeze the idle environment FREEZE_GRACE_S after its invocation ends, in the freezer
        thread. Invoked again within the grace (a load test, a script calling in a loop), it is
        never frozen and thawed in between; left idle, its background threads stop within it.
        One timer serves back-to-back invocations: when it fires early it waits out the rest of
        the grace of the latest idle period instead of being cancelled and made anew each time."""
        if not self.cgroup:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._frozen = _FREEZER.submit(_quietly, self.cgroup.freeze)
            return
        self._idle_since = loop.time()
        if self._freeze_timer is None:
            self._freeze_timer = loop.call_at(self._idle_since + FREEZE_GRACE_S, self._freeze_check)

    def _freeze_check(self):
        self._freeze_timer = None
        if self.state != "ready" or self._idle_since is None or not self.cgroup:
            return  # busy (its end arms the timer again) or dead
        loop = asyncio.get_running_loop()
        due = self._idle_since + FREEZE_GRACE_S
        if loop.time() < due:  # invoked again since this timer was set: the grace runs on
            self._freeze_timer = loop.call_at(due, self._freeze_check)
            return
        self._frozen = _FREEZER.submit(_quietly, self.cgroup.freeze)

    def _freeze_now(self):
        """Freeze at once (bench/profile.py's what-if: a freeze after every invocation)."""
        if self.state == "ready" and self.cgroup:
            self._frozen = _FREEZER.submit(_quietly, self.cgroup.freeze)

    async def _thaw(self):
        """Only reached when there may be something to do (see _invoke): frozen, or no cgroup."""
        if self.cgroup:
            frozen, self._frozen = self._frozen, None
            if frozen is not None:
                await asyncio.wrap_future(frozen)  # the thaw must not overtake the freeze
                await asyncio.wrap_future(_FREEZER.submit(self.cgroup.thaw))
        elif self.process:
            _reset_process_tree_hwm(self.process.pid)

    def destroy(self):
        """Kill everything the environment started and give back its slot, before returning.
        Idempotent."""
        teardown = self._detach()
        if teardown is not None:
            teardown()

    def destroy_soon(self):
        """destroy() without blocking the event loop: the environment is dead at once; its
        processes are killed, waited for and its slot given back in a thread (the loop's default
        executor, which asyncio.run waits for). Returns an awaitable, done when all is gone."""
        teardown = self._detach()
        loop = None
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
        if teardown is not None and loop is not None:
            return loop.run_in_executor(None, teardown)
        if teardown is not None:
            teardown()
        return _DONE

    def _detach(self):
        """Mark the environment dead and unhook it from the event loop (on the loop's thread);
        return the blocking rest (kill, wait, remove the cgroup, give back the slot), or None
        when it was dead already."""
        if self.state == "dead":
            return None
        self.state = "dead"
        self._sink = None
        if self._freeze_timer is not None:
            self._freeze_timer.cancel()
            self._freeze_timer = None
        self._end_deadline()
        loop = None
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
        pidfd = getattr(self, "_pidfd", None)
        if loop is not None:
            for fd in self._fds:
                loop.remove_reader(fd)
            if pidfd is not None:
                loop.remove_reader(pidfd)
        if self._launched is not None:
            self._launched.unwatch()
        if self._writer is not None:
            self._writer.close()
        if self._exited is not None and not self._exited.done():
            self._exited.set_result(-signal.SIGKILL)
        cgroup, launched, process, frozen = self.cgroup, self._launched, self.process, self._frozen
        fds, slot = self._fds, self.slot
        self._fds, self._pidfd, self._frozen, self.slot = [], None, None, None

        def teardown():
            try:
                if frozen is not None:  # a freeze in flight must land before the kill's thaw
                    with contextlib.suppress(Exception):
                        frozen.result(timeout=5)
                if cgroup:
                    cgroup.destroy()
                elif launched is not None:  # a launcher without cgroups: it kills all the same
                    launched.destroy()
                if process and process.poll() is None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(process.pid, signal.SIGKILL)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=5)
                for fd in [*fds, *([pidfd] if pidfd is not None else [])]:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            finally:
                if slot is not None:
                    self.slots.release(slot)

        return teardown


class _Done:
    """An awaitable that is already done (nothing left to tear down)."""

    def __await__(self):
        return iter(())


_DONE = _Done()


class _ProtocolViolation(Exception):
    """A message from the child that breaks the protocol: the environment cannot be trusted."""

    def __init__(self, kind, reason):
        super().__init__(reason)
        self.kind = kind


ERROR_TEXT_CHARS = 500  # a service refusal, as the handler sees it


def _short(text):
    return text if len(text) <= ERROR_TEXT_CHARS else text[: ERROR_TEXT_CHARS - 1] + "\u2026"


def _reply_too_large(limit):
    return f"The reply is over {limit} bytes, the limit of a Coldstart service reply."


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


# json.loads with an argument builds a decoder per call: this one is built once.
_STRICT_JSON = json.JSONDecoder(parse_constant=_no_constant)


def _loop_time(deadline):
    """A time.monotonic() deadline on the event loop's clock."""
    loop = asyncio.get_running_loop()
    return loop.time() + (deadline - time.monotonic())


def _checked_error(error):
    """Lambda's error object with the right types, or None."""
    if not isinstance(error, dict):
        return None
    checked = {
        "errorMessage": error.get("errorMessage", ""),
        "errorType": error.get("errorType", ""),
        "requestId": error.get("requestId", ""),
        "stackTrace": error.get("stackTrace", []),
    }
    strings = (checked["errorMessage"], checked["errorType"], checked["requestId"])
    if not all(isinstance(value, str) for value in strings):
        return None
    trace = checked["stackTrace"]
    if not isinstance(trace, list) or not all(isinstance(line, str) for line in trace):
        return None
    return checked


def _invalid_message(kind, reason, request_id=""):
    """Runtime.InvalidMessage: the runtime's own messages were broken or forged (only handler
    code writing to the runtime's private pipe can do that). The environment is destroyed."""
    return {
        "errorType": "Runtime.InvalidMessage",
        "errorMessage": (
            f"The runtime sent a malformed {kind} message: {reason}. The execution environment "
            "was destroyed."
        ),
        "requestId": request_id,
        "stackTrace": [],
    }


def _process_variables():
    """The variables the sandboxed process starts with (sandbox/engine/runtime_env.py)."""
    return dict(PROCESS_VARIABLES)


def _quietly(operation):
    with contextlib.suppress(OSError):
        operation()


def _kill_spawned(future):
    """A start cancelled while its process was being spawned: that process must not live on."""
    if future.cancelled() or future.exception() is not None:
        return
    process = future.result()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def _oversize_error(request_id, limit):
    return {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": (f"Response payload size exceeded maximum allowed payload size ({limit} bytes)."),
        "requestId": request_id,
        "stackTrace": [],
    }


def _descendants(pid):
    found = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            for child in handle.read().split():
                found += _descendants(int(child))
    except OSError:
        pass
    return found


def _process_tree_hwm(pid):
    """Peak resident memory of a process tree (no cgroup): the sum of VmHWM."""
    total = 0
    for p in _descendants(pid):
        try:
            with open(f"/proc/{p}/status") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def _reset_process_tree_hwm(pid):
    for p in _descendants(pid):
        with contextlib.suppress(OSError), open(f"/proc/{p}/clear_refs", "w") as handle:
            handle.write("5")
