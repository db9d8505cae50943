"""One execution environment: a sandboxed child process that lives across warm invocations.

The parent measures everything itself (Init Duration, Duration, Max Memory Used) and trusts
nothing the child says about time or memory. Lifecycle: start() runs the init phase (cold
start), invoke() runs one event (warm reuse), the cgroup is frozen in between so background
threads do not run while idle, and destroy() kills everything the environment started.
"""

import asyncio
import contextlib
import itertools
import json
import math
import os
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime

from sandbox.engine.cgroups import Cgroup
from sandbox.engine.framing import OVERSIZE, MessageFramer, PipeReader
from sandbox.engine.isolation import TASK_ROOT, default_rlimits, launch_spec
from sandbox.engine.outcomes import InitOutcome, InvokeOutcome
from sandbox.engine.rules import report
from sandbox.engine.rules.logtext import LineSplitter

_ids = itertools.count(1)


class ExecutionEnvironment:
    def __init__(self, spec, isolation, limits, slots):
        self.spec = spec
        self.isolation = isolation
        self.limits = limits
        self.slots = slots
        self.id = next(_ids)
        self.name = f"w{os.getpid()}-e{self.id}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.state = "new"  # new -> ready <-> busy -> dead
        self.invocations = 0
        self.init_duration_ms = None
        self.slot = None
        self.cgroup = None
        self.process = None
        self._sink = None
        self._pending_lines = []
        self._output_bytes = 0
        self._truncated = False
        self._messages = None
        self._exited = None
        self._fds = []
        self._writer = None
        self._oom_baseline = 0
        self.services = None  # async (spec, op, args) -> JSON value, for `coldstart` helpers

    # ----------------------------------------------------------------- output handling
    def _emit(self, line):
        if self._sink is None:
            self._pending_lines.append(line)  # written while idle: shown with the next invoke
            return
        if self._truncated:
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
        self._output_bytes = 0
        self._truncated = False
        if sink is not None:
            pending, self._pending_lines = self._pending_lines, []
            for line in pending:
                self._emit(line)

    def _on_output(self, data):
        for line in self._out_lines.feed(data):
            self._emit(line)

    def _on_output_eof(self):
        for line in self._out_lines.finish():
            self._emit(line)

    # ----------------------------------------------------------------- lifecycle
    def _environment_variables(self):
        spec = self.spec
        env = {
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream_name,
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "_HANDLER": spec.handler,
            "LAMBDA_TASK_ROOT": TASK_ROOT,
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        }
        env.update({str(k): str(v) for k, v in (spec.environment or {}).items()})
        return env

    def _cpu_quota_us(self):
        limits = self.limits
        share = min(self.spec.memory_mb / limits.mb_per_vcpu, limits.host_cores)
        return max(1000, int(limits.cpu_period_us * share))

    async def start(self, on_log, request_id="init"):
        """The init phase. Returns an InitOutcome; the environment is ready only if ok."""
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        self._messages = asyncio.Queue()
        self._out_lines = LineSplitter(self.limits.max_line_bytes)
        self._set_sink(on_log)
        iso = self.isolation
        self.slot = self.slots.acquire()
        try:
            if iso.cgroup_version:
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
        except Exception:
            self.destroy()
            raise
        init_message = {
            "handler": self.spec.handler,
            "files": self.spec.files,
            "function_name": self.spec.name,
            "memory_mb": self.spec.memory_mb,
            "arn": self.spec.arn,
            "log_stream_name": self.log_stream_name,
        }
        if self.spec.opt_dir and not self.isolation.bwrap:  # no mount namespace: the host path
            init_message["opt_dir"] = self.spec.opt_dir
        self._writer.write(json.dumps(init_message).encode() + b"\n")
        message = await self._wait_message(started + self.limits.init_timeout_s)
        while message is not None and (
            message is OVERSIZE or message.get("type") not in ("init_done", "init_error")
        ):
            message = await self._wait_message(started + self.limits.init_timeout_s)
        arrived = message.get("_arrived") if isinstance(message, dict) else None
        self.init_duration_ms = ((arrived or time.monotonic()) - started) * 1000
        self._output.drain()
        if message is not None and message.get("type") == "init_done":
            self.state = "ready"
            if self.cgroup:
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
        error = message.get("error")
        if not isinstance(error, dict):
            error = {"errorType": "Runtime.Unknown", "errorMessage": ""}
        return InitOutcome(False, self.init_duration_ms, "error", error)

    async def _spawn(self, loop):
        iso = self.isolation
        events_r, events_w = os.pipe2(os.O_CLOEXEC)
        msgs_r, msgs_w = os.pipe2(os.O_CLOEXEC)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        child_fds = [events_r, msgs_w, out_w]
        seccomp_fd = None
        if iso.seccomp_filter is not None and iso.bwrap:
            seccomp_fd = os.memfd_create("seccomp", os.MFD_CLOEXEC)
            os.write(seccomp_fd, iso.seccomp_filter)
            os.lseek(seccomp_fd, 0, os.SEEK_SET)
            child_fds.append(seccomp_fd)
        rlimits = default_rlimits(self.spec.memory_mb, self.limits.tmp_bytes, self.limits.pids_max)
        if os.geteuid() != 0:
            rlimits.pop(__import__("resource").RLIMIT_NPROC)  # would count all our own processes
        spec = launch_spec(
            iso,
            env=self._environment_variables(),
            uid=self.slots.uid(self.slot),
            cgroup_paths=self.cgroup.join_paths if self.cgroup else [],
            seccomp_fd=seccomp_fd,
            tmp_bytes=self.limits.tmp_bytes,
            rlimits=rlimits,
            opt_dir=self.spec.opt_dir,
        )
        try:
            self.process = subprocess.Popen(
                [*spec.argv, str(events_r), str(msgs_w)],
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
        self._fds = [out_r, msgs_r]
        framer = MessageFramer(self.limits.payload_bytes + 64 * 1024, self._messages.put_nowait)
        self._output = PipeReader(out_r, self._on_output, self._on_output_eof)
        self._message_pipe = PipeReader(msgs_r, framer.feed, chunk_bytes=1 << 20)
        self._output.start(loop)
        self._message_pipe.start(loop)
        self._writer, _ = await loop.connect_write_pipe(
            asyncio.Protocol, os.fdopen(events_w, "wb", buffering=0)
        )
        self._exited = loop.create_future()
        self._pidfd = os.pidfd_open(self.process.pid)
        loop.add_reader(self._pidfd, self._on_exit)
        if self.cgroup:
            self._oom_baseline = self.cgroup.oom_kills()

    def _on_exit(self):
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._pidfd)
        if not self._exited.done():
            self._exited.set_result(self.process.wait())

    async def _wait_message(self, deadline):
        """The next protocol message, or None when the child exits or the deadline passes."""
        while True:
            if not self._messages.empty():
                return self._messages.get_nowait()
            if self._exited.done():
                self._message_pipe.drain()
                if not self._messages.empty():
                    return self._messages.get_nowait()
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            getter = asyncio.ensure_future(self._messages.get())
            done, _ = await asyncio.wait(
                {getter, self._exited}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            if getter in done:
                return getter.result()
            getter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await getter

    async def invoke(self, request_id, event_text, on_log):
        """Run one event. The environment must be ready; it is dead afterwards on a timeout,
        out-of-memory or crash."""
        assert self.state == "ready", self.state
        self.state = "busy"
        self.invocations += 1
        self._set_sink(on_log)
        timeout = self.spec.timeout_s
        request = (
            '{"id": '
            + json.dumps(request_id)
            + ', "deadline_ms": '
            + str(int((time.time() + timeout) * 1000))
            + ', "event": '
            + event_text
            + "}\n"
        ).encode()
        if self.cgroup:
            self.cgroup.reset_peak()
        while not self._messages.empty():  # nothing left over may answer this invocation
            self._messages.get_nowait()
        self._thaw()
        started = time.monotonic()
        self._writer.write(request)
        while True:
            message = await self._wait_message(started + timeout)
            if message is None or message is OVERSIZE:
                break
            if message.get("type") == "call":
                await self._answer(message)
            elif message.get("type") in ("result", "error") and message.get("id") == request_id:
                break
        ended = message.get("_arrived") if isinstance(message, dict) else None
        duration_ms = ((ended or time.monotonic()) - started) * 1000
        self._output.drain()
        memory_mb = self._peak_memory_mb()
        oversize = InvokeOutcome(
            "error", duration_ms, memory_mb, error=_oversize_error(request_id, self.limits.payload_bytes)
        )
        if message is None:
            outcome = self._abnormal_end(request_id, duration_ms, memory_mb)
        elif message is OVERSIZE:
            outcome = oversize
        elif message["type"] == "result":
            payload = message.get("payload")
            if not isinstance(payload, str):
                payload = "null"
            outcome = (
                oversize
                if len(payload.encode()) > self.limits.payload_bytes
                else (InvokeOutcome("ok", duration_ms, memory_mb, payload=payload))
            )
        else:
            error = message.get("error")
            if not isinstance(error, dict):
                error = {"errorType": "Runtime.Unknown", "errorMessage": "", "stackTrace": []}
            outcome = InvokeOutcome("error", duration_ms, memory_mb, error=error)
        self._set_sink(None)
        if outcome.status in ("ok", "error"):
            self.state = "ready"
            self._freeze()
        else:
            self.destroy()
        return outcome

    async def _answer(self, message):
        """A handler's call to a Coldstart service (e.g. buckets.get_object), answered by the
        parent on the events pipe. Errors are answered, never raised."""
        reply = {"type": "reply", "id": message.get("id")}
        if self.services is None:
            reply["error"] = "Coldstart services are not available to this function."
        else:
            try:
                reply["result"] = await self.services(
                    self.spec, str(message.get("op")), message.get("args") or {}
                )
            except Exception as exc:  # a denied or failed call is the handler's error to see
                reply["error"] = str(exc)
        self._writer.write(json.dumps(reply).encode() + b"\n")

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
        if self.cgroup:
            with contextlib.suppress(OSError):
                self.cgroup.freeze()

    def _thaw(self):
        if self.cgroup:
            self.cgroup.thaw()
        elif self.process:
            _reset_process_tree_hwm(self.process.pid)

    def destroy(self):
        """Kill everything the environment started and give back its slot. Idempotent."""
        if self.state == "dead":
            return
        self.state = "dead"
        self._sink = None
        loop = None
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
        if loop is not None:
            for fd in self._fds:
                loop.remove_reader(fd)
            if getattr(self, "_pidfd", None) is not None:
                loop.remove_reader(self._pidfd)
        if self.cgroup:
            self.cgroup.destroy()
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        if self._writer is not None:
            self._writer.close()
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []
        if getattr(self, "_pidfd", None) is not None:
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
            self._pidfd = None
        if self._exited is not None and not self._exited.done():
            self._exited.set_result(self.process.returncode if self.process else -9)
        if self.slot is not None:
            self.slots.release(self.slot)
            self.slot = None


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
